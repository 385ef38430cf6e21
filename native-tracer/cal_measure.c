/* cal_measure.c — one class's probe cost: batches of calls to its site, untraced then traced, and
 * what the probes recorded. Spreads are half the inter-quartile range over the batches. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "calibrate.h"
#include "hist.h"
#include "pktpath.skel.h"

/* a call this much slower than the batch's median lost the CPU (a tick or interrupt is < 20 us) */
#define CAL_PREEMPTED_NS 50000.0

static void (*volatile cal_fn)(void);

static void run_calls(enum cal_class c, int n)
{
	if (c == CAL_TP) {
		for (int i = 0; i < n; i++)
			syscall(SYS_getppid);
		return;
	}
	for (int i = 0; i < n; i++)
		cal_fn();
}

static double median_of(double *v, int n);

/* Median wall time of single calls: a call that was preempted or interrupted is an outlier the
 * median ignores, where a batch total would absorb it. *mean gets their mean, which keeps them:
 * a traced mean at a real site keeps them too. */
static double timed_calls(enum cal_class c, int n, double *mean, double *max)
{
	static double d[CAL_MAX_CALLS];
	struct timespec a, b;

	if (n > CAL_MAX_CALLS)
		n = CAL_MAX_CALLS;
	for (int i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (c == CAL_TP)
			syscall(SYS_getppid);
		else
			cal_fn();
		clock_gettime(CLOCK_MONOTONIC, &b);
		d[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	}
	*mean = 0;
	*max = 0;
	for (int i = 0; i < n; i++) {
		*mean += d[i] / n;
		*max = d[i] > *max ? d[i] : *max;
	}
	return median_of(d, n);
}

/* Median time between two back-to-back clock reads. */
static double clock_cost(void)
{
	static double d[CAL_MAX_CALLS];
	struct timespec a, b;

	for (int i = 0; i < CAL_MAX_CALLS; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_MONOTONIC, &b);
		d[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	}
	return median_of(d, CAL_MAX_CALLS);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void median_iqr(double *v, int n, double *med, double *half_iqr)
{
	qsort(v, n, sizeof(*v), cmp_d);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*half_iqr = (v[(3 * n) / 4] - v[n / 4]) / 2;
}

/* multi-uprobe link fds of the class being measured (entry, return), -1 when none */
static int cal_mfd[2] = { -1, -1 };

/* A class's calibration probes stay attached from its first measurement until calibrate_release():
 * recalibrating then costs only the calls. Attaching and detaching them for every recalibration
 * made the tracer wait in RCU grace periods (uprobe register/unregister), minutes in one run. */
static struct {
	bool attached;
	struct bpf_link *l[2];
	int mfd[2];
	void (*probed)(void);
} held[CAL_NCLASS];

static int cal_attach(struct tracer *t, enum cal_class c, struct bpf_link **l, char *err, size_t len)
{
	struct pktpath_bpf *k = t->skel;
	char path[4097];
	unsigned long long off, eoff;

	if (c == CAL_TP) {
		struct bpf_program *p = bpf_object__find_program_by_name(k->obj, "tp_slot32");
		l[0] = p ? bpf_program__attach_raw_tracepoint(p, "sys_enter") : NULL;
		cal_fn = NULL;
		goto check;
	}
	cal_fn = cal_probed[c];
	if (cal_self_site(cal_probed[c], path, sizeof(path), &off)) {
		snprintf(err, len, "cannot find the tracer's own calibration function in /proc/self/maps");
		return -1;
	}
	eoff = off + cal_entry_delta(c);
	if (c != CAL_USDT && t->umulti) {
		/* the stages' uprobes go through multi-uprobe links (uprobe_multi.c): so do these, the
		 * return link first as there */
		uint64_t o = off, eo = eoff, cookie = PKTPATH_CAL_STAGE;
		int fd = uprobe_multi_link(k->progs.stage_ureturn_multi, path, &o, &cookie, 1, true, getpid());

		if (fd >= 0) {
			cal_mfd[1] = fd;
			fd = uprobe_multi_link(k->progs.stage_uentry_multi, path, &eo, &cookie, 1, false, getpid());
		}
		if (fd < 0) {
			errno = -fd;
			goto fail;
		}
		cal_mfd[0] = fd;
		return 0;
	}
	if (c == CAL_USDT) {
		LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = PKTPATH_CAL_STAGE);
		l[0] = bpf_program__attach_usdt(k->progs.stage_usdt, getpid(), path, "pktpath_cal", "hit", &uo);
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = PKTPATH_CAL_STAGE);
		/* In the order stage_attach() uses: return probe first. The kernel runs a site's
		 * consumers newest first, so this order decides whether the entry program's timestamp
		 * comes before or after the return probe's bookkeeping at the entry trap. */
		uo.retprobe = true;
		l[1] = bpf_program__attach_uprobe_opts(k->progs.stage_ureturn, getpid(), path, off, &uo);
		uo.retprobe = false;
		if (l[1])
			l[0] = bpf_program__attach_uprobe_opts(k->progs.stage_uentry, getpid(), path, eoff, &uo);
		if (!l[0] || !l[1])
			goto fail;
	}
check:
	if (l[0])
		return 0;
fail:
	snprintf(err, len, "attaching the calibration probe failed: %s", strerror(errno));
	return -1;
}

