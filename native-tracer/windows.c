/* windows.c — --max-overhead: the stage probes are attached in windows so that what they
 * cost the target stays within a budget (a share of one CPU), and nothing is scaled up.
 *
 * A window is: attach, settle (calls in flight return), count, stop counting, detach. The target
 * pays the probes' price from the attach to the detach, not only while counting: installing and
 * removing uprobes waits for RCU grace periods here (0.1-0.3 s, sometimes seconds), and an earlier
 * version that charged only the counted time spent about 3x its budget. So every window is charged
 * its whole live time at the cost rate measured while counting (calibrated outer_ns x calls per
 * counted second), and a balance carries over- and underspending between intervals: when attach
 * and detach alone do not fit into one interval's budget, windows come every few intervals, and a
 * window that overran (a slow grace period) is paid back by skipping intervals.
 *
 * Measured here (known_cost, two push-first stages, its own throughput every 4 ms): the target
 * is slowed from the attach until ~5-10 ms after the detach begins, and runs at full speed while
 * the detach then waits 60-90 ms for its grace periods. So a window's live time ends at the last
 * probe hit seen in the entry-timestamp map (call-keyed stages); without that evidence (point
 * stages) it ends when the detach returns. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "stops.h"
#include "tracer.h"
#include "pktpath.skel.h"

#define SETTLE_NS 20000000ULL  /* calls in flight while the probes went in return (as at start) */
#define SAFETY 0.9             /* plan for 90% of the budget: the rate moves between windows */
#define MIN_COUNT_NS 10000000ULL

/* mirrors struct pp_entry_stack in pktpath.bpf.c (checked against the map's value size) */
struct entry_stack {
	unsigned depth, counted;
	unsigned long long ts[PKTPATH_MAX_DEPTH];
	unsigned long long arg[PKTPATH_MAX_DEPTH];
};

unsigned long long probes_last_hit_ns(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.entries);
	unsigned long long key, next, last = 0;
	struct entry_stack v;
	bool first = true;

	for (int i = 0; i < t->nst; i++)
		if (t->st[i].ok && strcmp(t->st[i].key, "call"))
			return 0; /* a point stage leaves no trace here: no evidence */
	if (bpf_map__value_size(t->skel->maps.entries) != sizeof(v))
		return 0;
	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		/* a popped frame keeps its timestamp, so the newest of all is the last entry hit */
		for (int d = 0; d < PKTPATH_MAX_DEPTH; d++)
			if (v.ts[d] > last)
				last = v.ts[d];
	}
	return last;
}

static double realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void windows_init(struct windows *w, double budget_pct)
{
	memset(w, 0, sizeof(*w));
	w->budget = budget_pct / 100.0;
	w->rate = -1;
	w->debug = getenv("PKTPATH_DEBUG_WINDOWS") != NULL;
}

static void debug_mark(const struct windows *w, const char *what, unsigned long long dur_ns)
{
	if (w->debug)
		fprintf(stderr, "window %s wall_ms=%.3f ms=%.3f\n", what, realtime_ms(), dur_ns / 1e6);
}

/* Probes attached at start (to report each stage) are removed until the first window: the target
 * should not pay while we calibrate. */
void windows_start(struct windows *w, const struct window_ops *op)
{
	unsigned long long t0 = now_ns();

	op->count(op->ctx, false);
	op->detach(op->ctx);
	w->detach_wall_ns = (double)(now_ns() - t0);
	w->detach_paid_ns = w->detach_wall_ns; /* no better guess yet */
	w->attach_ns = SETTLE_NS;
	debug_mark(w, "start_detach", now_ns() - t0);
}

/* what a window costs the target besides its counted time, in time attached */
static double fixed_ns(const struct windows *w)
{
	return w->attach_ns + w->detach_paid_ns;
}

static double mean(double old, double v, unsigned n)
{
	/* follows the machine's grace periods without trusting one outlier */
	return n ? 0.7 * old + 0.3 * v : v;
}

/* Detaches; returns when the probes stopped costing the target: the last entry hit if it came
 * after counting stopped (a few ms into the detach), the end of counting if no call came after
 * it, and the detach's end without evidence. */
static unsigned long long detach(struct windows *w, const struct window_ops *op, unsigned long long count_off)
{
	unsigned long long t0 = now_ns(), last, t1, end;

	last = op->detach(op->ctx);
	t1 = now_ns();
	end = !last || last > t1 ? t1 : last < count_off ? count_off : last;
	w->detach_paid_ns = mean(w->detach_paid_ns, (double)(end > t0 ? end - t0 : 0), w->ndetach);
	w->detach_wall_ns = mean(w->detach_wall_ns, (double)(t1 - t0), w->ndetach);
	w->ndetach++;
	w->attached = false;
	if (w->debug)
		fprintf(stderr, "window detach wall_ms=%.3f ms=%.3f paid_ms=%.3f\n", realtime_ms(),
			(t1 - t0) / 1e6, end > t0 ? (end - t0) / 1e6 : 0.0);
	return end;
}

