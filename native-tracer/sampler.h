/* sampler.h — CPU stack sampling (perf clock events, counted by a BPF program or read from perf
 * rings) and symbolization. The loader (pktpath.c) owns the stream; the sampler writes its
 * frame/stack/drop records into it and fills in its part of the tick. */
#ifndef PKTPATH_SAMPLER_H
#define PKTPATH_SAMPLER_H
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>

struct sampler;

/* pid > 0: sample that process's threads (user + kernel stacks); pid <= 0: every CPU, kernel mode.
 * use_bpf false: without BPF, the kernel writes each sample's call chain into a ring per event and
 * a thread of the tracer counts them (with --pid, with 2 KiB of user stack for the stack scan; no
 * timer lateness or program time). On failure
 * returns NULL and writes a one-line reason (what is missing) into err. */
/* copy_bytes > 0 (--pid only): each sample carries the user registers and copy_bytes of user
 * stack, and the tracer unwinds it by DWARF CFI (unwind_cfi.h); with BPF the program then only
 * measures the sampler's own time and lets the kernel write the sample to a ring. */
struct sampler *sampler_open(int pid, int hz, bool use_bpf, unsigned copy_bytes, char *err, size_t errlen);

/* Writes this interval's "frame" (first use only) and "stack" (delta counts) records for interval
 * `seq` to out, clears the in-kernel counts, and adds the interval's sample and lost counts. */
int sampler_drain(struct sampler *s, FILE *out, unsigned seq,
		  unsigned long long *samples, unsigned long long *lost);

struct tick_rec;
/* Fills the tick's sampler members for the last drained interval: the sampled threads' clocks
 * (--pid), the sampling timer's lateness and the program's run time (with BPF). Nothing on NULL. */
void sampler_tick(struct sampler *s, struct tick_rec *t);

/* Detaches and frees everything; safe on NULL. */
void sampler_close(struct sampler *s);
#endif
