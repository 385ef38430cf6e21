/* unwind_cfi.h — user call chains from DWARF call frame information (.eh_frame, .debug_frame in the
 * mapped files) over the copy of the user stack the kernel takes with each sample
 * (PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER), as `perf record --call-graph dwarf` does:
 * no frame pointers needed. Through elfutils libdwfl (what perf's libdw unwinder uses). Where a
 * frame has no CFI, libdwfl follows the frame pointer; where that fails too, the rest of the copied
 * stack is scanned for return addresses, and every frame says how it was found. */
#ifndef PKTPATH_UNWIND_CFI_H
#define PKTPATH_UNWIND_CFI_H
#include "pktpath.h"
#include <stdbool.h>
#include <stddef.h>

/* The user registers a sample must carry (perf_event_attr.sample_regs_user, x86-64 perf_regs
 * order: AX BX CX DX SI DI BP SP IP, R8..R15): the ones CFI rules may name. They arrive in the
 * sample in increasing bit order. */
#define UNWIND_REGS_MASK 0xff01ffull
#define UNWIND_NREGS 17

/* how a frame was found (the stream's "found" letters) */
#define FOUND_REGS 'r' /* the sampled instruction pointer (or where user code entered the kernel) */
#define FOUND_CFI 'c'  /* DWARF CFI of the frame below it */
#define FOUND_FP 'f'   /* frame pointer (the frame below had no CFI) */
#define FOUND_SCAN 's' /* a stack word after a call instruction, where unwinding stopped */

struct cfi_unwinder;

/* pid's unwinder; it reads the process's files through symbolizer and code-facts caches of its
 * own (it runs on the ring reader's thread). NULL with err set on failure. */
struct cfi_unwinder *cfi_unwinder_new(int pid, char *err, size_t errlen);
void cfi_unwinder_free(struct cfi_unwinder *u);

/* Allows one re-read of the process's mappings (after a dlopen) at the next address that falls in
 * no known module. */
void cfi_unwinder_allow_refresh(struct cfi_unwinder *u);

/* Why the last cfi_unwind stopped before the outermost frame (for the stream's counters). */
enum cfi_end {
	CFI_END_OUTERMOST = 0, /* the CFI says the stack ends here (_start, clone) */
	CFI_END_COPY,          /* the next frame lies beyond the copied stack */
	CFI_END_NO_INFO,       /* no CFI and no frame pointer: the scan took over */
	CFI_END_MAX,           /* the frame limit */
};

/* Unwinds thread tid's user stack: regs as the sample carries them (UNWIND_REGS_MASK order), the
 * stack copy taken at regs' SP. Writes up to max frames, leaf first (the sampled IP, then return
 * addresses), and one FOUND_* letter per frame to how. Returns the number of frames. */
int cfi_unwind(struct cfi_unwinder *u, int tid, const unsigned long long *regs, const unsigned char *stack,
		size_t len, unsigned long long *pcs, char *how, int max, enum cfi_end *end);

/* The next cfi_unwind's sample has these pending uretprobes (c stays valid until it returns):
 * where the copy holds the trampoline at a hijacked slot, the unwind reads the real return address. */
void cfi_unwinder_set_uret(struct cfi_unwinder *u, const struct pktpath_uret_chain *c);

#endif
