/* nested.c — a target for the tracer's nesting tests: outer() calls inner() twice, rec() recurses
 * to depth 5. It waits for "go N" on stdin, runs N rounds, prints "done N", then waits for stdin
 * to close. Each stage function is noinline and spins a little so latencies are well above zero.
 * USDT probes nested:round (arg0 = 3) and nested:after mark each round's start and end. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

volatile unsigned long sink;

__attribute__((noinline, noclone)) void spin(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sink += i;
}

__attribute__((noinline, noclone)) int inner(int x)
{
	spin(2000);
	return x + 1;
}

__attribute__((noinline, noclone)) int outer(int x)
{
	int a = inner(x);
	int b = inner(a);
	sink += b;
	return b;
}

/* rec(5) makes 5 calls of rec in all; the work after the call keeps it a real recursion */
__attribute__((noinline, noclone)) int rec(int n)
{
	int r = 0;

	spin(200);
	if (n > 1)
		r = rec(n - 1);
	sink += r;
	return r + 1;
}

int main(void)
{
	char line[64];
	int rounds;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "go %d", &rounds) != 1)
			continue;
		for (int i = 0; i < rounds; i++) {
			DTRACE_PROBE1(nested, round, 3);
			outer(i);
			rec(5);
			DTRACE_PROBE(nested, after);
		}
		printf("done %d\n", rounds);
	}
	return 0;
}
