/* sampler.h — CPU stack sampling (perf_event cpu-clock + BPF stack aggregation) and symbolization.
 * The loader (pktpath.c) owns the stream; the sampler writes its frame/stack records into it. */
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
struct sampler *sampler_open(int pid, int hz, bool use_bpf, char *err, size_t errlen);

/* Writes this interval's "frame" (first use only) and "stack" (delta counts) records for interval
 * `seq` to out, clears the in-kernel counts, and adds the interval's sample and lost counts. */
int sampler_drain(struct sampler *s, FILE *out, unsigned seq,
		  unsigned long long *samples, unsigned long long *lost);

/* --pid: appends the last drained interval's ,"cpu_ns":N,"sched_ns":M to a tick record (pktpath.h);
 * nothing in kernel mode or on NULL. */
void sampler_tick_fields(struct sampler *s, FILE *out);

/* Detaches and frees everything; safe on NULL. */
void sampler_close(struct sampler *s);
#endif
