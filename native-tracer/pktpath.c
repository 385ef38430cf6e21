/* pktpath.c — the tracer: parses the command line, checks the host, loads and attaches the stage
 * probes, then every interval writes histogram deltas (and stack samples) as JSON lines on stdout
 * until a signal, end of stdin, the parent's or target's death, or --duration stops it.
 * Links are file-descriptor based only (nothing pinned), so even SIGKILL leaves no probe behind. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dpdk_query.h"
#include "dwarf_mode.h"
#include "sampler.h"
#include "stream.h"
#include "tracer.h"
#include "pktpath.skel.h"

#define TRACER_VERSION "0.1.0"
#define SETTLE_US 20000

static volatile sig_atomic_t got_signal;
static char target_comm[64];
static char libbpf_last[512];

static void on_signal(int sig)
{
	got_signal = sig;
}

/* libbpf's own messages go to stderr only with PKTPATH_DEBUG set; the last warning is kept for
 * error records. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list ap2;

	if (level == LIBBPF_DEBUG && !getenv("PKTPATH_DEBUG"))
		return 0;
	va_copy(ap2, ap);
	if (level == LIBBPF_WARN) {
		vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap2);
		libbpf_last[strcspn(libbpf_last, "\n")] = '\0';
	}
	va_end(ap2);
	if (getenv("PKTPATH_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void emit_error(FILE *out, bool fatal, const struct features *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stream_error(out, buf, f ? f->missing : NULL, f ? f->nmissing : 0, fatal);
	fflush(out);
	if (fatal)
		fprintf(stderr, "pktpath-tracer: %s\n", buf);
}

static void emit_bye(FILE *out, const char *reason, const char *message)
{
	stream_bye(out, reason, message, now_ns());
	fflush(out);
}

/* Why --pid PID is no process to trace (NULL: a live user process): it does not exist, is a kernel
 * thread (its probes would never fire; /proc/PID/stat's flags have PF_KTHREAD) or a zombie. Its
 * name goes to comm. */
static const char *target_refusal(int pid, char *comm, size_t commlen, char *why, size_t len)
{
	char path[64], buf[1024], *open_p, *close_p, state;
	unsigned long flags = 0;
	FILE *f;
	size_t n;

	snprintf(comm, commlen, "?");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, len, "process %d does not exist", pid);
		return why;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p ||
	    sscanf(close_p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2) {
		snprintf(why, len, "process %d: cannot read %s", pid, path);
		return why;
	}
	snprintf(comm, commlen, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	if (flags & 0x00200000UL /* PF_KTHREAD */) {
		snprintf(why, len, "process %d (%s) is a kernel thread, not a user process: nothing of it can be "
			 "probed by uprobes or sampled as a program (kernel functions: --kernel)", pid, comm);
		return why;
	}
	if (state == 'Z' || state == 'X') {
		snprintf(why, len, "process %d (%s) has exited (%s): there is nothing left to trace", pid, comm,
			 state == 'Z' ? "a zombie its parent has not reaped" : "dead");
		return why;
	}
	return NULL;
}

/* The parent's death must end us even while blocked where no signal is taken (an open() of a
 * FIFO, a write to a pipe nobody reads, the setup before the main loop unblocks SIGTERM): checked
 * here every 50 ms; the main loop, when it runs, stops first and says bye (within 200 ms). */
static pid_t watched_ppid;

static void *parent_watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(50000);
		if (getppid() != watched_ppid) {
			usleep(200000);
			_exit(1); /* links are file descriptors: the kernel removes every probe */
		}
	}
	return NULL;
}

static void emit_hello(struct tracer *t)
{
	struct hello_rec h = { .tracer = TRACER_VERSION, .pid = t->o->pid, .kernel_mode = t->o->kernel_mode,
			       .interval_ms = t->o->interval_ms, .host = &t->feat,
			       .unwind = t->o->pid && t->o->sample_hz ? (t->o->unwind_fp ? "fp" : "dwarf") : NULL };

	stream_hello(t->out, &h);
	fflush(t->out);
}

