/* reloc.h — where to take a single-stepped function's entry timestamp instead of its first byte. */
#ifndef PKTPATH_RELOC_H
#define PKTPATH_RELOC_H
#include <stddef.h>
#include "insn.h"

/* at most this many instructions may run untimed before the relocated entry */
#define RELOC_MAX_PREFIX 8

struct reloc {
	unsigned off;          /* bytes after the function's start: an instruction the kernel emulates */
	unsigned skipped;      /* instructions before it, which run untimed */
	struct insn_info insn; /* the instruction at off */
	char prefix[96];       /* those instructions, as text ("mov; test") */
	char why[200];         /* when not relocated: why not */
};

/* fn: the whole function (n bytes, its ELF symbol size), vaddr: its address (branch targets are
 * absolute). keep_arg: a SysV argument (0..4) the stage reads at entry, which no instruction before
 * the new entry may write; -1 for none. 0: relocated, *r filled; -1: not, r->why says why. */
int entry_relocate(const unsigned char *fn, size_t n, unsigned long long vaddr, int keep_arg, struct reloc *r);
#endif
