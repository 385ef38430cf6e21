/* thread_clocks.c — see thread_clocks.h. The scheduler also charges a woken thread for the time
 * from its wakeup to its first instruction (the run-queue clock is not updated again when the
 * wakeup preempts the idle task at once), which task-clock does not count, so the two differ by
 * that much per wakeup (docs/stream.md, the tick record). */
#include "thread_clocks.h"
#include <stdio.h>
#include <unistd.h>

/* The run time the scheduler has charged a thread, in ns, and how many times it was switched in
 * (the first and third fields of its schedstat). */
static int thread_sched_ns(int pid, int tid, unsigned long long *ns, unsigned long long *slices)
{
	char path[64];
	unsigned long long wait;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%llu %llu %llu", ns, &wait, slices) == 3;
	fclose(f);
	return ok ? 0 : -1;
}

/* A clock event's count: ns the event was running (for task-clock, the thread ran). */
static int event_clock_ns(int fd, unsigned long long *ns)
{
	return read(fd, ns, sizeof(*ns)) == (ssize_t)sizeof(*ns) ? 0 : -1;
}

void thread_clock_start(struct thread_clock *c, int pid, int tid, int perf_fd)
{
	c->task_ns = 0;
	event_clock_ns(perf_fd, &c->task_ns);
	c->ok = tid > 0 && !thread_sched_ns(pid, tid, &c->sched_ns, &c->slices);
}

void thread_clock_advance(struct thread_clock *c, int pid, int tid, int perf_fd, struct interval_clocks *sum)
{
	unsigned long long t, r, n;

	if (tid <= 0 || event_clock_ns(perf_fd, &t) || thread_sched_ns(pid, tid, &r, &n))
		return;
	if (c->ok && t >= c->task_ns && r >= c->sched_ns && n >= c->slices) {
		sum->cpu_ns += t - c->task_ns;
		sum->sched_ns += r - c->sched_ns;
		sum->slices += n - c->slices;
	}
	c->task_ns = t;
	c->sched_ns = r;
	c->slices = n;
	c->ok = true;
}
