/* inline_chain.c — a target for symbolizing stripped code: the hot loop is a static function (no
 * .dynsym entry: a stripped build has no name for it) into which two helpers are inlined, one inside
 * the other; a static caller calls it. Built with -g and then stripped by the tests.
 * Usage: inline_chain [SECONDS] (default 30); prints "ready PID" once running. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long long sink;

static inline __attribute__((always_inline)) unsigned long long mix_step(unsigned long long x, unsigned long long i)
{
	return x * 6364136223846793005ull + (i ^ (x >> 29));
}

static inline __attribute__((always_inline)) unsigned long long mix_round(unsigned long long x, unsigned long long n)
{
	for (unsigned long long i = 0; i < n; i++)
		x = mix_step(x, i);
	return x;
}

static __attribute__((noinline)) void hot_static(unsigned long long n)
{
	sink = mix_round(sink, n);
}

static __attribute__((noinline)) void caller_static(unsigned long long n)
{
	hot_static(n);
	__asm__ volatile("" ::: "memory"); /* keep the call a call, not a tail jump */
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 30);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (now() < end)
		caller_static(2000000);
	return 0;
}