/* What the stage record says about a stage: its spec, where it was probed, how. */
static void emit_stage(struct tracer *t, struct stage_rt *s)
{
	char pk[16], hex[64] = "", name[256];
	struct stage_rec r = {
		.id = s->id, .name = s->sp->name, .kind = kind_name(s->sp->kind), .spec = s->sp->spec, .packets = pk,
		.ok = s->ok, .error = s->ok ? NULL : s->error, .binary = s->binary[0] ? s->binary : NULL,
		.symbol = s->sp->symbol, .located = s->located, .offset = s->file_off, .address = s->vaddr,
		.single_step = s->located && insn_single_stepped(s->insn.cls), .key = s->key,
		.relocated = s->relocated, .entry_offset = s->reloc.off, .entry_insn = s->reloc.insn.text,
		.untimed_insns = s->reloc.skipped, .untimed_prefix = s->reloc.prefix,
		.warning = s->warning[0] ? s->warning : NULL,
		.function = s->copies.bound[0] ? s->copies.bound : NULL,
		/* only when the name stands for more than itself: copies, or a copy instead of the name */
		.copies = s->copies.n > 1 || (s->copies.n == 1 && s->sp->symbol && strcmp(s->copies.f[0].name, s->sp->symbol))
				  ? &s->copies : NULL,
	};

	if (s->sp->packets_from == PKTPATH_PKTS_RET)
		snprintf(pk, sizeof(pk), "ret");
	else if (s->sp->packets_from == PKTPATH_PKTS_ARG)
		snprintf(pk, sizeof(pk), "arg%u", s->sp->packets_arg);
	else
		snprintf(pk, sizeof(pk), "one");
	if (s->sp->kind == PKTPATH_KIND_USDT) {
		snprintf(name, sizeof(name), "%s:%s", s->sp->provider, s->sp->probe);
		r.symbol = name;
	} else if (s->sp->kind == PKTPATH_KIND_TRACEPOINT) {
		snprintf(name, sizeof(name), "%s:%s", s->sp->category, s->sp->event);
		r.symbol = name;
	}
	if (s->located) {
		r.first_insn = s->insn.text;
		for (size_t i = 0; i < s->ncode && i < 8; i++)
			snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%s%02x", i ? " " : "", s->code[i]);
		r.first_bytes = hex[0] ? hex : NULL;
	} else {
		r.first_insn = s->sp->kind == PKTPATH_KIND_USDT && s->ok ? "nop (USDT site)" : NULL;
	}
	stream_stage(t->out, &r);
}

/* fentry works only where the kernel lets us load a tracing program: try it. */
static void probe_fentry(struct features *f, const struct options *o)
{
	struct pktpath_bpf *k;
	struct bpf_program *p;
	const char *target = "bpf_fentry_test1";
	int err;

	for (int i = 0; i < o->nstages; i++)
		if (o->stages[i].kind == PKTPATH_KIND_FENTRY) {
			target = o->stages[i].symbol;
			break;
		}
	k = pktpath_bpf__open();
	if (!k)
		goto no;
	bpf_object__for_each_program(p, k->obj)
		bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(k->progs.fentry_slot0, true);
	if (bpf_program__set_attach_target(k->progs.fentry_slot0, 0, target)) {
		/* the stage names a function the kernel lacks; the stage will say so */
		bpf_program__set_attach_target(k->progs.fentry_slot0, 0, "bpf_fentry_test1");
	}
	err = pktpath_bpf__load(k);
	pktpath_bpf__destroy(k);
	if (!err) {
		f->fentry = true;
		return;
	}
	feature_missing(f, "fentry: loading an fentry program failed here (%s): no BPF trampolines on this kernel",
			strerror(-err));
	return;
no:
	feature_missing(f, "fentry: cannot open the BPF object");
}

