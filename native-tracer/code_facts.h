/* code_facts.h — what the code at a user address is, read from the mapped ELF file (never from
 * the process, where uprobes replace instructions) and remembered: is it a return site, does its
 * function keep a frame pointer. The stack unwinders ask; answers are cached per address. */
#ifndef PKTPATH_CODE_FACTS_H
#define PKTPATH_CODE_FACTS_H
#include <stdbool.h>

struct symbolizer;
struct code_facts;

struct code_facts *code_facts_new(struct symbolizer *sym);
void code_facts_free(struct code_facts *c);

/* Whether the instruction ending at addr is a call: e8 rel32 into code of the process, or ff /2. */
bool code_is_return_address(struct code_facts *c, unsigned long long addr);

/* Length of the frame-pointer prologue the function starting at fn begins with; 0: none. */
unsigned code_fp_prologue_len(struct code_facts *c, unsigned long long fn);

/* Whether the frame-pointer walk can vouch for the caller of the frame at addr: its function
 * begins with that prologue and addr is past it. */
bool code_has_frame_pointer(struct code_facts *c, unsigned long long addr);

/* The target of the direct call (e8 rel32) that ends at addr, or 0 when it is not one. */
unsigned long long code_direct_call_target(struct code_facts *c, unsigned long long addr);

/* The start of the function covering addr (from the ELF symbols), or 0 when none is known. */
unsigned long long code_function_start(struct code_facts *c, unsigned long long addr);
#endif
