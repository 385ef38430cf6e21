/* reloc.c — moves a single-stepped site's entry timestamp to the first instruction the kernel
 * emulates.
 *
 * Why: when a function's first instruction must be single-stepped, the single-step (a second trap,
 * 9-20 us here, drifting by hundreds of ns within seconds) falls between the entry probe's timestamp
 * and the function's code, so the stage's measured interval carries it and no calibration can
 * subtract it to within tens of ns. The return probe has to stay at the first byte (the kernel
 * hijacks the return address at %rsp there), so the single-step still happens, and the target still
 * pays for it; but if the entry timestamp is taken at a later instruction that the kernel emulates
 * (push, a relative jmp/jcc/call, a canonical nop), the single-step lies before the interval and the
 * interval carries only an emulated probe's cost, which the calibration measures to within tens of
 * ns. The instructions before it run untimed: a few ns, stated in the stage record.
 *
 * It is only safe when every call runs the new entry exactly once: the instructions before it are
 * straight-line code (no branch, no call), no jump in the whole function lands on them or on it, and
 * the function has no indirect jump (a jump table could). Capstone decodes the whole function to
 * check that: a hand-written length decoder for all of x86-64 is where such tools go wrong. */
#include <capstone/capstone.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "reloc.h"

static bool in_group(const cs_insn *in, uint8_t g)
{
	for (int i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == g)
			return true;
	return false;
}

static bool control_transfer(const cs_insn *in)
{
	return in_group(in, CS_GRP_JUMP) || in_group(in, CS_GRP_CALL) || in_group(in, CS_GRP_RET) ||
	       in_group(in, CS_GRP_INT) || in_group(in, CS_GRP_IRET) || in->id == X86_INS_SYSCALL ||
	       in->id == X86_INS_SYSENTER || in->id == X86_INS_UD2 || in->id == X86_INS_HLT;
}

/* the direct target of a jump or call, or 0 */
static unsigned long long direct_target(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (!(in_group(in, CS_GRP_JUMP) || in_group(in, CS_GRP_CALL)) || x->op_count != 1 ||
	    x->operands[0].type != X86_OP_IMM)
		return 0;
	return (unsigned long long)x->operands[0].imm;
}

static bool writes_arg(csh h, const cs_insn *in, int arg)
{
	static const x86_reg regs[5][4] = {
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B },
	};
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (arg < 0 || arg > 4)
		return false;
	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true; /* cannot tell: assume it does */
	for (int i = 0; i < nwr; i++)
		for (int k = 0; k < 4; k++)
			if (wr[i] == regs[arg][k])
				return true;
	return false;
}

int entry_relocate(const unsigned char *fn, size_t n, unsigned long long vaddr, int keep_arg, struct reloc *r)
{
	bool landed[RELOC_MAX_PREFIX * 15 + 16] = { false };
	cs_insn *in = NULL;
	size_t cnt = 0, decoded = 0;
	csh h;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (n == 0) {
		snprintf(r->why, sizeof(r->why), "the function's size is unknown (no ELF symbol size)");
		return -1;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		snprintf(r->why, sizeof(r->why), "the disassembler failed to start");
		return -1;
	}
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cnt = cs_disasm(h, fn, n, vaddr, 0, &in);
	for (size_t i = 0; i < cnt; i++) {
		unsigned long long t = direct_target(&in[i]);

		decoded += in[i].size;
		if (in_group(&in[i], CS_GRP_JUMP) && !t) {
			snprintf(r->why, sizeof(r->why), "it has an indirect jump (+0x%llx), which could land anywhere",
				 (unsigned long long)(in[i].address - vaddr));
			goto out;
		}
		if (t > vaddr && t - vaddr < sizeof(landed))
			landed[t - vaddr] = true;
	}
	if (cnt < 2 || decoded != n) {
		snprintf(r->why, sizeof(r->why), "its code does not decode as instructions (%zu of %zu bytes)", decoded, n);
		goto out;
	}
	for (size_t i = 1; i < cnt && i <= RELOC_MAX_PREFIX; i++) {
		unsigned off = (unsigned)(in[i].address - vaddr);
		struct insn_info d;

		if (control_transfer(&in[i - 1])) {
			snprintf(r->why, sizeof(r->why), "+0x%x (%s) transfers control before an emulated instruction",
				 (unsigned)(in[i - 1].address - vaddr), in[i - 1].mnemonic);
			goto out;
		}
		if (writes_arg(h, &in[i - 1], keep_arg)) {
			snprintf(r->why, sizeof(r->why), "+0x%x (%s %.60s) writes arg%d, which the stage reads at entry",
				 (unsigned)(in[i - 1].address - vaddr), in[i - 1].mnemonic, in[i - 1].op_str, keep_arg);
			goto out;
		}
		if (off < sizeof(landed) && landed[off]) {
			snprintf(r->why, sizeof(r->why), "a jump in the function lands at +0x%x, before an emulated instruction", off);
			goto out;
		}
		insn_decode(fn + off, n - off, &d);
		if (d.cls == INSN_PUSH || d.cls == INSN_BRANCH) {
			r->off = off;
			r->skipped = (unsigned)i;
			r->insn = d;
			for (size_t k = 0; k < i; k++) {
				size_t len = strlen(r->prefix);
				snprintf(r->prefix + len, sizeof(r->prefix) - len, "%s%s", k ? "; " : "", in[k].mnemonic);
			}
			rc = 0;
			goto out;
		}
	}
	snprintf(r->why, sizeof(r->why), "none of its first %d instructions is one the kernel emulates", RELOC_MAX_PREFIX + 1);
out:
	if (in)
		cs_free(in, cnt);
	cs_close(&h);
	return rc;
}
