/* pktpath.c — the tracer's run, in outline: parses the command line, checks the host, loads and
 * attaches the stage probes, then every interval writes histogram deltas (and stack samples) as
 * JSON lines on stdout until a signal, end of stdin, the parent's or target's death, or --duration
 * stops it. Links are file-descriptor based only (nothing pinned), so even SIGKILL leaves no probe
 * behind. Exit codes: 0 done, 1 host or BPF failure (or the parent died), 2 command line, 3 nothing
 * to trace (the target, no stage attached). */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "bpf_load.h"
#include "intervals.h"
#include "mode_dispatch.h"
#include "parent_watchdog.h"
#include "run_records.h"
#include "sampler.h"
#include "stops.h"
#include "stream.h"
#include "target.h"
#include "tracer.h"
#include "pktpath.skel.h"

/* Stack sampling alone runs without BPF (perf rings read here); stage probes need it. 0, or the
 * exit code after an error record. */
static int check_bpf_use(struct tracer *t, bool use_bpf)
{
	const struct options *o = t->o;

	if (!use_bpf && o->nstages) {
		emit_error(t->out, true, &t->feat, "cannot trace on this host: %s; stage probes need BPF (stack sampling, "
			   "--sample-hz without --stage, and pktpath's --mode sampled work without it)",
			   !t->feat.btf ? "no kernel BTF" : "not permitted to load BPF programs");
		emit_bye(t->out, "error", NULL);
		return 1;
	}
	if (!use_bpf)
		stream_warningf(t->out, "stack sampling without BPF (%s): the kernel writes each sample's call chain to a ring "
				"that the tracer reads; there are no timer-lateness or sampler-time numbers (sampled mode "
				"is then not corrected for the sampler's own time)",
				o->no_bpf ? "--no-bpf" : !t->feat.btf ? "no kernel BTF" : "not permitted to load BPF programs");
	return 0;
}

/* The pass before counting: the probes' cost per stage (calibrate.c); --max-overhead needs it to
 * charge a stage's calls. */
static void calibrate_at_start(struct tracer *t, int nok)
{
	const struct options *o = t->o;

	if (o->calibrate && nok) {
		calibrate_stages(t);
		if (o->recalibrate_s <= 0 || o->max_overhead_pct > 0)
			calibrate_release(); /* not needed again */
	}
	if (o->max_overhead_pct > 0) {
		for (int i = 0; i < t->nst; i++)
			if (t->st[i].ok && !t->st[i].calibrated)
				stream_warningf(t->out, "--max-overhead: stage %s has no calibrated probe cost, so its calls "
						"are left out of the overhead estimate", t->st[i].sp->name);
	}
}

int main(int argc, char **argv)
{
	static struct options opts;
	static struct tracer T;
	static struct windows W;
	struct tracer *t = &T;
	struct stops L = { .pidfd = -1 };
	struct window_run wr = { .t = t, .stop = &L };
	struct window_ops wops = window_run_ops(&wr);
	struct recording rec = { .t = t, .stop = &L, .wops = &wops };
	sigset_t orig;
	char err[1024];
	int rc = 0;
	bool use_bpf;

	t->out = stdout;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGPIPE, SIG_IGN);
	if (parent_watchdog_start(&L.ppid))
		return 1;
	if (mode_dispatch(argc, argv, &rc)) /* --dwarf, --dpdk-query */
		return rc;
	if (parse_options(argc, argv, &opts, err, sizeof(err))) {
		emit_error(stdout, true, NULL, "%s", err);
		free_options(&opts);
		return 2;
	}
	t->o = &opts;

	host_features(t);
	emit_hello(t);
	if (opts.check) {
		rc = t->feat.btf && t->feat.bpf_allowed && t->feat.uprobes ? 0 : 1;
		goto out;
	}
	use_bpf = t->feat.btf && t->feat.bpf_allowed && !opts.no_bpf;
	if ((rc = check_bpf_use(t, use_bpf)))
		goto out;
	if (opts.pid && (rc = target_open(&L, opts.pid))) /* refused before anything attaches */
		goto out;
	stops_take_signals(&orig);
	wr.mask = rec.mask = &orig;

	t->ncpu = libbpf_num_possible_cpus();
	if (use_bpf) { /* nothing loads without BPF */
		if ((rc = stages_load(t)))
			goto out;
		rec.nok = attach_at_start(t);
	}
	if (opts.sample_hz) {
		rec.smp = sampler_open(opts.kernel_mode ? -1 : opts.pid, opts.sample_hz, use_bpf,
				       opts.unwind_fp ? 0 : opts.stack_bytes, err, sizeof(err));
		if (!rec.smp)
			emit_error(stdout, !rec.nok, NULL, "stack sampling: %s", err);
	}
	if (!rec.nok && !rec.smp) {
		if (t->nst && !opts.sample_hz)
			emit_error(stdout, true, NULL, "no stage could be attached");
		emit_bye(stdout, "error", NULL);
		rc = 3;
		goto out;
	}
	if (opts.max_overhead_pct > 0 && rec.nok) {
		windows_init(&W, opts.max_overhead_pct);
		windows_start(&W, &wops); /* the first window attaches again */
		rec.w = &W;
	}
	calibrate_at_start(t, rec.nok);

	record_intervals(&rec);

	calibrate_release();
	links_detach_all(t);
	skb_free_detach(t);
	sampler_close(rec.smp);
	rec.smp = NULL;
	stops_bye(stdout, &L);
out:
	sampler_close(rec.smp);
	if (t->skel)
		pktpath_bpf__destroy(t->skel);
	if (L.pidfd >= 0)
		close(L.pidfd);
	features_free(&t->feat);
	free_options(&opts);
	return rc;
}
