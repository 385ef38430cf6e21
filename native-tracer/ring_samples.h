/* ring_samples.h — samples read from perf rings: every event writes its samples, call chain
 * included (and with --pid a copy of the user stack), into its own perf ring; a thread reads the
 * rings every RING_POLL_MS and counts identical {thread, chain} samples in a stack table, as the
 * BPF program's count map does in the kernel. A drain swaps the tables and hands back the full one.
 * Two kinds: without BPF, the kernel's frame-pointer walk and 2 KiB of stack for the scan; with
 * stack copies (--unwind dwarf, with or without BPF), the kernel's kernel frames, the user registers
 * and a bigger window of user stack, which the reader unwinds by CFI (unwind_cfi.h) as they arrive. */
#ifndef PKTPATH_RING_SAMPLES_H
#define PKTPATH_RING_SAMPLES_H
#include "pktpath.h"
#include "stack_table.h"
#include <stdbool.h>
#include <stddef.h>

#define RING_MAX_CHAIN 127 /* kernel.perf_event_max_stack's default: more is refused */

struct ring_samples;
struct sample_events;
struct text_ranges;
struct cfi_unwinder;

/* Configures events for rings before they open: chains, and tr's stack scan when tr->n > 0; or
 * with copy_bytes > 0, kernel chains with the user registers and copy_bytes of user stack.
 * ring_samples_start then reads them. */
void ring_samples_configure(struct sample_events *ev, const struct text_ranges *tr, unsigned copy_bytes);

/* Starts the reader over ev (which must then change only inside ring_samples_swap's `locked`);
 * cfi (with copy_bytes given above) unwinds each sample's user stack on the reader's thread, and
 * is the reader's alone; chains_fd (or -1): the BPF ring buffer of the samples' uretprobe chains
 * (bpf_samples_chains_fd), which the unwinding puts the real return addresses back from. NULL
 * with err set on failure. */
struct ring_samples *ring_samples_start(struct sample_events *ev, const struct text_ranges *tr,
					struct cfi_unwinder *cfi, int chains_fd, char *err, size_t errlen);

/* what the rings delivered since the last swap */
struct ring_interval {
	unsigned long long samples; /* counted into the table */
	unsigned long long lost;    /* the kernel's PERF_RECORD_LOST: overwritten before being read */
	unsigned long long full;    /* the table was full */
	/* with stack copies: samples whose unwinding stopped at the end of the copied stack (their
	 * outer callers are missing), and where neither CFI nor a frame pointer went on (the rest of
	 * the copy was scanned) */
	unsigned long long cut, no_info;
};

/* Reads the rings once more, runs locked(ctx) while the reader waits (e.g. to change ev), swaps
 * the tables and returns the one holding the samples since the last swap (clear it when done). */
struct stack_table *ring_samples_swap(struct ring_samples *r, void (*locked)(void *ctx), void *ctx,
				      struct ring_interval *iv);

/* One counted chain taken apart: kernel frames and the frame-pointer walk of the user stack (or
 * the user frames the CFI unwinder found, with found[] saying how: unwind_cfi.h's letters), both
 * leaf first (at most PKTPATH_MAX_STACK each), and the scanned words (0-filled). kernel_mode: a
 * chain without context markers is the kernel's. */
struct ring_chain {
	unsigned long long kernel[PKTPATH_MAX_STACK], user[PKTPATH_MAX_STACK];
	int nkernel, nuser;
	unsigned long long scan[PKTPATH_SCAN_MAX];
	bool has_found;
	char found[PKTPATH_MAX_STACK];
};
void ring_chain_split(const struct stack_entry *e, bool kernel_mode, struct ring_chain *out);

/* Stops the reader; safe on NULL. The events are left to their owner. */
void ring_samples_stop(struct ring_samples *r);
#endif