static bool stdin_watchable(void)
{
	struct stat st;

	/* a pipe or socket means a controlling program: its end of stdin means stop. A TTY, /dev/null
	 * or a file says nothing about our lifetime, so it is not watched. */
	return fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

struct loop {
	int pidfd;
	int pid; /* the target, watched through /proc where pidfd_open is refused */
	bool watch_stdin;
	pid_t ppid;
	unsigned long long end_ns; /* --duration deadline, 0: none */
	const char *reason;
};

/* Waits until `until` (monotonic ns) or a stop condition; returns false when stopping. */
static bool wait_until(struct loop *L, unsigned long long until, const sigset_t *mask)
{
	for (;;) {
		struct pollfd fds[2];
		int n = 0, rc;
		unsigned long long now = now_ns(), dl = until;
		struct timespec ts;

		if (got_signal) {
			L->reason = getppid() != L->ppid ? "parent" : "signal";
			return false;
		}
		if (getppid() != L->ppid) {
			L->reason = "parent";
			return false;
		}
		if (L->pidfd < 0 && L->pid) {
			char path[64], st = 0;
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/stat", L->pid);
			f = fopen(path, "re");
			if (!f || fscanf(f, "%*d (%*[^)]) %c", &st) != 1 || st == 'Z' || st == 'X') {
				if (f)
					fclose(f);
				L->reason = "target_exit";
				return false;
			}
			fclose(f);
		}
		if (L->end_ns && now >= L->end_ns) {
			L->reason = "duration";
			return false;
		}
		if (now >= until)
			return true;
		if (L->end_ns && L->end_ns < dl)
			dl = L->end_ns;
		if (dl - now > 200000000ULL) /* re-check the parent at least 5 times a second */
			dl = now + 200000000ULL;
		ts.tv_sec = (dl - now) / 1000000000ULL;
		ts.tv_nsec = (dl - now) % 1000000000ULL;
		if (L->watch_stdin)
			fds[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (L->pidfd >= 0)
			fds[n++] = (struct pollfd){ .fd = L->pidfd, .events = POLLIN };
		rc = ppoll(fds, n, &ts, mask);
		if (rc <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == L->pidfd) {
				L->reason = "target_exit";
				return false;
			}
			char buf[4096];
			ssize_t r = read(0, buf, sizeof(buf)); /* input is ignored; only its end matters */
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				L->reason = "stdin";
				return false;
			}
		}
	}
}

/* One interval's deltas. The totals of all stages are read first, back to back, so stages on one
 * path agree on the interval's calls; the histograms follow (a bucket may hold a call or two that
 * the next interval's totals account for). */
static void drain(struct tracer *t, unsigned seq, double *overhead_ns)
{
	static unsigned long long h[PKTPATH_HIST_BUCKETS], delta[PKTPATH_HIST_BUCKETS];
	struct pktpath_stage_totals now[PKTPATH_MAX_STAGES];
	bool have[PKTPATH_MAX_STAGES] = {};
	struct nest_delta in[PKTPATH_MAX_STAGES];
	int nin;

	*overhead_ns = 0;
	for (int i = 0; i < t->nst; i++)
		have[i] = t->st[i].ok && !slot_read(t, t->st[i].id, &now[i], NULL);
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		struct pktpath_stage_totals c = now[i], d, dummy;
		bool buckets;

		if (!have[i])
			continue;
		d.calls = c.calls - s->prev.calls;
		d.packets = c.packets - s->prev.packets;
		d.sum_ns = c.sum_ns - s->prev.sum_ns;
		d.unmatched = c.unmatched - s->prev.unmatched;
		d.timed = c.timed - s->prev.timed;
		d.busy_calls = c.busy_calls - s->prev.busy_calls;
		d.busy_ns = c.busy_ns - s->prev.busy_ns;
		s->prev = c;
		if (!d.calls && !d.unmatched)
			continue;
		nin = 0;
		for (int p = 0; p < t->nst; p++) {
			struct pktpath_nest_totals n;

			if (!have[p] || nest_read(t, t->st[p].id, s->id, &n) || n.calls == s->prev_nest[p].calls)
				continue;
			in[nin].parent = t->st[p].id;
			in[nin].calls = n.calls - s->prev_nest[p].calls;
			in[nin++].sum_ns = n.sum_ns - s->prev_nest[p].sum_ns;
			s->prev_nest[p] = n;
		}
		*overhead_ns += d.calls * s->outer_ns;
		buckets = d.timed && !slot_read(t, s->id, &dummy, h);
		for (int b = 0; buckets && b < PKTPATH_HIST_BUCKETS; b++) {
			delta[b] = h[b] - s->prev_hist[b];
			s->prev_hist[b] = h[b];
		}
		stream_hist(t->out, seq, s->id, &d, buckets ? delta : NULL, in, nin);
	}
}

