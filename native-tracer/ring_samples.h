/* ring_samples.h — sampling without BPF: every event writes its samples, call chain included (and
 * with --pid a copy of the user stack), into its own perf ring; a thread reads the rings every
 * RING_POLL_MS and counts identical {thread, chain} samples in a stack table, as the BPF program's
 * count map does in the kernel. A drain swaps the tables and hands back the full one. */
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

/* Configures events for rings (chains, and tr's stack scan when tr->n > 0) before they open;
 * ring_samples_start then reads them. */
void ring_samples_configure(struct sample_events *ev, const struct text_ranges *tr);

/* Starts the reader over ev (which must then change only inside ring_samples_swap's `locked`).
 * NULL with err set on failure. */
struct ring_samples *ring_samples_start(struct sample_events *ev, const struct text_ranges *tr, char *err,
					size_t errlen);

/* what the rings delivered since the last swap */
struct ring_interval {
	unsigned long long samples; /* counted into the table */
	unsigned long long lost;    /* the kernel's PERF_RECORD_LOST: overwritten before being read */
	unsigned long long full;    /* the table was full */
};

/* Reads the rings once more, runs locked(ctx) while the reader waits (e.g. to change ev), swaps
 * the tables and returns the one holding the samples since the last swap (clear it when done). */
struct stack_table *ring_samples_swap(struct ring_samples *r, void (*locked)(void *ctx), void *ctx,
				      struct ring_interval *iv);

/* One counted chain taken apart: kernel frames and the frame-pointer walk of the user stack, both
 * leaf first (at most PKTPATH_MAX_STACK each), and the scanned words (0-filled). kernel_mode: a
 * chain without context markers is the kernel's. */
struct ring_chain {
	unsigned long long kernel[PKTPATH_MAX_STACK], user[PKTPATH_MAX_STACK];
	int nkernel, nuser;
	unsigned long long scan[PKTPATH_SCAN_MAX];
};
void ring_chain_split(const struct stack_entry *e, bool kernel_mode, struct ring_chain *out);

/* Stops the reader; safe on NULL. The events are left to their owner. */
void ring_samples_stop(struct ring_samples *r);
#endif
