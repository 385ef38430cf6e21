/* sample_events.h — the perf clock events samples are taken on: a task-clock event on each thread
 * of the target (new threads get one at each scan, exited ones lose theirs), or a cpu-clock event
 * on each online CPU in kernel mode. Each event hands its samples to the BPF program, or without
 * BPF writes them, call chain included, into a ring of its own. */
#ifndef PKTPATH_SAMPLE_EVENTS_H
#define PKTPATH_SAMPLE_EVENTS_H
#include "perf_ring.h"
#include "thread_clocks.h"
#include <stdbool.h>
#include <stddef.h>

struct bpf_program;
struct bpf_link;

struct sample_event {
	int tid; /* -1 for a per-CPU event */
	int pfd;
	struct bpf_link *link;
	struct perf_ring ring; /* without BPF: where the kernel writes the samples */
	unsigned gen;          /* scan that last saw the thread */
	struct thread_clock clock;
};

struct sample_events {
	int pid, hz;
	struct sample_event *ev;
	int n, cap;
	unsigned gen;
	int threads_over; /* threads beyond cap, not sampled (last scan) */
	/* where samples go: to prog when set, and (rings) into a ring per event with call chains of at
	 * most max_chain frames (kernel frames only with kernel_chain_only), with stack_bytes > 0 that
	 * much of the user stack, with regs_user != 0 those user registers (perf_event_attr's mask).
	 * Both: the program sees each sample first and the kernel writes it when the program lets it. */
	struct bpf_program *prog;
	bool rings, kernel_chain_only;
	unsigned max_chain, stack_bytes;
	unsigned long long regs_user;
};

/* cap: most events (per thread) at once. 0, or -ENOMEM. */
int sample_events_init(struct sample_events *se, int pid, int hz, int cap);

/* --pid: brings the events in line with /proc/PID/task. Returns how many threads are sampled, or
 * -errno when the process is gone; err (may be NULL) gets the first reason an event failed. */
int sample_events_scan_threads(struct sample_events *se, char *err, size_t errlen);

/* kernel mode: one event per online CPU. How many, or -1 with err set. */
int sample_events_open_cpus(struct sample_events *se, char *err, size_t errlen);

/* Closes every event (their links and rings with them); safe twice. */
void sample_events_close(struct sample_events *se);
#endif