static int attach_all(struct tracer *t)
{
	int n = 0;

	uprobes_multi_attach(t);
	for (int i = 0; i < t->nst; i++)
		if (t->st[i].ok && (t->st[i].ugroup >= 0 || (!t->st[i].links[0] && stage_attach(t, &t->st[i]) == 0)))
			n++;
	return n;
}

static void detach_all(struct tracer *t)
{
	links_detach_all(t);
}

/* what --max-overhead's windows (windows.c) do through the main loop */
struct win_ctx {
	struct tracer *t;
	struct loop *L;
	const sigset_t *mask;
};

static int win_attach(void *c)
{
	return attach_all(((struct win_ctx *)c)->t);
}

static unsigned long long win_detach(void *c)
{
	struct tracer *t = ((struct win_ctx *)c)->t;
	unsigned long long last;

	detach_all(t);
	last = probes_last_hit_ns(t);
	entries_clear(t); /* calls cut off by the detach never return to us */
	return last;
}

static void win_count(void *c, bool on)
{
	((struct win_ctx *)c)->t->skel->bss->counting = on;
}

static bool win_wait(void *c, unsigned long long until)
{
	return wait_until(((struct win_ctx *)c)->L, until, ((struct win_ctx *)c)->mask);
}

int main(int argc, char **argv)
{
	static struct options opts;
	static struct tracer T;
	struct tracer *t = &T;
	struct loop L = { .pidfd = -1 };
	struct sampler *smp = NULL;
	sigset_t block, orig;
	char err[1024];
	int rc = 0, nok = 0, err_load;
	unsigned seq = 0;
	static struct windows W;
	struct win_ctx wc = { .t = t, .L = &L, .mask = &orig };
	const struct window_ops wops = { &wc, win_attach, win_detach, win_count, win_wait };

	t->out = stdout;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGPIPE, SIG_IGN);
	L.ppid = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != L.ppid) /* the parent died before prctl took effect */
		return 1;
	watched_ppid = L.ppid;
	{
		pthread_t wd;
		pthread_attr_t wa;
		sigset_t all, prev;

		/* the watchdog takes no signals: they stay the main thread's */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &prev);
		pthread_attr_init(&wa);
		pthread_attr_setdetachstate(&wa, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&wa, 64 << 10);
		pthread_create(&wd, &wa, parent_watchdog, NULL);
		pthread_attr_destroy(&wa);
		pthread_sigmask(SIG_SETMASK, &prev, NULL);
	}
	/* a mode of its own, run where the debug files are: no tracing, no privileges */
	if (argc == 3 && !strcmp(argv[1], "--dwarf"))
		return dwarf_mode_main(argv[2], stdin, stdout);
	/* reads a DPDK process's memory: needs root (or ptrace rights), no BPF */
	if ((argc == 4 || (argc == 6 && !strcmp(argv[4], "--nodes"))) && !strcmp(argv[1], "--dpdk-query") &&
	    !strcmp(argv[2], "--pid"))
		return dpdk_query_main(atoi(argv[3]), argc == 6 ? argv[5] : NULL, stdout);

	if (parse_options(argc, argv, &opts, err, sizeof(err))) {
		emit_error(stdout, true, NULL, "%s", err);
		free_options(&opts);
		return 2;
	}
	t->o = &opts;
	libbpf_set_print(libbpf_print);
	features_detect(&t->feat);
	if (t->feat.bpf_allowed && t->feat.btf)
		probe_fentry(&t->feat, &opts);
	else
		feature_missing(&t->feat, "fentry: not tried (needs BTF and CAP_BPF)");
	emit_hello(t);
	if (opts.check) {
		rc = t->feat.btf && t->feat.bpf_allowed && t->feat.uprobes ? 0 : 1;
		goto out;
	}
	/* Stack sampling alone runs without BPF (perf rings read here); stage probes need it. */
	bool use_bpf = t->feat.btf && t->feat.bpf_allowed && !opts.no_bpf;
	if (!use_bpf && opts.nstages) {
		emit_error(stdout, true, &t->feat, "cannot trace on this host: %s; stage probes need BPF (stack sampling, "
			   "--sample-hz without --stage, and pktpath's --mode sampled work without it)",
			   !t->feat.btf ? "no kernel BTF" : "not permitted to load BPF programs");
		emit_bye(stdout, "error", NULL);
		rc = 1;
		goto out;
	}
	if (!use_bpf)
		stream_warningf(stdout, "stack sampling without BPF (%s): the kernel writes each sample's call chain to a ring "
			     "that the tracer reads; there are no timer-lateness or sampler-time numbers (sampled mode "
			     "is then not corrected for the sampler's own time)",
			     opts.no_bpf ? "--no-bpf" : !t->feat.btf ? "no kernel BTF" : "not permitted to load BPF programs");
	if (opts.pid) {
		char why[512];

		/* refused before anything attaches: a probe on it would never fire */
		if (target_refusal(opts.pid, target_comm, sizeof(target_comm), why, sizeof(why))) {
			emit_error(stdout, true, NULL, "%s", why);
			emit_bye(stdout, "target_invalid", why);
			rc = 3;
			goto out;
		}
		L.pid = opts.pid;
		L.pidfd = (int)syscall(SYS_pidfd_open, opts.pid, 0);
		if (L.pidfd < 0 && errno == ESRCH) {
			snprintf(why, sizeof(why), "process %d (%s) exited before the recording started", opts.pid, target_comm);
			emit_error(stdout, true, NULL, "%s", why);
			emit_bye(stdout, "target_invalid", why);
			rc = 3;
			goto out;
		}
	}

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	t->ncpu = libbpf_num_possible_cpus();
	if (!use_bpf)
		goto sample; /* nothing below loads without BPF */
	t->skel = pktpath_bpf__open();
	if (!t->skel) {
		emit_error(stdout, true, NULL, "cannot open the BPF object: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	stages_prepare(t);
	err_load = pktpath_bpf__load(t->skel);
	if (err_load) {
		emit_error(stdout, true, &t->feat, "loading the BPF programs failed: %s%s%s", strerror(-err_load),
			   libbpf_last[0] ? ": " : "", libbpf_last);
		emit_bye(stdout, "error", NULL);
		rc = 1;
		goto out;
	}

	err_load = uprobes_multi_attach(t);
	if (err_load && err_load != -EOPNOTSUPP && getenv("PKTPATH_DEBUG"))
		fprintf(stderr, "multi-uprobe links refused (%s): per-site links\n", strerror(-err_load));
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		if (s->ok && (s->ugroup >= 0 || stage_attach(t, s) == 0))
			nok++;
		emit_stage(t, s);
		if (!s->ok)
			emit_error(stdout, false, NULL, "stage %s: %s", s->sp->name, s->error);
	}
	if (nok && skb_free_attach(t))
		emit_error(stdout, false, NULL, "cannot attach to skb:kfree_skb/consume_skb/skb_copy_datagram_iovec (%s): a reused skb address "
			   "may carry an old packet's time", strerror(errno));
	fflush(stdout);
sample:
	if (opts.sample_hz) {
		smp = sampler_open(opts.kernel_mode ? -1 : opts.pid, opts.sample_hz, use_bpf,
				   opts.unwind_fp ? 0 : opts.stack_bytes, err, sizeof(err));
		if (!smp)
			emit_error(stdout, !nok, NULL, "stack sampling: %s", err);
	}
	if (!nok && !smp) {
		if (t->nst && !opts.sample_hz)
			emit_error(stdout, true, NULL, "no stage could be attached");
		emit_bye(stdout, "error", NULL);
		rc = 3;
		goto out;
	}
	if (opts.max_overhead_pct > 0 && nok) {
		windows_init(&W, opts.max_overhead_pct);
		windows_start(&W, &wops); /* the first window attaches again */
	}
	if (opts.calibrate && nok) {
		calibrate_stages(t);
		if (opts.recalibrate_s <= 0 || opts.max_overhead_pct > 0)
			calibrate_release(); /* not needed again */
	}
	if (opts.max_overhead_pct > 0) {
		for (int i = 0; i < t->nst; i++)
			if (t->st[i].ok && !t->st[i].calibrated)
				stream_warningf(stdout, "--max-overhead: stage %s has no calibrated probe cost, so its calls "
					     "are left out of the overhead estimate", t->st[i].sp->name);
	}

	L.watch_stdin = stdin_watchable();
	/* one instant for every stage: counting starts after all are attached, and after calls that
	 * were in flight while the probes went in have returned */
	bool windowed = opts.max_overhead_pct > 0 && nok; /* then each window switches counting itself */
	usleep(SETTLE_US);
	if (t->skel)
		t->skel->bss->counting = !windowed;
	unsigned long long start = now_ns(), tick_start = start, last_recal = start;
	if (opts.duration_s > 0)
		L.end_ns = start + (unsigned long long)(opts.duration_s * 1e9);
	stream_ready(stdout, start);
	fflush(stdout);

	bool running = true, attached = true;
	while (running) {
		unsigned long long iv = (unsigned long long)opts.interval_ms * 1000000ULL;
		unsigned long long tick_end = tick_start + iv, on_ns = 0, t_on = tick_start;
		unsigned long long samples = 0, lost = 0;
		double ovh_ns;

		if (windowed) {
			running = windows_interval(&W, &wops, tick_start, tick_end);
			on_ns = W.on_ns;
		} else {
			if (!attached) {
				attach_all(t);
				usleep(SETTLE_US);
				t->skel->bss->counting = 1;
				attached = true;
				t_on = now_ns();
			}
			running = wait_until(&L, tick_end, &orig);
			if (!running && t->skel)
				t->skel->bss->counting = 0;
			on_ns = now_ns() - t_on;
		}
		unsigned long long now = now_ns();
		drain(t, seq, &ovh_ns);
		if (windowed) /* charged for the probes' whole live time, not only the counted */
			ovh_ns = windows_account(&W, ovh_ns, now - tick_start);
		if (smp)
			sampler_drain(smp, stdout, seq, &samples, &lost);
		double dt = (double)(now - tick_start);
		struct tick_rec tk = {
			.seq = seq, .t_ns = now, .dt_ns = now - tick_start, .samples = samples, .lost = lost,
			.has_coverage = true, .coverage = dt > 0 ? (on_ns > dt ? 1.0 : on_ns / dt) : 0.0,
			.has_overhead = nok && opts.calibrate, .overhead_pct = dt > 0 ? 100.0 * ovh_ns / dt : 0.0,
			.has_live = windowed, .live = dt > 0 ? (W.live_ns > dt ? 1.0 : W.live_ns / dt) : 0.0,
		};
		sampler_tick(smp, &tk);
		stream_tick(stdout, &tk);
		if (fflush(stdout) || ferror(stdout)) {
			L.reason = "error"; /* nobody reads us any more */
			running = false;
		}
		tick_start = now;
		seq++;
		if (nok && opts.calibrate && opts.recalibrate_s > 0 && opts.max_overhead_pct <= 0 &&
		    (double)(now - last_recal) >= opts.recalibrate_s * 1e9 && !(L.reason && !strcmp(L.reason, "error"))) {
			/* the probe cost drifts: measured again after each interval, the last one too, so
			 * every interval has a calibration on either side. Not under --max-overhead: its
			 * windows are timed per interval, and the budget is about cost, not accuracy. */
			recalibrate_stages(t, seq);
			last_recal = now;
		}
	}
	if (t->skel)
		t->skel->bss->counting = 0;
	calibrate_release();
	detach_all(t);
	skb_free_detach(t);
	sampler_close(smp);
	smp = NULL;
	if (L.reason && !strcmp(L.reason, "target_exit")) {
		char why[512];

		snprintf(why, sizeof(why), "process %d (%s) exited during the recording", opts.pid, target_comm);
		emit_bye(stdout, L.reason, why);
	} else {
		emit_bye(stdout, L.reason ? L.reason : "signal", NULL);
	}
out:
	sampler_close(smp);
	if (t->skel)
		pktpath_bpf__destroy(t->skel);
	if (L.pidfd >= 0)
		close(L.pidfd);
	features_free(&t->feat);
	free_options(&opts);
	return rc;
}
