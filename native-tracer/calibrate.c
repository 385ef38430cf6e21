/* calibrate.c — what do the probes add at a site of a given class? Functions of each
 * class live in this binary; the tracer probes itself through the very programs the stages use
 * (stage slot PKTPATH_CAL_STAGE, filtered to its own pid) and times them untraced and traced.
 *   inner_ns: median latency the probes record for a call that costs `untraced` on its own, minus
 *             `untraced` (what to subtract from a stage's latencies);
 *   outer_ns: wall time one probed call adds to its caller (what a parent stage, and the target,
 *             pay per call).
 * Spreads are half the inter-quartile range over the batches. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "tracer.h"
#include "pktpath.skel.h"

#define CAL_BATCHES 21
#define CAL_CALLS 500
/* the most calls in one background batch (fewer where that would take over ~0.3 ms) */
#define RECAL_CALLS 200
/* a call this much slower than the batch's median lost the CPU (a tick or interrupt is < 20 us) */
#define CAL_PREEMPTED_NS 50000.0

/* Calibration functions whose first instruction is of a known kind, each calling the same body of
 * fixed work (~0.4 us). Written in assembly so no compiler option (CET, shrink-wrapping, -pg) can
 * change what the kernel sees at the probed address. The body matters: after the breakpoint trap
 * the function's own code runs slower (caches and predictors disturbed by the kernel round trip,
 * ~150 ns measured here), which an empty function would not show. */
#define CAL_SITE(name, ...) CAL_SITE_(name, __VA_ARGS__)
#define CAL_SITE_(name, first, last)                                                               \
	".p2align 4\n.globl " name "\n.type " name ",@function\n" name ":\n\t" first                  \
	"\n\tcall pktpath_cal_body\n\t" last "\n\tret\n.size " name ",.-" name "\n"
#define PUSH_FIRST "push %rbp\n\tmov %rsp,%rbp", "pop %rbp"
#define NOP5_FIRST ".byte 0x0f,0x1f,0x44,0x00,0x00\n\tpush %rbp\n\tmov %rsp,%rbp", "pop %rbp"
#define SSTEP_FIRST "sub $0x8,%rsp", "add $0x8,%rsp"
/* A RIP-relative first instruction costs more to single-step: the kernel rewrites it to address
 * through a scratch register and restores that register afterwards (measured: ~0.5 us here). */
#define SSTEP_RIP_FIRST "mov pktpath_cal_sink(%rip),%rax", "nop"
/* A single-stepped site whose entry timestamp reloc.c moved to a later, emulated instruction: the
 * return probe (and its single-step) at the first byte, the entry probe on the push after it. The
 * label marks where the entry probe goes. */
#define RELOC_FIRST(at) "mov pktpath_cal_sink(%rip),%rax\n" at ":\n\tpush %rbp\n\tmov %rsp,%rbp", "pop %rbp"
/* The same with the entry on a conditional jump, as in `mov x(%rip),%rsi; test %rsi,%rsi; je ...`:
 * the kernel emulates a branch more cheaply than a push (no store to the user stack), ~40-90 ns
 * here, so a branch entry calibrated with a push one read that much low. */
#define RELOC_BR_FIRST(at) "mov pktpath_cal_sink(%rip),%rax\n\ttest %rax,%rax\n" at ":\n\tje 1f\n1:\n\tpush %rbp\n\tmov %rsp,%rbp", \
	"pop %rbp"
__asm__(".text\n"
	CAL_SITE("pktpath_cal_reloc", RELOC_FIRST("pktpath_cal_reloc_at"))
	CAL_SITE("pktpath_cal_reloc_ref", RELOC_FIRST("pktpath_cal_reloc_ref_at"))
	CAL_SITE("pktpath_cal_relocbr", RELOC_BR_FIRST("pktpath_cal_relocbr_at"))
	CAL_SITE("pktpath_cal_relocbr_ref", RELOC_BR_FIRST("pktpath_cal_relocbr_ref_at"))
	CAL_SITE("pktpath_cal_push", PUSH_FIRST)
	CAL_SITE("pktpath_cal_nop", NOP5_FIRST)
	CAL_SITE("pktpath_cal_sstep", SSTEP_FIRST)
	CAL_SITE("pktpath_cal_ssrip", SSTEP_RIP_FIRST)
	/* the same code again, never probed: the untraced reference for each batch */
	CAL_SITE("pktpath_cal_push_ref", PUSH_FIRST)
	CAL_SITE("pktpath_cal_nop_ref", NOP5_FIRST)
	CAL_SITE("pktpath_cal_sstep_ref", SSTEP_FIRST)
	CAL_SITE("pktpath_cal_ssrip_ref", SSTEP_RIP_FIRST));

