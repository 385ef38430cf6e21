/* insn_walk.h — instruction boundaries of x86-64 code, decoded from a function's start. */
#ifndef PKTPATH_INSN_WALK_H
#define PKTPATH_INSN_WALK_H
#include <stddef.h>

/* May a stage (entry and return probe) go at vaddr, an ELF virtual address of the file at path?
 * Only at the first byte of an instruction, decoded from the start of the function symbol (in a
 * stripped binary: the .eh_frame FDE) that covers it, where the return address is at the stack
 * pointer (.eh_frame CFI). 0: yes. -1: no (inside an instruction: msg names the nearest boundaries
 * before and after it and the function; or past the function's pushes). -2: cannot be told (nothing
 * covers it, the code does not decode, no CFI). msg: one line. */
int offset_check(const char *path, unsigned long long vaddr, char *msg, size_t len);

/* One instruction at code as text (AT&T syntax, as objdump prints it) and its length; 0 when the
 * bytes do not decode. */
int insn_text(const unsigned char *code, size_t n, unsigned long long vaddr, char *text, size_t len);
#endif
