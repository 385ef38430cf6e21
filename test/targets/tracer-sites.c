/* tracer-sites.c — functions whose first instruction is of a known kind, for the tracer's
 * first-instruction decoding tests. Prints "ready"; on "run N" it times N calls of every site
 * (median per call, ns) and prints one JSON line per site, so a test can see what a probe really
 * costs at each kind of site. Each site is assembly, so the compiler cannot change its first bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SITE(name, first) \
	".p2align 4\n.globl " name "\n.type " name ",@function\n" name ":\n\t" first "\n\tret\n.size " name ",.-" name "\n"
__asm__(".text\n"
	SITE("site_push", "push %rbp\n\tpop %rbp")
	SITE("site_nop5", ".byte 0x0f,0x1f,0x44,0x00,0x00")
	SITE("site_nop4", ".byte 0x0f,0x1f,0x40,0x00")
	SITE("site_nop4x", ".byte 0x0f,0x1f,0x04,0x00") /* a 4-byte nop with a SIB byte: not canonical */
	SITE("site_nop1", "nop")
	SITE("site_endbr", "endbr64")
	SITE("site_mov", "mov %rdi,%rax")
	SITE("site_sub", "sub $0x8,%rsp\n\tadd $0x8,%rsp")
	SITE("site_lea", "lea 0x1(%rdi),%rax")
	SITE("site_jmp", "jmp 1f\n1:"));

void site_push(void), site_nop5(void), site_nop4(void), site_nop4x(void), site_nop1(void), site_endbr(void), site_mov(void),
	site_sub(void), site_lea(void), site_jmp(void);
static const struct { const char *name; void (*fn)(void); } sites[] = {
	{ "site_push", site_push }, { "site_nop5", site_nop5 }, { "site_nop4", site_nop4 }, { "site_nop4x", site_nop4x },
	{ "site_nop1", site_nop1 }, { "site_endbr", site_endbr }, { "site_mov", site_mov },
	{ "site_sub", site_sub }, { "site_lea", site_lea }, { "site_jmp", site_jmp },
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	static double d[100000];
	char buf[64];
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(buf, sizeof(buf), stdin)) {
		if (sscanf(buf, "run %d", &n) != 1 || n < 1 || n > 100000)
			continue;
		for (size_t s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
			for (int i = 0; i < n; i++) {
				struct timespec a, b;
				clock_gettime(CLOCK_MONOTONIC, &a);
				sites[s].fn();
				clock_gettime(CLOCK_MONOTONIC, &b);
				d[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
			}
			qsort(d, n, sizeof(d[0]), cmp);
			printf("{\"site\":\"%s\",\"ns\":%.1f}\n", sites[s].name, d[n / 2]);
		}
		printf("done %d\n", n);
	}
	return 0;
}