volatile unsigned long pktpath_cal_sink;

__attribute__((noinline, used, visibility("hidden"))) void pktpath_cal_body(void)
{
	unsigned long x = pktpath_cal_sink;

	for (int i = 0; i < 200; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL; /* a dependent chain */
	pktpath_cal_sink = x;
}

void pktpath_cal_push(void);
void pktpath_cal_nop(void);
void pktpath_cal_sstep(void);
void pktpath_cal_push_ref(void);
void pktpath_cal_nop_ref(void);
void pktpath_cal_sstep_ref(void);

__attribute__((noinline)) void pktpath_cal_usdt(void)
{
	DTRACE_PROBE(pktpath_cal, hit);
	pktpath_cal_body();
}

__attribute__((noinline)) void pktpath_cal_usdt_ref(void)
{
	DTRACE_PROBE(pktpath_cal, ref);
	pktpath_cal_body();
}

void pktpath_cal_ssrip(void);
void pktpath_cal_ssrip_ref(void);
void pktpath_cal_reloc(void);
void pktpath_cal_reloc_at(void);
void pktpath_cal_reloc_ref(void);
void pktpath_cal_relocbr(void);
void pktpath_cal_relocbr_at(void);
void pktpath_cal_relocbr_ref(void);

/* CAL_SSRIP and CAL_RELOC report as "single_step" (the stream's class names are a contract; the
 * site is single-stepped); their methods say rip-relative / relocated-entry. */
enum cal_class { CAL_PUSH, CAL_NOP, CAL_SSTEP, CAL_USDT, CAL_TP, CAL_SSRIP, CAL_RELOC, CAL_RELOC_BR, CAL_NCLASS };
static const char *cal_names[CAL_NCLASS] = { "push", "nop", "single_step", "usdt", "tracepoint", "single_step",
					     "single_step", "single_step" };
static const char *cal_methods[CAL_NCLASS] = {
	[CAL_PUSH] = "self-probe", [CAL_NOP] = "self-probe", [CAL_SSTEP] = "self-probe", [CAL_USDT] = "self-probe",
	[CAL_TP] = "self-probe:raw_syscalls:sys_enter", [CAL_SSRIP] = "self-probe:rip-relative",
	[CAL_RELOC] = "self-probe:relocated-entry", [CAL_RELOC_BR] = "self-probe:relocated-entry:branch",
};
static void (*const cal_ref[CAL_NCLASS])(void) = {
	[CAL_PUSH] = pktpath_cal_push_ref, [CAL_NOP] = pktpath_cal_nop_ref, [CAL_SSTEP] = pktpath_cal_sstep_ref,
	[CAL_USDT] = pktpath_cal_usdt_ref, [CAL_SSRIP] = pktpath_cal_ssrip_ref, [CAL_RELOC] = pktpath_cal_reloc_ref,
	[CAL_RELOC_BR] = pktpath_cal_relocbr_ref,
};

struct cal_result {
	bool done, ok;
	double inner, inner_sp, outer, outer_sp, inner_mean, inner_mean_sp;
	bool mean_ok; /* enough batches without a preempted call for a mean */
	const char *placement; /* background batches: "target-cpu", "other-cpu", "mixed"; NULL: not said */
	unsigned runs;
	const char *method;
};

unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

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
	static double d[CAL_CALLS];
	struct timespec a, b;

	if (n > CAL_CALLS)
		n = CAL_CALLS;
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
	static double d[CAL_CALLS];
	struct timespec a, b;

	for (int i = 0; i < CAL_CALLS; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_MONOTONIC, &b);
		d[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	}
	return median_of(d, CAL_CALLS);
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

/* bounds of bucket idx, the inverse of pktpath.h's idx(v) */
static void bucket_bounds(int idx, double *lo, double *hi)
{
	int g = idx / PKTPATH_HIST_SUB, sub = idx % PKTPATH_HIST_SUB, p;
	double w;

	if (idx < PKTPATH_HIST_SUB) {
		*lo = idx;
		*hi = idx + 1;
		return;
	}
	p = g + PKTPATH_HIST_SUB_BITS - 1;
	w = (double)(1ULL << (p - PKTPATH_HIST_SUB_BITS));
	*lo = (double)(1ULL << p) + sub * w;
	*hi = *lo + w;
}

static double hist_median(const unsigned long long *h)
{
	unsigned long long n = 0, acc = 0;
	double lo, hi;

	for (int b = 0; b < PKTPATH_HIST_BUCKETS; b++)
		n += h[b];
	if (!n)
		return -1;
	for (int b = 0; b < PKTPATH_HIST_BUCKETS; b++) {
		if (acc + h[b] >= (n + 1) / 2) {
			bucket_bounds(b, &lo, &hi);
			return lo + (hi - lo) * (((n + 1) / 2.0 - acc) - 0.5) / h[b];
		}
		acc += h[b];
	}
	return -1;
}

/* file offset of a function of this process, from /proc/self/maps (works on a stripped tracer) */
static int self_site(void (*fn)(void), char *path, size_t plen, unsigned long long *off)
{
	uintptr_t a = (uintptr_t)fn;
	char line[4352];
	FILE *fp = fopen("/proc/self/maps", "re");
	int rc = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long lo, hi, pgoff;
		char perm[8], file[4097] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4096[^\n]", &lo, &hi, perm, &pgoff, file) < 4)
			continue;
		if (a >= lo && a < hi && file[0] == '/') {
			*off = a - lo + pgoff;
			snprintf(path, plen, "%s", file);
			rc = 0;
			break;
		}
	}
	fclose(fp);
	return rc;
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
	static void (*const fns[CAL_NCLASS])(void) = {
		[CAL_PUSH] = pktpath_cal_push, [CAL_NOP] = pktpath_cal_nop, [CAL_SSTEP] = pktpath_cal_sstep,
		[CAL_USDT] = pktpath_cal_usdt, [CAL_SSRIP] = pktpath_cal_ssrip, [CAL_RELOC] = pktpath_cal_reloc,
		[CAL_RELOC_BR] = pktpath_cal_relocbr,
	};
	char path[4097];
	unsigned long long off, eoff;

	if (c == CAL_TP) {
		struct bpf_program *p = bpf_object__find_program_by_name(k->obj, "tp_slot32");
		l[0] = p ? bpf_program__attach_raw_tracepoint(p, "sys_enter") : NULL;
		cal_fn = NULL;
		goto check;
	}
	cal_fn = fns[c];
	if (self_site(fns[c], path, sizeof(path), &off)) {
		snprintf(err, len, "cannot find the tracer's own calibration function in /proc/self/maps");
		return -1;
	}
	/* the entry probe where reloc.c would put it for such a site: on the push after the first insn */
	eoff = c == CAL_RELOC	 ? off + ((uintptr_t)pktpath_cal_reloc_at - (uintptr_t)pktpath_cal_reloc)
	       : c == CAL_RELOC_BR ? off + ((uintptr_t)pktpath_cal_relocbr_at - (uintptr_t)pktpath_cal_relocbr)
				   : off;
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

struct cal_batch {
	double inner, outer, inner_mean;
	bool mean_ok; /* no call of the batch lost the CPU to another task */
};

/* One untraced and one traced run of ncalls, back to back, so the slow drifts of a shared machine
 * cancel in their difference. Functions have an identical unprobed twin for the untraced run
 * (detaching a uprobe takes ~0.3 s here); the tracepoint is attached for the traced run only.
 * 0: *o holds a measurement; 1: the probe recorded nothing; -1: failed (err says why). */
static int cal_one_batch(struct tracer *t, enum cal_class c, void (*probed)(void), int ncalls, struct cal_batch *o,
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
static void cal_summarize(const struct cal_batch *b, int nb, int min_mean, bool by_mean, struct cal_result *r)
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

static void cal_measure(struct tracer *t, enum cal_class c, struct cal_result *r, char *err, size_t len,
			int nbatch, int ncalls)
{
	struct cal_batch b[CAL_BATCHES];
	int nb = 0, rc;

	r->done = true;
	r->method = cal_methods[c];
	if (held_attach(t, c, err, len))
		return;
	for (int i = 0; i < nbatch && i < CAL_BATCHES; i++) {
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

/* Whether an instruction addresses memory relative to RIP (ModRM mod=00 rm=101), for the common
 * one- and two-byte opcodes that take a ModRM byte. Unknown forms count as not RIP-relative. */
static bool rip_relative(const unsigned char *p, size_t n)
{
	size_t i = 0;
	unsigned char op;

	while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e ||
			 p[i] == 0x3e || p[i] == 0x26 || p[i] == 0x36 || p[i] == 0x64 || p[i] == 0x65))
		i++;
	if (i < n && (p[i] & 0xf0) == 0x40)
		i++; /* REX */
	if (i + 1 >= n)
		return false;
	op = p[i++];
	if (op == 0x0f) {
		unsigned char op2 = p[i++];
		if (i >= n || op2 == 0x05 || op2 == 0x31 || op2 == 0xa2 || (op2 >= 0x80 && op2 <= 0x8f) ||
		    (op2 >= 0xc8 && op2 <= 0xcf))
			return false; /* syscall, rdtsc, cpuid, jcc, bswap: no ModRM */
		if (op2 == 0x38 || op2 == 0x3a)
			i++;
	} else if (!((op < 0x40 && (op & 7) < 4) || op == 0x63 || op == 0x69 || op == 0x6b ||
		     (op >= 0x80 && op <= 0x8f) || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
		     (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff)) {
		return false;
	}
	return i < n && (p[i] & 0xc7) == 0x05;
}

static enum cal_class class_of(struct stage_rt *s)
{
	switch (s->sp->kind) {
	case PKTPATH_KIND_USDT: return CAL_USDT;
	case PKTPATH_KIND_TRACEPOINT: return CAL_TP;
	case PKTPATH_KIND_UPROBE:
		if (s->relocated) /* entry timestamp on an emulated instruction after the single-step */
			return s->reloc.insn.cls == INSN_PUSH ? CAL_RELOC : CAL_RELOC_BR;
		if (s->insn.cls == INSN_PUSH || s->insn.cls == INSN_BRANCH)
			return CAL_PUSH; /* emulated after the breakpoint trap */
		if (s->insn.cls == INSN_NOP)
			return CAL_NOP; /* nop5: optimized into a trampoline call */
		return rip_relative(s->code, s->ncode) ? CAL_SSRIP : CAL_SSTEP;
	default: return CAL_NCLASS;
	}
}

/* A real-time target runs its stages without being preempted by ordinary tasks; calibrating at an
 * ordinary priority on a busy machine would measure the neighbours (in the means above all). So the
 * calibrating thread takes the target's real-time class and priority for the calibration (a few
 * tenths of a second, bounded by the kernel's RT throttling) and gives it back afterwards.
 * Returns whether it changed anything; *old gets what to restore. */
static bool match_target_sched(struct tracer *t, int *old_policy, struct sched_param *old, bool quiet)
{
	struct sched_param sp;
	int pol;

	if (t->o->kernel_mode || t->o->pid <= 0)
		return false;
	pol = sched_getscheduler(t->o->pid);
	if ((pol != SCHED_FIFO && pol != SCHED_RR) || sched_getparam(t->o->pid, &sp))
		return false;
	*old_policy = sched_getscheduler(0);
	if (*old_policy < 0 || sched_getparam(0, old))
		return false;
	if (sched_setscheduler(0, pol, &sp)) {
		if (!quiet)
			emit_warning(t->out, "calibration: cannot take the target's real-time priority (%s); calibrating at "
			     "an ordinary priority", strerror(errno));
		return false;
	}
	return true;
}

static void emit_cal(struct tracer *t, struct stage_rt *s, enum cal_class c, const struct cal_result *r, bool rt,
		     int seq, int during)
{
	fprintf(t->out, "{\"type\":\"calibration\",\"stage\":%d,\"class\":\"%s\",\"method\":\"%s\",\"runs\":%u,"
		"\"inner_ns\":%.1f,\"inner_spread_ns\":%.1f,\"outer_ns\":%.1f,\"outer_spread_ns\":%.1f,"
		"\"sched\":\"%s\"",
		s->id, cal_names[c], r->method, r->runs, r->inner, r->inner_sp, r->outer, r->outer_sp,
		rt ? "target-rt" : "normal");
	if (seq >= 0)
		fprintf(t->out, ",\"seq\":%d", seq);
	if (during >= 0)
		fprintf(t->out, ",\"during\":%d", during);
	if (r->placement)
		fprintf(t->out, ",\"placement\":\"%s\"", r->placement);
	if (r->mean_ok)
		fprintf(t->out, ",\"inner_mean_ns\":%.1f,\"inner_mean_spread_ns\":%.1f}\n", r->inner_mean, r->inner_mean_sp);
	else
		fputs(",\"inner_mean_ns\":null,\"inner_mean_spread_ns\":null}\n", t->out);
}

static void bg_start(struct tracer *t, const struct cal_result *res);

void calibrate_stages(struct tracer *t)
{
	struct cal_result res[CAL_NCLASS] = {};
	char err[CAL_NCLASS][256] = {};
	struct sched_param old_sp;
	int old_pol = SCHED_OTHER;
	bool rt = match_target_sched(t, &old_pol, &old_sp, false);

	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		enum cal_class c;

		if (!s->ok)
			continue;
		c = class_of(s);
		if (c == CAL_NCLASS) {
			emit_warning(t->out, "stage %s: %s probes are not calibrated by this tracer; its latencies "
				     "include the probes' own cost", s->sp->name, kind_name(s->sp->kind));
			continue;
		}
		if (!res[c].done)
			cal_measure(t, c, &res[c], err[c], sizeof(err[c]), CAL_BATCHES, CAL_CALLS);
		if (!res[c].ok) {
			emit_warning(t->out, "stage %s: calibration (%s) failed: %s", s->sp->name, cal_names[c], err[c]);
			continue;
		}
		s->calibrated = true;
		s->cal_class = cal_names[c];
		s->outer_ns = res[c].outer;
		emit_cal(t, s, c, &res[c], rt, -1, -1);
	}
	if (rt && sched_setscheduler(0, old_pol, &old_sp))
		emit_warning(t->out, "calibration: cannot give back the real-time priority: %s", strerror(errno));
	bg_start(t, res);
}

/* Background calibration. The probe cost is not steady here: it sits at one level for tens of ms
 * to seconds, then at another 100-200 ns higher, and the single-step cost drifts by hundreds of ns.
 * A stage's mean is a time average over the recording, so the calibration has to be one too: a
 * thread runs one short batch per class every >= 20 ms all through the recording (it sleeps 50
 * times as long as its batches took), and each recalibration record is the mean of the batches of
 * one interval. Measuring in a burst once per interval caught whichever level the burst fell in.
 *
 * And on the target's CPU: the levels are per CPU. An empty push-first function in the target
 * against calibration batches of the same seconds, per 1 s interval: -33...+55 ns with the batches
 * on the target's CPU, -178...+167 ns on the other CPU of this 2-CPU VM. So each batch runs on the
 * CPU the target's busiest thread last ran on, kept short (<= ~0.3 ms) because it takes that CPU
 * from the target: at a real-time target's priority + 1 (it preempts the target instead of waiting
 * behind a busy-polling thread forever), as an ordinary thread beside an ordinary target. That is
 * at most ~1.5% of the target's CPU; "placement" in the record says where batches ran. */
#define BG_MAX_BATCHES 512
#define BG_MIN_SLEEP_NS 20000000ull
#define BG_BATCH_NS 300000.0
#define BG_MAX_THREADS 256

static struct {
	pthread_t th;
	bool started;
	volatile bool stop;
	bool rt;
	bool want[CAL_NCLASS];
	int calls[CAL_NCLASS];     /* per batch: <= BG_BATCH_NS of calls */
	pthread_mutex_t mu;
	struct cal_batch b[CAL_NCLASS][BG_MAX_BATCHES];
	int n[CAL_NCLASS];
	int on_target[CAL_NCLASS]; /* of those, how many ran on the target's CPU */
	unsigned from[CAL_NCLASS]; /* the interval the batches in b[c] began in */
	struct { int tid; unsigned long long ns; } seen[BG_MAX_THREADS];
	int nseen;
} bg = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The CPU the target thread that ran most since the last call is on (field 39 of its stat; its
 * time on CPU from schedstat), or -1. */
static int target_cpu(int pid)
{
	char path[96], buf[1024];
	static struct { int tid; unsigned long long ns; } now[BG_MAX_THREADS];
	unsigned long long best_d = 0;
	int best_cpu = -1, n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) && n < BG_MAX_THREADS) {
		int tid = atoi(e->d_name), cpu = -1, k;
		unsigned long long ns = 0, prev = 0;
		FILE *f;
		char *p;

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
		if (!(f = fopen(path, "re")))
			continue;
		k = fscanf(f, "%llu", &ns);
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
		if (k != 1 || !(f = fopen(path, "re")))
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* after the comm: state is field 3, processor field 39 */
		for (k = 3; p && k <= 39; k++)
			p = strchr(p + 1, ' ');
		if (!p || sscanf(p, " %d", &cpu) != 1)
			continue;
		for (int i = 0; i < bg.nseen; i++)
			if (bg.seen[i].tid == tid)
				prev = bg.seen[i].ns;
		if (ns - prev >= best_d) {
			best_d = ns - prev;
			best_cpu = cpu;
		}
		now[n].tid = tid;
		now[n++].ns = ns;
	}
	memcpy(bg.seen, now, n * sizeof(now[0]));
	bg.nseen = n;
	closedir(d);
	return best_cpu;
}

