/* run_sampler.c — drives the sampler API alone (no stages), as pktpath.c does each interval:
 *   run_sampler PID|0 HZ SECONDS [INTERVAL_MS]
 * Writes frame/stack/tick records on stdout and, on stderr, the drain time per interval. Used by
 * the sampler tests and for measuring the sampler apart from the rest of the tracer. */
#include "../clock.h"
#include "../sampler.h"
#include "../stream.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char err[512];
	struct sampler *s;
	int pid, hz, ms;
	double secs;
	unsigned long long t0, last, tot_samples = 0, tot_lost = 0, drain_max = 0, drain_sum = 0;
	unsigned seq;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PID|0 HZ SECONDS [INTERVAL_MS]\n", argv[0]);
		return 2;
	}
	pid = atoi(argv[1]);
	hz = atoi(argv[2]);
	secs = atof(argv[3]);
	ms = argc > 4 ? atoi(argv[4]) : 1000;
	t0 = now_ns();
	/* the frame-pointer walk unless RUN_SAMPLER_DWARF gives the stack bytes to copy */
	s = sampler_open(pid, hz, !getenv("RUN_SAMPLER_NO_BPF"),
			 getenv("RUN_SAMPLER_DWARF") ? (unsigned)atoi(getenv("RUN_SAMPLER_DWARF")) : 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "sampler_open: %s\n", err);
		return 1;
	}
	fprintf(stderr, "open_ms=%.1f\n", (now_ns() - t0) / 1e6);
	t0 = last = now_ns();
	for (seq = 0; now_ns() - t0 < secs * 1e9; seq++) {
		unsigned long long samples = 0, lost = 0, a, b;
		usleep(ms * 1000);
		a = now_ns();
		sampler_drain(s, stdout, seq, &samples, &lost);
		b = now_ns();
		/* like pktpath.c: t_ns is the end of the interval, taken just before the drain */
		struct tick_rec tk = { .seq = seq, .t_ns = a, .dt_ns = a - last, .samples = samples, .lost = lost };
		sampler_tick(s, &tk);
		stream_tick(stdout, &tk);
		fflush(stdout);
		last = a;
		tot_samples += samples;
		tot_lost += lost;
		drain_sum += b - a;
		if (b - a > drain_max)
			drain_max = b - a;
	}
	sampler_close(s);
	fprintf(stderr, "intervals=%u samples=%llu lost=%llu drain_mean_us=%.1f drain_max_us=%.1f\n",
		seq, tot_samples, tot_lost, seq ? drain_sum / 1e3 / seq : 0.0, drain_max / 1e3);
	return 0;
}
