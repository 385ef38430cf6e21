/* scan_nofp.c — a target for the sampler's stack-scanning fallback: nofp_work is compiled without
 * a frame pointer and is called by stage_outer, which has one. A frame-pointer walk from inside
 * nofp_work reads stage_outer's saved %rbp and so skips stage_outer (its caller's caller, main,
 * comes next); the scan of the stack finds stage_outer's return address again.
 * Usage: scan_nofp [SECONDS] (default 30); prints "ready PID" once running. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long long sink;

/* optimize() keeps the whole file at -fno-omit-frame-pointer except this function */
__attribute__((noinline, optimize("omit-frame-pointer"))) unsigned long long
nofp_work(unsigned long long n)
{
	unsigned long long x = sink;
	for (unsigned long long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + i;
	return x;
}

/* uses the result after the call, so the call is not a tail call and its return address stays */
__attribute__((noinline)) void stage_outer(unsigned long long n)
{
	sink = nofp_work(n) + 1;
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
		stage_outer(2000000);
	return 0;
}
