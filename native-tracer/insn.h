/* insn.h — names the first x86-64 instruction at a probed site and says whether the kernel's
 * uprobe code emulates it or must single-step it out of line (microseconds per hit here). */
#ifndef PKTPATH_INSN_H
#define PKTPATH_INSN_H
#include <stddef.h>

/* INSN_NOP: the 5-byte nop only; INSN_BRANCH: relative jmp/call/jcc and the 1-byte nop */
enum insn_class { INSN_PUSH, INSN_NOP, INSN_BRANCH, INSN_SINGLE_STEP, INSN_UNKNOWN };

struct insn_info {
	char text[48];
	enum insn_class cls;
	int len; /* 0 when not decoded */
};

void insn_decode(const unsigned char *code, size_t n, struct insn_info *out);
int insn_single_stepped(enum insn_class c);
#endif
