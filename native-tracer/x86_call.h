/* x86_call.h — reads x86-64 call instructions and frame-pointer prologues from code bytes, for
 * the stack scan (is a stack word a return address? does a function keep a frame pointer?). */
#ifndef PKTPATH_X86_CALL_H
#define PKTPATH_X86_CALL_H
#include <stdbool.h>

/* Whether the 8 bytes before a return address (b[0..8)) end in an indirect call (ff /2). */
bool x86_ends_in_indirect_call(const unsigned char b[8]);

/* The displacement of the direct call (e8 rel32) in b[0..5); false when it is not one. */
bool x86_direct_call(const unsigned char b[5], int *rel);

/* Length of the `[endbr64] push %rbp; mov %rsp,%rbp` prologue that b[0..8) starts with; 0 when
 * it has none (the function keeps no frame pointer). */
unsigned x86_fp_prologue_len(const unsigned char b[8]);
#endif
