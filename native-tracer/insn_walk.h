/* insn_walk.h — instruction boundaries of x86-64 code, decoded from a function's start. */
#ifndef PKTPATH_INSN_WALK_H
#define PKTPATH_INSN_WALK_H
#include <stddef.h>

/* Is vaddr (an ELF virtual address of the file at path) the first byte of an instruction? Decoded
 * from the start of the function symbol that covers it. 0: yes. -1: no, or it cannot be told (no
 * symbol covers it, the code does not decode): a one-line message in msg naming the function and,
 * for an address inside an instruction, the nearest boundaries before and after it. */
int offset_check(const char *path, unsigned long long vaddr, char *msg, size_t len);

/* One instruction at code as text (AT&T syntax, as objdump prints it) and its length; 0 when the
 * bytes do not decode. */
int insn_text(const unsigned char *code, size_t n, unsigned long long vaddr, char *text, size_t len);
#endif
