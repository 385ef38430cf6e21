/* spin.c — a CPU-bound target for the sampler tests: hot_a burns ~3x the CPU of hot_b.
 * Both are noinline and built with frame pointers so every sample's stack names one of them.
 * Usage: spin [SECONDS] (default 30); prints "ready PID" once running. */
#include <stdio.h>
#include <stdlib.h>
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
	double secs = argc > 1 ? atof(argv[1]) : 30, end = now() + secs;

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (now() < end) {
		/* same loop body in both, so the 3:1 iteration ratio is a 3:1 CPU ratio */
		hot_a(3000000);
		hot_b(1000000);
	}
	return 0;
}