static void *bg_main(void *arg)
{
	struct tracer *t = arg;
	struct sched_param old_sp, sp;
	int old_pol, pol = SCHED_OTHER;
	cpu_set_t all, one;
	char err[256];

	bool may_pin;

	/* this thread only: it keeps the target's class (one above its priority) all recording */
	bg.rt = match_target_sched(t, &old_pol, &old_sp, true);
	may_pin = !bg.rt;
	if (bg.rt && sched_getparam(0, &sp) == 0 && sp.sched_priority < sched_get_priority_max(pol = sched_getscheduler(0))) {
		sp.sched_priority++;
		/* at the target's own priority a batch on its CPU would wait behind a busy-polling thread
		 * for ever: pin only when above it */
		may_pin = sched_setscheduler(0, pol, &sp) == 0;
	}
	if (!may_pin || sched_getaffinity(0, sizeof(all), &all))
		CPU_ZERO(&all);
	while (!bg.stop) {
		unsigned long long t0 = now_ns(), busy, until;
		int cpu = t->o->kernel_mode ? -1 : target_cpu(t->o->pid);
		bool pinned = false;

		if (cpu >= 0 && CPU_ISSET(cpu, &all)) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
		}
		for (int c = 0; c < CAL_NCLASS && !bg.stop; c++) {
			struct cal_batch x;

			if (!bg.want[c] || cal_one_batch(t, c, held[c].probed, bg.calls[c], &x, err, sizeof(err)))
				continue;
			if (getenv("PKTPATH_DEBUG_CAL"))
				fprintf(stderr, "bg batch cpu %d target cpu %d pinned %d inner_mean %.0f\n", sched_getcpu(), cpu, pinned, x.inner_mean);
			pthread_mutex_lock(&bg.mu);
			if (bg.n[c] < BG_MAX_BATCHES) {
				bg.b[c][bg.n[c]++] = x;
				bg.on_target[c] += pinned;
			}
			pthread_mutex_unlock(&bg.mu);
		}
		busy = now_ns() - t0;
		if (pinned)
			sched_setaffinity(0, sizeof(all), &all); /* sleep anywhere */
		until = now_ns() + (50 * busy > BG_MIN_SLEEP_NS ? 50 * busy : BG_MIN_SLEEP_NS);
		while (!bg.stop && now_ns() < until)
			usleep(5000);
	}
	return NULL;
}