/* One untraced and one traced run of ncalls, back to back, so the slow drifts of a shared machine
 * cancel in their difference. Functions have an identical unprobed twin for the untraced run
 * (detaching a uprobe takes ~0.3 s here); the tracepoint is attached for the traced run only.
 * 0: *o holds a measurement; 1: the probe recorded nothing; -1: failed (err says why). */
int cal_one_batch(struct tracer *t, enum cal_class c, void (*probed)(void), int ncalls, struct cal_batch *o,
			 char *err, size_t len)
{
	static unsigned long long h0[PKTPATH_HIST_BUCKETS], h1[PKTPATH_HIST_BUCKETS];
	struct bpf_link *l[2] = {};
	struct pktpath_stage_totals t0, t1;
	double m, d_un, d_tr, co, mean_un, mean_tr, rec_mean, max_un, max_tr;
	int rc = -1;

	if (c != CAL_TP)
		cal_fn = cal_ref[c];
	run_calls(c, 20); /* warm caches */
	d_un = timed_calls(c, ncalls, &mean_un, &max_un);
	if (c == CAL_TP && cal_attach(t, c, l, err, len))
		return -1;
	if (c != CAL_TP)
		cal_fn = probed;
	run_calls(c, 20);
	if (slot_read(t, PKTPATH_CAL_STAGE, &t0, h0))
		goto out;
	/* only the timed calls count: the map reads around them are syscalls too (sys_enter) */
	t->skel->bss->calibrating = 1;
	d_tr = timed_calls(c, ncalls, &mean_tr, &max_tr);
	t->skel->bss->calibrating = 0;
	if (c == CAL_TP) {
		bpf_link__destroy(l[0]);
		l[0] = NULL;
	}
	if (slot_read(t, PKTPATH_CAL_STAGE, &t1, h1))
		goto out;
	for (int i = 0; i < PKTPATH_HIST_BUCKETS; i++)
		h1[i] -= h0[i];
	m = hist_median(h1);
	rc = 1;
	if (m < 0 || t1.timed <= t0.timed)
		goto out;
	/* the exact mean, from the sum, as the report's mean is */
	rec_mean = (double)(t1.sum_ns - t0.sum_ns) / (double)(t1.timed - t0.timed);
	/* With C one clock read and F the call: d_un ~ C + F, co ~ C. A probed call's own time is
	 * F = d_un - co; the interval between point events in the timing loop is ~ 2C + F. */
	co = clock_cost();
	o->inner = c == CAL_TP || c == CAL_USDT ? m - (d_un + co) : m - (d_un - co);
	/* The mean keeps interrupts (a real site's mean does too) but not a call that lost the CPU to
	 * another task: one such call weighs more than the whole batch's probe cost. */
	o->mean_ok = max_un < d_un + CAL_PREEMPTED_NS && max_tr < d_tr + CAL_PREEMPTED_NS;
	o->inner_mean = c == CAL_TP || c == CAL_USDT ? rec_mean - (mean_un + co) : rec_mean - (mean_un - co);
	o->outer = d_tr - d_un;
	if (getenv("PKTPATH_DEBUG_CAL"))
		fprintf(stderr, "cal %s batch: untraced %.1f traced %.1f recorded median %.1f untraced mean %.1f "
			"recorded mean %.1f clock %.1f max %.0f/%.0f\n",
			cal_names[c], d_un, d_tr, m, mean_un, rec_mean, co, max_un, max_tr);
	rc = 0;
out:
	t->skel->bss->calibrating = 0;
	bpf_link__destroy(l[0]);
	return rc;
}

