/* copies.c: a target whose functions GCC copies at -O3 (test/integration/stage-copies.test.ts).
 * work() becomes two entry copies, work.isra.0 (k from the command line) and
 * work.constprop.0.isra.0 (k = 3); lone() exists only as lone.isra.0; tick() is a static function
 * of this file and of copies_b.c, two same-named locals. Protocol of nested.c: prints "ready",
 * then for each "go N" line runs N rounds and prints "done N". */
#include <stdio.h>
#include <stdlib.h>

struct pkt { int len; int proto; char pad[64]; };

int tick_b(int);

static __attribute__((noinline)) int work(const struct pkt *p, int k)
{
	int s = 0;

	for (int i = 0; i < p->len; i++)
		s += (i * k) ^ (s >> 3);
	return s;
}

static __attribute__((noinline)) int lone(const struct pkt *p)
{
	int s = p->proto;

	for (int i = 0; i < p->len; i++)
		s = s * 31 + i;
	return s;
}

static __attribute__((noinline)) int tick(int v)
{
	__asm__ volatile("" ::: "memory");
	return v * 7 + 1;
}

int main(int argc, char **argv)
{
	struct pkt p = { .len = 200, .proto = 17 };
	int k = argc > 1 ? atoi(argv[1]) : 5;
	volatile int sink = 0;
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		int n = atoi(line + 3);

		for (int i = 0; i < n; i++) {
			p.len = 200 + (i & 7);
			sink += work(&p, 3);
			sink += work(&p, k);
			sink += lone(&p);
			sink += tick(i) + tick_b(i);
		}
		printf("done %d\n", n);
	}
	return sink == 12345;
}
