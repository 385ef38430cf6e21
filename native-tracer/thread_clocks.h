/* thread_clocks.h — two clocks of a sampled thread, read at each drain: its task-clock event's
 * count (the CPU time the samples are drawn from) and the run time the scheduler charged it
 * (/proc/PID/task/TID/schedstat). Their sums over an interval go into the tick record. */
#ifndef PKTPATH_THREAD_CLOCKS_H
#define PKTPATH_THREAD_CLOCKS_H
#include <stdbool.h>

/* one thread's readings at the last drain (or its event's start), in ns */
struct thread_clock {
	unsigned long long task_ns, sched_ns, slices;
	bool ok; /* false while the schedstat could not be read */
};

/* summed over the threads whose both clocks could be read at both ends of the interval */
struct interval_clocks {
	unsigned long long cpu_ns, sched_ns, slices;
};

/* The first reading, when the thread's event (perf fd) is opened. */
void thread_clock_start(struct thread_clock *c, int pid, int tid, int perf_fd);

/* Reads both clocks again and adds what passed since the last reading to *sum. */
void thread_clock_advance(struct thread_clock *c, int pid, int tid, int perf_fd, struct interval_clocks *sum);
#endif
