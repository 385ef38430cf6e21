/* drain.c — one interval's hist records: the stages' totals and histograms since the last drain. */
#include <stdbool.h>
#include "stream.h"
#include "tracer.h"

/* The totals of all stages are read first, back to back, so stages on one path agree on the
 * interval's calls; the histograms follow (a bucket may hold a call or two that the next
 * interval's totals account for). */
void drain(struct tracer *t, unsigned seq, double *overhead_ns)
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
