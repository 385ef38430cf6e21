/* spin.c — a CPU-bound target for the sampler tests: hot_a burns ~3x the CPU of hot_b.
 * Both are noinline and built with frame pointers so every sample's stack names one of them.
 * Usage: spin [SECONDS] (default 30) | spin --rounds N; prints "ready PID" once running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long long sink;

__attribute__((noinline)) void hot_a(unsigned long long n)
{
	unsigned long long x = sink;
	for (unsigned long long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + i;
	sink = x;
}

__attribute__((noinline)) void hot_b(unsigned long long n)
{
	unsigned long long x = sink;
	for (unsigned long long i = 0; i < n; i++)
		x = x * 2862933555777941757ull + i;
	sink = x;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct timespec c0, c1;
	double w0 = now(), end, secs;
	long rounds = -1;

	/* "--rounds N": a fixed amount of work, then its CPU and wall time (overhead measurements) */
	if (argc > 2 && !strcmp(argv[1], "--rounds"))
		rounds = atol(argv[2]);
	secs = rounds < 0 && argc > 1 ? atof(argv[1]) : 30;
	end = w0 + secs;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (long r = 0; rounds < 0 ? now() < end : r < rounds; r++) {
		/* same loop body in both, so the 3:1 iteration ratio is a 3:1 CPU ratio */
		hot_a(3000000);
		hot_b(1000000);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	if (rounds >= 0)
		printf("cpu_s %.6f wall_s %.6f\n",
		       (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9, now() - w0);
	return 0;
}