/* after the first calibration: the classes in use, all but the tracepoint class (its calibration
 * makes syscalls, which a tracepoint stage counting every process would take for the target's) */
static void bg_start(struct tracer *t, const struct cal_result *res)
{
	bool any = false;

	if (t->o->recalibrate_s <= 0 || t->o->max_overhead_pct > 0 || bg.started)
		return;
	for (int i = 0; i < t->nst; i++) {
		enum cal_class c = t->st[i].ok && t->st[i].calibrated ? class_of(&t->st[i]) : CAL_NCLASS;

		if (c != CAL_NCLASS && c != CAL_TP && held[c].attached) {
			/* a traced and an untraced call per pair; at least 20 pairs for a median */
			double per = res[c].outer + 500;
			int n = (int)(BG_BATCH_NS / per);

			bg.calls[c] = n < 20 ? 20 : n > RECAL_CALLS ? RECAL_CALLS : n;
			any = bg.want[c] = true;
		}
	}
	bg.stop = false;
	bg.started = any && pthread_create(&bg.th, NULL, bg_main, t) == 0;
	if (any && !bg.started)
		emit_warning(t->out, "calibration: no background thread (%s): the probe cost is measured at start only",
			     strerror(errno));
}

static void bg_stop(void)
{
	struct timespec until;

	if (!bg.started)
		return;
	bg.stop = true;
	/* a batch waiting for a CPU that a higher real-time task never gives up must not keep the
	 * tracer (and its probes) alive: after 2 s the thread is left to the process's exit */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(bg.th, NULL, &until))
		pthread_detach(bg.th);
	bg.started = false;
}

