/* intervals.h — the recording itself: counting starts, then one interval after another until a
 * stop (intervals.c). */
#ifndef PKTPATH_INTERVALS_H
#define PKTPATH_INTERVALS_H
#include <signal.h>

struct tracer;
struct stops;
struct sampler;
struct windows;
struct window_ops;

struct recording {
	struct tracer *t;
	struct stops *stop;
	const sigset_t *mask;         /* to wait with: the stop signals are taken then */
	struct sampler *smp;          /* NULL: no stack sampling */
	int nok;                      /* stages attached */
	struct windows *w;            /* --max-overhead's windows (started); NULL: counting throughout */
	const struct window_ops *wops;
};

/* Writes the ready record when counting starts, then every interval the hist records, the
 * sampler's records and a tick, until r->stop says why it stopped; counting is off on return. */
void record_intervals(const struct recording *r);
#endif
