/* insn_walk.c — see insn_walk.h. A uprobe's int3 written inside an instruction changes what the
 * target executes (it crashes, or computes garbage), so an address is accepted only as a decoded
 * boundary. Lengths come from capstone, which reloc.c already links: x86-64 lengths need the whole
 * opcode map (prefixes, VEX/EVEX, ModRM/SIB, immediates), which a table of our own would repeat. */
#include <capstone/capstone.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elfsym.h"
#include "fail_msg.h"
#include "fde_ranges.h"
#include "insn_walk.h"

/* functions longer than this are not walked (no compiler emits them; the read stays bounded) */
#define WALK_MAX (4u << 20)

static int open_cs(csh *h)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -1;
	cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

int insn_text(const unsigned char *code, size_t n, unsigned long long vaddr, char *text, size_t len)
{
	const uint8_t *p = code;
	uint64_t a = vaddr;
	cs_insn *in;
	csh h;
	int size = 0;

	if (open_cs(&h))
		return 0;
	in = cs_malloc(h);
	if (in && cs_disasm_iter(h, &p, &n, &a, in)) {
		snprintf(text, len, "%s%s%s", in->mnemonic, in->op_str[0] ? " " : "", in->op_str);
		size = in->size;
	}
	if (in)
		cs_free(in, 1);
	cs_close(&h);
	return size;
}

/* How far above the stack pointer the return address lies at vaddr, by the .eh_frame CFI
 * (CFA = rsp + N: the return address is at CFA - 8). -1: no CFI rule of that form covers vaddr. */
static long long return_addr_offset(const char *path, unsigned long long vaddr)
{
	char err[256];
	long long off = -1;
	Dwarf_CFI *cfi;
	Dwarf_Frame *fr = NULL;
	Dwarf_Op *ops;
	size_t nops;
	int fd;
	Elf *elf = elf_open(path, &fd, err, sizeof(err));

	if (!elf)
		return -1;
	cfi = dwarf_getcfi_elf(elf);
	if (cfi && !dwarf_cfi_addrframe(cfi, vaddr, &fr) && !dwarf_frame_cfa(fr, &ops, &nops) && nops == 1 &&
	    ((ops[0].atom == DW_OP_bregx && ops[0].number == 7) || ops[0].atom == DW_OP_breg7))
		off = (long long)(ops[0].atom == DW_OP_bregx ? ops[0].number2 : ops[0].number) - 8;
	free(fr);
	if (cfi)
		dwarf_cfi_end(cfi);
	elf_end(elf);
	close(fd);
	return off;
}

/* Without a symbol (a stripped binary), the function is the .eh_frame FDE range that covers vaddr,
 * named by its start. 0: found. */
static int fde_function(const char *path, unsigned long long vaddr, struct elf_func *f)
{
	char err[256];
	struct fde_span *r = NULL;
	const struct fde_span *hit;
	size_t n;
	int fd;
	Elf *elf = elf_open(path, &fd, err, sizeof(err));

	if (!elf)
		return -1;
	n = fde_ranges_read(elf, &r);
	hit = n ? fde_ranges_find(r, n, vaddr) : NULL;
	if (hit) {
		snprintf(f->name, sizeof(f->name), "fn_%llx", hit->start);
		f->start = hit->start;
		f->size = hit->size;
	}
	free(r);
	elf_end(elf);
	close(fd);
	return hit ? 0 : -1;
}