/* Medians and half inter-quartile ranges over the batches. by_mean: inner_mean is the batches'
 * mean instead of their median (see the background calibration). */
void cal_summarize(const struct cal_batch *b, int nb, int min_mean, bool by_mean, struct cal_result *r)
{
	double inner[nb], outer[nb], im[nb];
	int nm = 0;

	for (int i = 0; i < nb; i++) {
		inner[i] = b[i].inner;
		outer[i] = b[i].outer;
		if (b[i].mean_ok)
			im[nm++] = b[i].inner_mean;
	}
	median_iqr(inner, nb, &r->inner, &r->inner_sp);
	median_iqr(outer, nb, &r->outer, &r->outer_sp);
	r->mean_ok = nm >= min_mean;
	if (r->mean_ok) {
		double mean = 0;

		for (int i = 0; i < nm; i++)
			mean += im[i] / nm;
		median_iqr(im, nm, &r->inner_mean, &r->inner_mean_sp);
		if (by_mean)
			r->inner_mean = mean;
	}
	r->ok = true;
}

static int held_attach(struct tracer *t, enum cal_class c, char *err, size_t len)
{
	if (c == CAL_TP || held[c].attached)
		return 0;
	if (cal_attach(t, c, held[c].l, err, len)) {
		for (int i = 0; i < 2; i++) {
			bpf_link__destroy(held[c].l[i]);
			held[c].l[i] = NULL;
			if (cal_mfd[i] >= 0)
				close(cal_mfd[i]);
			cal_mfd[i] = -1;
		}
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		held[c].mfd[i] = cal_mfd[i];
		cal_mfd[i] = -1;
	}
	held[c].probed = cal_fn;
	held[c].attached = true;
	return 0;
}

void cal_measure(struct tracer *t, enum cal_class c, struct cal_result *r, char *err, size_t len,
			int nbatch, int ncalls)
{
	struct cal_batch b[CAL_MAX_BATCHES];
	int nb = 0, rc;

	r->done = true;
	r->method = cal_methods[c];
	if (held_attach(t, c, err, len))
		return;
	for (int i = 0; i < nbatch && i < CAL_MAX_BATCHES; i++) {
		rc = cal_one_batch(t, c, held[c].probed, ncalls, &b[nb], err, len);
		if (rc < 0)
			return;
		nb += rc == 0;
	}
	if (nb < nbatch / 2 + 1) {
		snprintf(err, len, "the calibration probe recorded too few calls (%d of %d batches)", nb, nbatch);
		return;
	}
	cal_summarize(b, nb, nbatch / 4 > 3 ? nbatch / 4 : 3, false, r);
	r->runs = nb * ncalls;
}

void (*cal_held_probe(enum cal_class c))(void)
{
	return held[c].attached ? held[c].probed : NULL;
}

void cal_release_probes(void)
{
	for (int c = 0; c < CAL_NCLASS; c++) {
		if (!held[c].attached)
			continue;
		for (int i = 0; i < 2; i++) {
			bpf_link__destroy(held[c].l[i]);
			held[c].l[i] = NULL;
			if (held[c].mfd[i] >= 0)
				close(held[c].mfd[i]);
			held[c].mfd[i] = -1;
		}
		held[c].attached = false;
	}
}
