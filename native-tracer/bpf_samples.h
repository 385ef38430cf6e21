/* bpf_samples.h — sample.bpf.c from user space: loads it (with the timer-lateness measurement
 * where the kernel allows it), and each drain flips it to its other set of maps and reads and
 * deletes the counts and stacks of the set it left. */
#ifndef PKTPATH_BPF_SAMPLES_H
#define PKTPATH_BPF_SAMPLES_H
#include "pktpath.h"
#include <stdbool.h>
#include <stddef.h>

struct bpf_samples;
struct bpf_program;
struct text_ranges;

/* pid > 0: that process's threads, and its executable's text (tr) for the stack scan; pid <= 0:
 * every task, kernel stacks. pass: the program counts nothing and lets the kernel write every
 * sample to its event's ring (stack copies, --unwind dwarf); it still measures the sampler's own
 * time. NULL with err set on failure. */
struct bpf_samples *bpf_samples_open(int pid, const struct text_ranges *tr, bool pass, char *err, size_t errlen);
void bpf_samples_close(struct bpf_samples *b);

/* the loaded program, for the perf events to attach */
struct bpf_program *bpf_samples_program(struct bpf_samples *b);

/* The ring buffer of uretprobe chains (struct pktpath_uret_chain) the pass program sends with
 * samples; -1 when this program sends none (it counts, or lacks the kernel context). */
int bpf_samples_chains_fd(struct bpf_samples *b);

/* Flips the program to the other set of maps (samples taken meanwhile go there instead of racing
 * with the reads) and sums the running totals over CPUs into *stats. */
void bpf_samples_flip(struct bpf_samples *b, struct pktpath_sample_stats *stats);

/* Reads and deletes the counts of the set the last flip left: how many, keys[i] counted vals[i]
 * times; valid until the next call. */
int bpf_samples_take(struct bpf_samples *b, const struct pktpath_sample_key **keys,
		     const unsigned long long **vals);

/* The addresses of stack `id` of that set, leaf first: how many (0 for id < 0), or -1 when the
 * stack is gone. Each id is read from the kernel once per drain: many keys share one. */
int bpf_samples_stack(struct bpf_samples *b, int id, const unsigned long long **ips);

/* Empties that set's stack map, so its next round starts without collisions. */
void bpf_samples_clear(struct bpf_samples *b);
#endif
