/* spin_hostile.c — a CPU-bound target whose hot functions have names no C identifier could have
 * (asm labels): quotes, a backslash, HTML, a tab, and a byte that is not UTF-8. A symbolizer and
 * stream writer must carry them through as exact, valid JSON. Usage: spin_hostile [SECONDS]. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* gas wants these quoted, with '"' and '\\' escaped; the names in the ELF file are
 *   we"ird\name <img src=x onerror=alert(1)>	$      (a tab before '$')
 *   bad\xffutf8 (the lone byte 0xff) */
__attribute__((noinline, used)) void hostile(unsigned long long n)
	__asm__("\"we\\\"ird\\\\name <img src=x onerror=alert(1)>\t$\"");
__attribute__((noinline, used)) void badutf(unsigned long long n) __asm__("\"bad\xffutf8\"");

volatile unsigned long long sink;

void hostile(unsigned long long n)
{
	unsigned long long x = sink;
	for (unsigned long long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + i;
	sink = x;
}

void badutf(unsigned long long n)
{
	unsigned long long x = sink;
	for (unsigned long long i = 0; i < n; i++)
		x = x * 2862933555777941757ull + i;
	sink = x;
}

/* gas takes such names in data (.quad), not as instruction operands: call through pointers */
void (*volatile call_hostile)(unsigned long long) = hostile;
void (*volatile call_badutf)(unsigned long long) = badutf;

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
	while (now() < end) {
		call_hostile(2000000);
		call_badutf(2000000);
	}
	return 0;
}