/* How long to count in this interval: 0 skips it. */
static double plan(const struct windows *w, double iv)
{
	double least = iv / 100 > MIN_COUNT_NS ? iv / 100 : MIN_COUNT_NS, count, fits;

	if (w->rate < 0)
		return MIN_COUNT_NS; /* the first window measures the call rate */
	if (w->rate <= SAFETY * w->budget)
		return iv; /* the probes fit the budget all the time */
	/* spend what the balance allows; a window must count at least as long as it pays for its
	 * attach and detach, else it waits for more intervals' budget */
	count = (w->balance_ns + SAFETY * w->budget * iv) / w->rate - (w->attached ? w->detach_paid_ns : fixed_ns(w));
	if (count < least || count < fixed_ns(w))
		return 0;
	/* slow start: a short window's rate is a rough one (here a 10 ms window read half the rate) */
	if (count > 3 * w->last_count_ns && count > least)
		count = 3 * w->last_count_ns > least ? 3 * w->last_count_ns : least;
	/* and the window fits in its interval, detach included */
	fits = 0.95 * iv - w->attach_ns - w->detach_wall_ns;
	if (count > fits)
		count = fits > least ? fits : least;
	return count;
}

bool windows_interval(struct windows *w, const struct window_ops *op, unsigned long long tick_start,
		      unsigned long long tick_end)
{
	double iv = (double)(tick_end - tick_start), count_ns = plan(w, iv);
	unsigned long long live_start = tick_start, t_on, t_off, t;
	bool running = true, continuous = count_ns >= iv;
	int n;

	w->on_ns = w->live_ns = 0;
	if (count_ns <= 0) {
		if (w->attached) { /* was attached all the time; the rate went up */
			op->count(op->ctx, false);
			w->live_ns = detach(w, op, now_ns()) - tick_start;
		}
		debug_mark(w, "skip", 0);
		return op->wait(op->ctx, tick_end);
	}
	if (!w->attached) {
		live_start = now_ns();
		n = op->attach(op->ctx);
		w->attached = true;
		t = now_ns();
		if (w->debug)
			fprintf(stderr, "window attach wall_ms=%.3f ms=%.3f stages=%d\n", realtime_ms(),
				(t - live_start) / 1e6, n);
		/* calls in flight while the probes went in return before counting starts */
		running = op->wait(op->ctx, t + SETTLE_NS);
		w->attach_ns = mean(w->attach_ns, (double)(now_ns() - live_start), w->ndetach);
		if (running)
			op->count(op->ctx, true);
	}
	t_on = now_ns();
	if (running)
		running = op->wait(op->ctx, continuous ? tick_end : t_on + (unsigned long long)count_ns);
	if (running && continuous) {
		t = now_ns();
		w->on_ns = t - t_on;
		w->live_ns = t - live_start;
		return true;
	}
	op->count(op->ctx, false);
	t_off = now_ns();
	w->on_ns = t_off - t_on;
	w->last_count_ns = (double)w->on_ns;
	debug_mark(w, "counted", w->on_ns);
	w->live_ns = detach(w, op, t_off) - live_start;
	if (running)
		running = op->wait(op->ctx, tick_end);
	return running;
}

double windows_account(struct windows *w, double counted_cost_ns, unsigned long long dt_ns)
{
	double cost, cap, least = (double)dt_ns / 100;

	/* the rate is known only from a window that counted long enough to see calls */
	if (w->on_ns >= MIN_COUNT_NS / 2)
		w->rate = counted_cost_ns / (double)w->on_ns;
	cost = w->rate > 0 ? w->rate * (double)w->live_ns : counted_cost_ns;
	w->balance_ns += SAFETY * w->budget * (double)dt_ns - cost;
	/* Savings carry over only as far as a window that attach and detach alone would not let fit
	 * into one interval needs them: otherwise every interval keeps to the budget on its own, and a
	 * target that was idle cannot buy one long expensive window later. */
	if (least < MIN_COUNT_NS)
		least = MIN_COUNT_NS;
	if (least < fixed_ns(w))
		least = fixed_ns(w);
	cap = w->rate > 0 ? 1.2 * w->rate * (fixed_ns(w) + least) - SAFETY * w->budget * (double)dt_ns : 0;
	if (w->balance_ns > (cap > 0 ? cap : 0))
		w->balance_ns = cap > 0 ? cap : 0;
	if (w->debug)
		fprintf(stderr, "window account wall_ms=%.3f on_ms=%.3f live_ms=%.3f rate=%.4f "
			"cost_ms=%.3f balance_ms=%.3f attach_ms=%.3f detach_paid_ms=%.3f detach_ms=%.3f\n",
			realtime_ms(), w->on_ns / 1e6, w->live_ns / 1e6, w->rate, cost / 1e6, w->balance_ns / 1e6,
			w->attach_ns / 1e6, w->detach_paid_ns / 1e6, w->detach_wall_ns / 1e6);
	return cost;
}

/* What a window does to the run: the steps above reach the stages, the counting switch and the
 * main loop's wait only through these (struct window_ops). */
static int run_attach(void *c)
{
	return attach_all(((struct window_run *)c)->t);
}

static unsigned long long run_detach(void *c)
{
	struct tracer *t = ((struct window_run *)c)->t;
	unsigned long long last;

	links_detach_all(t);
	last = probes_last_hit_ns(t);
	entries_clear(t); /* calls cut off by the detach never return to us */
	return last;
}

static void run_count(void *c, bool on)
{
	((struct window_run *)c)->t->skel->bss->counting = on;
}

static bool run_wait(void *c, unsigned long long until)
{
	return wait_until(((struct window_run *)c)->stop, until, ((struct window_run *)c)->mask);
}

struct window_ops window_run_ops(struct window_run *r)
{
	return (struct window_ops){ r, run_attach, run_detach, run_count, run_wait };
}