/* Emits, for each class with at least 3 background batches since the last call, their summary with
 * "seq" (the interval it precedes); the session weighs these by the calls of the intervals around
 * them. A class with fewer keeps collecting. */
void recalibrate_stages(struct tracer *t, unsigned seq)
{
	static struct cal_batch b[BG_MAX_BATCHES];
	struct cal_result res[CAL_NCLASS] = {};
	int during[CAL_NCLASS], on_target[CAL_NCLASS] = {};

	if (!bg.started)
		return;
	for (int c = 0; c < CAL_NCLASS; c++) {
		int n;

		pthread_mutex_lock(&bg.mu);
		n = bg.n[c] >= 3 ? bg.n[c] : 0;
		memcpy(b, bg.b[c], n * sizeof(b[0]));
		/* exactly the interval that just ended, or several (then readers bracket as before) */
		during[c] = bg.from[c] + 1 == seq ? (int)bg.from[c] : -1;
		on_target[c] = bg.on_target[c];
		if (n) {
			bg.n[c] = 0;
			bg.on_target[c] = 0;
			bg.from[c] = seq;
		}
		pthread_mutex_unlock(&bg.mu);
		if (!n)
			continue;
		cal_summarize(b, n, 3, true, &res[c]);
		res[c].runs = n * bg.calls[c];
		res[c].placement = on_target[c] == n ? "target-cpu" : on_target[c] ? "mixed" : "other-cpu";
		res[c].method = cal_methods[c];
	}
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		enum cal_class c;

		if (!s->ok || !s->calibrated)
			continue;
		c = class_of(s);
		if (c == CAL_NCLASS || !res[c].ok)
			continue;
		s->outer_ns = res[c].outer;
		emit_cal(t, s, c, &res[c], bg.rt, (int)seq, during[c]);
	}
}

/* Detaches every class's calibration probes (see `held`). */
void calibrate_release(void)
{
	bg_stop();
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
