/* cal_sites.c — the calibration sites: functions inside this binary whose first instruction is of
 * each class a stage's site can have, with an unprobed twin each, and the class a stage's site
 * belongs to. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/sdt.h>
#include "calibrate.h"

/* Calibration functions whose first instruction is of a known kind, each calling the same body of
 * fixed work (~0.4 us). Written in assembly so no compiler option (CET, shrink-wrapping, -pg) can
 * change what the kernel sees at the probed address. The body matters: after the breakpoint trap
 * the function's own code runs slower (caches and predictors disturbed by the kernel round trip,
 * ~150 ns measured here), which an empty function would not show. */
#define CAL_SITE(name, ...) CAL_SITE_(name, __VA_ARGS__)
#define CAL_SITE_(name, first, last)                                                               \
	".p2align 4\n.globl " name "\n.type " name ",@function\n" name ":\n\t" first                  \
	"\n\tcall pktpath_cal_body\n\t" last "\n\tret\n.size " name ",.-" name "\n"
#define PUSH_FIRST "push %rbp\n\tmov %rsp,%rbp", "pop %rbp"
#define NOP5_FIRST ".byte 0x0f,0x1f,0x44,0x00,0x00\n\tpush %rbp\n\tmov %rsp,%rbp", "pop %rbp"
#define SSTEP_FIRST "sub $0x8,%rsp", "add $0x8,%rsp"
/* A RIP-relative first instruction costs more to single-step: the kernel rewrites it to address
 * through a scratch register and restores that register afterwards (measured: ~0.5 us here). */
#define SSTEP_RIP_FIRST "mov pktpath_cal_sink(%rip),%rax", "nop"
/* A single-stepped site whose entry timestamp reloc.c moved to a later, emulated instruction: the
 * return probe (and its single-step) at the first byte, the entry probe on the push after it. The
 * label marks where the entry probe goes. */
#define RELOC_FIRST(at) "mov pktpath_cal_sink(%rip),%rax\n" at ":\n\tpush %rbp\n\tmov %rsp,%rbp", "pop %rbp"
/* The same with the entry on a conditional jump, as in `mov x(%rip),%rsi; test %rsi,%rsi; je ...`:
 * the kernel emulates a branch more cheaply than a push (no store to the user stack), ~40-90 ns
 * here, so a branch entry calibrated with a push one read that much low. */
#define RELOC_BR_FIRST(at) "mov pktpath_cal_sink(%rip),%rax\n\ttest %rax,%rax\n" at ":\n\tje 1f\n1:\n\tpush %rbp\n\tmov %rsp,%rbp", \
	"pop %rbp"
__asm__(".text\n"
	CAL_SITE("pktpath_cal_reloc", RELOC_FIRST("pktpath_cal_reloc_at"))
	CAL_SITE("pktpath_cal_reloc_ref", RELOC_FIRST("pktpath_cal_reloc_ref_at"))
	CAL_SITE("pktpath_cal_relocbr", RELOC_BR_FIRST("pktpath_cal_relocbr_at"))
	CAL_SITE("pktpath_cal_relocbr_ref", RELOC_BR_FIRST("pktpath_cal_relocbr_ref_at"))
	CAL_SITE("pktpath_cal_push", PUSH_FIRST)
	CAL_SITE("pktpath_cal_nop", NOP5_FIRST)
	CAL_SITE("pktpath_cal_sstep", SSTEP_FIRST)
	CAL_SITE("pktpath_cal_ssrip", SSTEP_RIP_FIRST)
	/* the same code again, never probed: the untraced reference for each batch */
	CAL_SITE("pktpath_cal_push_ref", PUSH_FIRST)
	CAL_SITE("pktpath_cal_nop_ref", NOP5_FIRST)
	CAL_SITE("pktpath_cal_sstep_ref", SSTEP_FIRST)
	CAL_SITE("pktpath_cal_ssrip_ref", SSTEP_RIP_FIRST));

volatile unsigned long pktpath_cal_sink;