int offset_check(const char *path, unsigned long long vaddr, char *msg, size_t len)
{
	const char *force = "(--force-unchecked-offsets probes it anyway)";
	const int unchecked = -2; /* cannot be told */
	unsigned long long start, file_off, size, walked;
	unsigned char head[16], *code = NULL;
	const uint8_t *p;
	struct elf_func f;
	struct elf_copies copies;
	size_t ncode, n, left;
	uint64_t a;
	cs_insn *in = NULL;
	csh h;
	int fd = -1, rc;

	rc = elf_containing_function(path, vaddr, &f, msg, len);
	if (rc < 0)
		return -1;
	if (rc > 0 && !fde_function(path, vaddr, &f))
		rc = 0;
	if (rc > 0)
		return fail_msg(msg, len, "no function symbol or unwind entry (.eh_frame FDE) of %s covers 0x%llx, so it cannot be checked to start an "
				"instruction (a probe inside one breaks the target) %s", path, vaddr, force) + unchecked + 1;
	if (vaddr == f.start)
		return 0;
	walked = vaddr - f.start;
	if (walked > WALK_MAX)
		return fail_msg(msg, len, "0x%llx is 0x%llx bytes into %s, too far to decode from its start %s", vaddr,
				walked, f.name, force) + unchecked + 1;
	start = f.start;
	if (elf_locate(path, NULL, &start, &file_off, &size, head, &ncode, &copies, msg, len))
		return -1;
	n = (size_t)walked + 16;
	code = malloc(n);
	fd = open_regular(path, msg, len);
	if (!code || fd < 0) {
		free(code);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -1 : fail_msg(msg, len, "out of memory");
	}
	ssize_t got = pread(fd, code, n, (off_t)file_off);
	close(fd);
	if (got < (ssize_t)walked) {
		free(code);
		return fail_msg(msg, len, "cannot read the code of %s in %s", f.name, path);
	}
	if (open_cs(&h)) {
		free(code);
		return fail_msg(msg, len, "cannot start the x86-64 decoder");
	}
	in = cs_malloc(h);
	p = code;
	left = (size_t)got;
	a = f.start;
	rc = -1;
	while (in && a < vaddr) {
		uint64_t at = a;

		if (!cs_disasm_iter(h, &p, &left, &a, in)) {
			rc = unchecked;
			fail_msg(msg, len, "the code of %s does not decode at %s+0x%llx (0x%llx), before 0x%llx: its "
				 "instruction boundaries are unknown %s", f.name, f.name, (unsigned long long)(at - f.start),
				 (unsigned long long)at, vaddr, force);
			goto out;
		}
		if (a > vaddr) {
			fail_msg(msg, len, "0x%llx (%s+0x%llx) is inside the %u-byte instruction '%s%s%s' at 0x%llx; the nearest "
				 "instruction boundaries are 0x%llx (%s+0x%llx, before) and 0x%llx (%s+0x%llx, after)",
				 vaddr, f.name, walked, in->size, in->mnemonic, in->op_str[0] ? " " : "", in->op_str,
				 (unsigned long long)at, (unsigned long long)at, f.name, (unsigned long long)(at - f.start),
				 (unsigned long long)a, f.name, (unsigned long long)(a - f.start));
			goto out;
		}
	}
	if (!in) {
		fail_msg(msg, len, "out of memory");
		goto out;
	}
	/* A stage times its return too: the kernel's return probe replaces the word at the stack
	 * pointer, which past the function's first push is a saved register, not the return address
	 * (a probe at kc+0x8 after push %rbp crashed the target through its clobbered frame pointer). */
	long long ra = return_addr_offset(path, vaddr);
	if (ra != 0) {
		char where[96];

		if (ra < 0)
			rc = unchecked;
		if (ra > 0)
			snprintf(where, sizeof(where), "the return address is %lld bytes above the stack pointer", ra);
		else
			snprintf(where, sizeof(where), "no call frame information says where the return address is");
		fail_msg(msg, len, "0x%llx (%s+0x%llx) starts an instruction, but there %s: the stage's return probe "
			 "%s overwrite a word of %s's own frame and break the target. Probe the function's start "
			 "(0x%llx) or a USDT probe%s%s", vaddr, f.name, walked, where, ra > 0 ? "would" : "could", f.name,
			 f.start, ra > 0 ? "" : " ", ra > 0 ? "" : force);
		goto out;
	}
	rc = 0;
out:
	if (in)
		cs_free(in, 1);
	cs_close(&h);
	free(code);
	return rc;
}
