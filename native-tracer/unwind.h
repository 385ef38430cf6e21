/* unwind.h — how a sample's user frames are found. A sample source (the BPF program, or the perf
 * rings without BPF) collects what the methods below need; unwind_user() turns it into frames and
 * says, per frame, which method found it. Methods, each in a file of its own:
 *   unwind_fp.c    the kernel's frame-pointer walk, cut where it reads data instead of code;
 *   unwind_scan.c  where the walk passes code without frame pointers: stack words that are
 *                  return addresses, spliced in after the last frame the walk vouches for;
 *   unwind_cfi.c   DWARF CFI over a copy of the user stack (--unwind dwarf), run on the ring
 *                  reader's thread as each sample arrives: its frames come here already found.
 * A new method (e.g. CFI over a copied stack) adds its input to struct user_sample, its file
 * beside these, a FRAME_* value, and a step in unwind_user(). */
#ifndef PKTPATH_UNWIND_H
#define PKTPATH_UNWIND_H
#include "pktpath.h"
#include <stdbool.h>

struct symbolizer;
struct unwinder;

/* how a frame was found (the stream's "found" letter in parentheses) */
enum frame_how {
	FRAME_WALK = 0, /* frame-pointer walk (f) */
	FRAME_SCAN = 1, /* stack scan: a word of the stack that is a return address (s) */
	FRAME_PC = 2,   /* the sampled pc, or where user code entered the kernel (r) */
	FRAME_CFI = 3,  /* DWARF CFI over a copy of the stack (c), unwind_cfi.c */
};

/* the stream's letter for a frame_how */
char frame_how_letter(unsigned char how);

struct user_sample {
	const unsigned long long *walk; /* the frame-pointer walk, leaf first: walk[0] is the pc */
	int nwalk;
	/* PKTPATH_SCAN_MAX words of the stack above %rsp that lie in the executable's text, innermost
	 * first, 0 after the last (all 0: no scan); NULL: the source copied no stack */
	const unsigned long long *scan;
	/* not NULL: walk[] are frames the CFI unwinder already found (when the sample arrived, from its
	 * copy of the stack), found[i] the unwind_cfi.h letter saying how */
	const char *found;
};

/* pid > 0: that process (its code, read through sym); pid <= 0: kernel mode, no user frames. */
struct unwinder *unwinder_new(struct symbolizer *sym, int pid);
void unwinder_free(struct unwinder *u);

/* The user frames of one sample, leaf first, into pc[0..PKTPATH_MAX_STACK), and how each was
 * found into how[]; returns how many. */
int unwind_user(struct unwinder *u, const struct user_sample *in, unsigned long long *pc, unsigned char *how);

/* ---- what the stack scan needs from a sample source ---- */

/* The r-x mappings of the target's main executable (at most PKTPATH_SCAN_RANGES): the stack
 * scan keeps words inside them. */
struct text_ranges {
	unsigned long long lo[PKTPATH_SCAN_RANGES], hi[PKTPATH_SCAN_RANGES];
	int n; /* 0: unknown, the scan stays off */
};
void text_ranges_read(int pid, struct text_ranges *tr);

/* The words of a copy of the user stack (stack[0..len), from %rsp up) that lie in tr, innermost
 * first, at most PKTPATH_SCAN_MAX into out; returns how many (what sample.bpf.c does in the kernel). */
unsigned scan_stack_copy(const struct text_ranges *tr, const unsigned char *stack, unsigned long long len,
			 unsigned long long *out);
#endif