__attribute__((noinline, used, visibility("hidden"))) void pktpath_cal_body(void)
{
	unsigned long x = pktpath_cal_sink;

	for (int i = 0; i < 200; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL; /* a dependent chain */
	pktpath_cal_sink = x;
}

void pktpath_cal_push(void);
void pktpath_cal_nop(void);
void pktpath_cal_sstep(void);
void pktpath_cal_push_ref(void);
void pktpath_cal_nop_ref(void);
void pktpath_cal_sstep_ref(void);

__attribute__((noinline)) void pktpath_cal_usdt(void)
{
	DTRACE_PROBE(pktpath_cal, hit);
	pktpath_cal_body();
}

__attribute__((noinline)) void pktpath_cal_usdt_ref(void)
{
	DTRACE_PROBE(pktpath_cal, ref);
	pktpath_cal_body();
}

void pktpath_cal_ssrip(void);
void pktpath_cal_ssrip_ref(void);
void pktpath_cal_reloc(void);
void pktpath_cal_reloc_at(void);
void pktpath_cal_reloc_ref(void);
void pktpath_cal_relocbr(void);
void pktpath_cal_relocbr_at(void);
void pktpath_cal_relocbr_ref(void);


const char *const cal_names[CAL_NCLASS] = { "push", "nop", "single_step", "usdt", "tracepoint", "single_step",
					    "single_step", "single_step" };
const char *const cal_methods[CAL_NCLASS] = {
	[CAL_PUSH] = "self-probe", [CAL_NOP] = "self-probe", [CAL_SSTEP] = "self-probe", [CAL_USDT] = "self-probe",
	[CAL_TP] = "self-probe:raw_syscalls:sys_enter", [CAL_SSRIP] = "self-probe:rip-relative",
	[CAL_RELOC] = "self-probe:relocated-entry", [CAL_RELOC_BR] = "self-probe:relocated-entry:branch",
};
void (*const cal_ref[CAL_NCLASS])(void) = {
	[CAL_PUSH] = pktpath_cal_push_ref, [CAL_NOP] = pktpath_cal_nop_ref, [CAL_SSTEP] = pktpath_cal_sstep_ref,
	[CAL_USDT] = pktpath_cal_usdt_ref, [CAL_SSRIP] = pktpath_cal_ssrip_ref, [CAL_RELOC] = pktpath_cal_reloc_ref,
	[CAL_RELOC_BR] = pktpath_cal_relocbr_ref,
};
void (*const cal_probed[CAL_NCLASS])(void) = {
	[CAL_PUSH] = pktpath_cal_push, [CAL_NOP] = pktpath_cal_nop, [CAL_SSTEP] = pktpath_cal_sstep,
	[CAL_USDT] = pktpath_cal_usdt, [CAL_SSRIP] = pktpath_cal_ssrip, [CAL_RELOC] = pktpath_cal_reloc,
	[CAL_RELOC_BR] = pktpath_cal_relocbr,
};

unsigned long cal_entry_delta(enum cal_class c)
{
	/* the entry probe where reloc.c would put it for such a site: on the push after the first insn */
	if (c == CAL_RELOC)
		return (uintptr_t)pktpath_cal_reloc_at - (uintptr_t)pktpath_cal_reloc;
	if (c == CAL_RELOC_BR)
		return (uintptr_t)pktpath_cal_relocbr_at - (uintptr_t)pktpath_cal_relocbr;
	return 0;
}

/* file offset of a function of this process, from /proc/self/maps (works on a stripped tracer) */
int cal_self_site(void (*fn)(void), char *path, size_t plen, unsigned long long *off)
{
	uintptr_t a = (uintptr_t)fn;
	char line[4352];
	FILE *fp = fopen("/proc/self/maps", "re");
	int rc = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long lo, hi, pgoff;
		char perm[8], file[4097] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4096[^\n]", &lo, &hi, perm, &pgoff, file) < 4)
			continue;
		if (a >= lo && a < hi && file[0] == '/') {
			*off = a - lo + pgoff;
			snprintf(path, plen, "%s", file);
			rc = 0;
			break;
		}
	}
	fclose(fp);
	return rc;
}

/* Whether an instruction addresses memory relative to RIP (ModRM mod=00 rm=101), for the common
 * one- and two-byte opcodes that take a ModRM byte. Unknown forms count as not RIP-relative. */
static bool rip_relative(const unsigned char *p, size_t n)
{
	size_t i = 0;
	unsigned char op;

	while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e ||
			 p[i] == 0x3e || p[i] == 0x26 || p[i] == 0x36 || p[i] == 0x64 || p[i] == 0x65))
		i++;
	if (i < n && (p[i] & 0xf0) == 0x40)
		i++; /* REX */
	if (i + 1 >= n)
		return false;
	op = p[i++];
	if (op == 0x0f) {
		unsigned char op2 = p[i++];
		if (i >= n || op2 == 0x05 || op2 == 0x31 || op2 == 0xa2 || (op2 >= 0x80 && op2 <= 0x8f) ||
		    (op2 >= 0xc8 && op2 <= 0xcf))
			return false; /* syscall, rdtsc, cpuid, jcc, bswap: no ModRM */
		if (op2 == 0x38 || op2 == 0x3a)
			i++;
	} else if (!((op < 0x40 && (op & 7) < 4) || op == 0x63 || op == 0x69 || op == 0x6b ||
		     (op >= 0x80 && op <= 0x8f) || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
		     (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff)) {
		return false;
	}
	return i < n && (p[i] & 0xc7) == 0x05;
}

enum cal_class cal_class_of(struct stage_rt *s)
{
	switch (s->sp->kind) {
	case PKTPATH_KIND_USDT: return CAL_USDT;
	case PKTPATH_KIND_TRACEPOINT: return CAL_TP;
	case PKTPATH_KIND_UPROBE:
		if (s->relocated) /* entry timestamp on an emulated instruction after the single-step */
			return s->reloc.insn.cls == INSN_PUSH ? CAL_RELOC : CAL_RELOC_BR;
		if (s->insn.cls == INSN_PUSH || s->insn.cls == INSN_BRANCH)
			return CAL_PUSH; /* emulated after the breakpoint trap */
		if (s->insn.cls == INSN_NOP)
			return CAL_NOP; /* nop5: optimized into a trampoline call */
		return rip_relative(s->code, s->ncode) ? CAL_SSRIP : CAL_SSTEP;
	default: return CAL_NCLASS;
	}
}
