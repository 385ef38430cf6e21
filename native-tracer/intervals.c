/* intervals.c — the main loop: wait for the interval's end (or a --max-overhead window's steps),
 * drain the stages and the sampler, write the tick, recalibrate when due. */
#include <string.h>
#include <unistd.h>
#include "intervals.h"
#include "sampler.h"
#include "stops.h"
#include "stream.h"
#include "tracer.h"
#include "pktpath.skel.h"

#define SETTLE_US 20000

void record_intervals(const struct recording *r)
{
	struct tracer *t = r->t;
	const struct options *o = t->o;
	struct stops *L = r->stop;
	bool windowed = r->w != NULL; /* then each window switches counting itself */
	unsigned seq = 0;

	L->watch_stdin = stdin_watchable();
	/* one instant for every stage: counting starts after all are attached, and after calls that
	 * were in flight while the probes went in have returned */
	usleep(SETTLE_US);
	if (t->skel)
		t->skel->bss->counting = !windowed;
	unsigned long long start = now_ns(), tick_start = start, last_recal = start;
	if (o->duration_s > 0)
		L->end_ns = start + (unsigned long long)(o->duration_s * 1e9);
	stream_ready(t->out, start);
	fflush(t->out);

	bool running = true;
	while (running) {
		unsigned long long iv = (unsigned long long)o->interval_ms * 1000000ULL;
		unsigned long long tick_end = tick_start + iv, on_ns = 0, live_ns = 0;
		unsigned long long samples = 0, lost = 0;
		double ovh_ns;

		if (windowed) {
			running = windows_interval(r->w, r->wops, tick_start, tick_end);
			on_ns = r->w->on_ns;
		} else {
			running = wait_until(L, tick_end, r->mask);
			if (!running && t->skel)
				t->skel->bss->counting = 0;
			on_ns = now_ns() - tick_start;
		}
		unsigned long long now = now_ns();
		drain(t, seq, &ovh_ns);
		if (windowed) { /* charged for the probes' whole live time, not only the counted */
			ovh_ns = windows_account(r->w, ovh_ns, now - tick_start);
			live_ns = r->w->live_ns;
		}
		if (r->smp)
			sampler_drain(r->smp, t->out, seq, &samples, &lost);
		double dt = (double)(now - tick_start);
		struct tick_rec tk = {
			.seq = seq, .t_ns = now, .dt_ns = now - tick_start, .samples = samples, .lost = lost,
			.has_coverage = true, .coverage = dt > 0 ? (on_ns > dt ? 1.0 : on_ns / dt) : 0.0,
			.has_overhead = r->nok && o->calibrate, .overhead_pct = dt > 0 ? 100.0 * ovh_ns / dt : 0.0,
			.has_live = windowed, .live = dt > 0 ? (live_ns > dt ? 1.0 : live_ns / dt) : 0.0,
		};
		sampler_tick(r->smp, &tk);
		stream_tick(t->out, &tk);
		if (fflush(t->out) || ferror(t->out)) {
			L->reason = "error"; /* nobody reads us any more */
			running = false;
		}
		tick_start = now;
		seq++;
		if (r->nok && o->calibrate && o->recalibrate_s > 0 && o->max_overhead_pct <= 0 &&
		    (double)(now - last_recal) >= o->recalibrate_s * 1e9 && !(L->reason && !strcmp(L->reason, "error"))) {
			/* the probe cost drifts: measured again after each interval, the last one too, so
			 * every interval has a calibration on either side. Not under --max-overhead: its
			 * windows are timed per interval, and the budget is about cost, not accuracy. */
			recalibrate_stages(t, seq);
			last_recal = now;
		}
	}
	if (t->skel)
		t->skel->bss->counting = 0;
}
