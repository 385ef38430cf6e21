/* callback_chain.c — a target for unwinding without frame pointers through a library: main calls a
 * static function that sorts with libc's qsort, whose comparator (called from inside libc, which has
 * no frame pointers on Debian) inlines a helper. Built -O2 -g without frame pointers by the tests.
 * Usage: callback_chain [SECONDS] (default 30); prints "ready PID" once running. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define N 4096
static unsigned keys[N];

static inline __attribute__((always_inline)) unsigned key_of(unsigned v)
{
	v ^= v >> 13;
	v *= 0x5bd1e995u;
	return v ^ (v >> 15);
}

static int by_key(const void *a, const void *b)
{
	unsigned x = key_of(*(const unsigned *)a), y = key_of(*(const unsigned *)b);
	return x < y ? -1 : x > y;
}

static __attribute__((noinline)) void sort_round(unsigned seed)
{
	for (int i = 0; i < N; i++)
		keys[i] = seed * 2654435761u + (unsigned)i * 40503u;
	qsort(keys, N, sizeof(keys[0]), by_key);
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
	unsigned seed = 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (now() < end)
		sort_round(seed++);
	return keys[0] == 42;
}
