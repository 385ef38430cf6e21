/* insn.c — a deliberately small x86-64 decoder for the first instruction of a function. The kernel
 * (arch/x86/kernel/uprobes.c) emulates push of a register, the canonical nops (the encodings of
 * asm/nops.h) and relative branches/calls after its breakpoint trap; recent kernels turn a probed
 * 5-byte nop (0f 1f 44 00 00) into a call to a uprobe trampoline, cheaper still. Everything else,
 * non-canonical nops such as 0f 1f 04 00 included, is copied out of line and single-stepped.
 * test/targets/tracer-sites.c measures each kind on the running kernel. */
#include <stdio.h>
#include <string.h>
#include "insn.h"
#include "insn_walk.h"

static const char *reg64[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				 "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

int insn_single_stepped(enum insn_class c)
{
	return c == INSN_SINGLE_STEP || c == INSN_UNKNOWN;
}

/* length of a ModRM operand (modrm byte included), for 32/64-bit addressing */
static int modrm_len(const unsigned char *p, size_t n)
{
	unsigned mod, rm;
	int len = 1;

	if (n < 1)
		return -1;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod != 3 && rm == 4) {
		if (n < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		len += 4;
	return len;
}

static void set(struct insn_info *o, enum insn_class c, int len, const char *fmt, const char *arg)
{
	o->cls = c;
	o->len = len;
	snprintf(o->text, sizeof(o->text), fmt, arg);
}

/* the multi-byte nops of the kernel's asm/nops.h, which its uprobe code recognizes */
static const unsigned char canonical_nops[][8] = {
	{ 2, 0x66, 0x90 },
	{ 3, 0x0f, 0x1f, 0x00 },
	{ 4, 0x0f, 0x1f, 0x40, 0x00 },
	{ 6, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	{ 7, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
};

static int canonical_nop(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(canonical_nops) / sizeof(canonical_nops[0]); i++) {
		size_t len = canonical_nops[i][0];
		if (n >= len && !memcmp(p, &canonical_nops[i][1], len))
			return (int)len;
	}
	if (n >= 8 && !memcmp(p, "\x0f\x1f\x84\x00\x00\x00\x00\x00", 8))
		return 8;
	return 0;
}

/* Opcodes lo..hi that name the instruction alone (no ModRM): its class, length and text. */
static const struct {
	unsigned char lo, hi;
	enum insn_class cls;
	int len;
	const char *text;
} one_byte[] = {
	{ 0x90, 0x90, INSN_BRANCH, 1, "nop" }, /* emulated like a jmp +0: the push path's cost */
	{ 0xe8, 0xe8, INSN_BRANCH, 5, "call rel32" },
	{ 0xe9, 0xe9, INSN_BRANCH, 5, "jmp rel32" },
	{ 0xeb, 0xeb, INSN_BRANCH, 2, "jmp rel8" },
	{ 0x70, 0x7f, INSN_BRANCH, 2, "jcc rel8" },
	{ 0xc3, 0xc3, INSN_SINGLE_STEP, 1, "ret" },
};

void insn_decode(const unsigned char *code, size_t n, struct insn_info *o)
{
	const unsigned char *p = code;
	unsigned rex = 0;
	int pre = 0, osz = 0, m;
	const char *name;

	memset(o, 0, sizeof(*o));
	o->cls = INSN_UNKNOWN;
	snprintf(o->text, sizeof(o->text), "(unknown)");
	if (n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
		set(o, INSN_SINGLE_STEP, 4, "%s", "endbr64");
		return;
	}
	if (n >= 5 && !memcmp(p, "\x0f\x1f\x44\x00\x00", 5)) {
		set(o, INSN_NOP, 5, "%s", "nopl 0x0(%rax,%rax,1) (nop5)");
		return;
	}
	if ((m = canonical_nop(p, n)) > 0) {
		set(o, INSN_BRANCH, m, "%s", "nop (multi-byte, emulated)");
		return;
	}
	while (pre < (int)n && (p[pre] == 0x66 || p[pre] == 0xf2 || p[pre] == 0xf3 || p[pre] == 0x2e)) {
		osz |= p[pre] == 0x66;
		pre++;
	}
	if (pre < (int)n && (p[pre] & 0xf0) == 0x40)
		rex = p[pre++];
	if (pre >= (int)n)
		return;
	p += pre;
	n -= pre;
	for (size_t i = 0; i < sizeof(one_byte) / sizeof(one_byte[0]); i++)
		if (p[0] >= one_byte[i].lo && p[0] <= one_byte[i].hi) {
			set(o, one_byte[i].cls, pre + one_byte[i].len, "%s", one_byte[i].text);
			return;
		}
	switch (p[0]) {
	case 0x50 ... 0x57:
		set(o, INSN_PUSH, pre + 1, "push %%%s", reg64[(p[0] & 7) | ((rex & 1) << 3)]);
		return;
	case 0x0f:
		if (n >= 2 && p[1] == 0x1f && (m = modrm_len(p + 2, n - 2)) > 0) {
			set(o, INSN_SINGLE_STEP, pre + 2 + m, "%s", "nopl (non-canonical multi-byte nop)");
			return;
		}
		if (n >= 2 && p[1] >= 0x80 && p[1] <= 0x8f) {
			set(o, INSN_BRANCH, pre + 6, "%s", "jcc rel32");
			return;
		}
		break;
	case 0x89: case 0x8b: case 0x88: case 0x8a: case 0xc7: case 0xb8 ... 0xbf:
		name = "mov";
		goto single;
	case 0x8d:
		name = "lea";
		goto single;
	case 0x29: case 0x2b: case 0x2d:
		name = "sub";
		goto single;
	case 0x01: case 0x03: case 0x05:
		name = "add";
		goto single;
	case 0x31: case 0x33:
		name = "xor";
		goto single;
	case 0x85: case 0x84: case 0xa8: case 0xa9:
		name = "test";
		goto single;
	case 0x39: case 0x3b: case 0x3d: case 0x38: case 0x3a: case 0x3c:
		name = "cmp";
		goto single;
	case 0x83: case 0x81: {
		static const char *grp[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
		name = n >= 2 ? grp[(p[1] >> 3) & 7] : "alu";
		goto single;
	}
	case 0xff:
		if (n >= 2 && ((p[1] >> 3) & 7) == 6 && (p[1] >> 6) == 3) {
			/* push r/m in register form: the kernel emulates only the 0x50+r encodings */
			set(o, INSN_SINGLE_STEP, pre + 2, "push %%%s (ff /6)", reg64[(p[1] & 7) | ((rex & 1) << 3)]);
			return;
		}
		name = "call/jmp/push indirect";
		goto single;
	case 0x6a: case 0x68:
		name = "push imm";
		goto single;
	default:
		break;
	}
	/* not one the kernel emulates: named as objdump names it, and single-stepped */
	o->cls = INSN_UNKNOWN;
	m = insn_text(code, pre + n, 0, o->text, sizeof(o->text));
	if (m > 0) {
		o->cls = INSN_SINGLE_STEP;
		o->len = m;
	} else {
		snprintf(o->text, sizeof(o->text), "(opcode %02x, not decoded)", p[0]);
	}
	return;
single:
	(void)osz;
	set(o, INSN_SINGLE_STEP, 0, "%s", name);
	o->len = insn_text(code, pre + n, 0, (char[48]){ 0 }, 48);
}
