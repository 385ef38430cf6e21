/* sample_events.c — see sample_events.h. The perf fd and the BPF link are plain fds: they detach
 * when closed, also when this process is killed. */
#include "sample_events.h"
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Data pages per event: room for ~25 samples (25 ms at 999 Hz; the reader comes every 10 ms): 16
 * pages with 2 KiB of stack each, more with bigger stack copies. */
static unsigned ring_order(unsigned stack_bytes)
{
	unsigned order = 4;
	while (order < 10 && (4096ull << order) < 25ull * (stack_bytes + 512))
		order++;
	return order;
}

static int perf_event_open(struct perf_event_attr *a, int pid, int cpu)
{
	return (int)syscall(__NR_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int read_int_file(const char *path, int *v)
{
	FILE *f = fopen(path, "re");
	int ok;
	if (!f)
		return -1;
	ok = fscanf(f, "%d", v) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* parses /sys/devices/system/cpu/online ("0-3,5") into a boolean per CPU */
static int online_cpus(bool *on, int max)
{
	char buf[1024];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	char *p;
	int n = 0;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	for (p = strtok(buf, ",\n"); p; p = strtok(NULL, ",\n")) {
		int a, b;
		if (sscanf(p, "%d-%d", &a, &b) != 2)
			b = a = atoi(p);
		for (int c = a; c <= b && c < max; c++)
			if (c >= 0) {
				on[c] = true;
				n++;
			}
	}
	return n;
}

static void perf_error(int err, int hz, const char *ev, char *msg, size_t len)
{
	int paranoid = -9, maxrate = 0;
	read_int_file("/proc/sys/kernel/perf_event_paranoid", &paranoid);
	read_int_file("/proc/sys/kernel/perf_event_max_sample_rate", &maxrate);
	if ((err == EACCES || err == EPERM) && !strcmp(ev, "task-clock"))
		snprintf(msg, len,
			 "perf_event_open(%s) on the target's threads: %s: needs CAP_PERFMON (or "
			 "kernel.perf_event_paranoid <= 1, now %d) and the right to trace the process "
			 "(same user, or CAP_SYS_PTRACE)", ev, strerror(err), paranoid);
	else if (err == EACCES || err == EPERM)
		snprintf(msg, len,
			 "perf_event_open(%s): %s: needs CAP_PERFMON or CAP_SYS_ADMIN "
			 "(kernel.perf_event_paranoid=%d; per-CPU events need it <= 0 without them)",
			 ev, strerror(err), paranoid);
	else if (err == ENODEV || err == ENOENT || err == EOPNOTSUPP)
		snprintf(msg, len, "perf_event_open(%s): %s: this kernel has no software %s event "
			 "(CONFIG_PERF_EVENTS)", ev, strerror(err), ev);
	else if (err == EINVAL && maxrate > 0 && hz > maxrate)
		snprintf(msg, len, "perf_event_open(%s): sample rate %d Hz is above "
			 "kernel.perf_event_max_sample_rate=%d", ev, hz, maxrate);
	else if (err == EMFILE)
		snprintf(msg, len, "perf_event_open(%s): too many open files (ulimit -n)", ev);
	else
		snprintf(msg, len, "perf_event_open(%s): %s", ev, strerror(err));
}

int sample_events_init(struct sample_events *se, int pid, int hz, int cap)
{
	memset(se, 0, sizeof(*se));
	se->pid = pid;
	se->hz = hz;
	se->cap = cap;
	se->ev = calloc(cap, sizeof(*se->ev));
	return se->ev ? 0 : -ENOMEM;
}

/* Opens one sampling event (a CPU's, or a thread's) and hands its samples on. */
static int add_event(struct sample_events *se, int tid, int cpu, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	const char *ev = tid > 0 ? "task-clock" : "cpu-clock";
	struct sample_event *e;
	int fd, saved;

	if (se->n == se->cap)
		return -ENOSPC;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	/* A thread's task-clock runs only while the thread runs, so its samples are proportional to
	 * its CPU time. Per-CPU cpu-clock missed 5-45% of the samples of threads that sleep on timers
	 * (measured here: their wakeups coalesce with the sampling timer), so it serves kernel mode
	 * only, where every task on every CPU is wanted. */
	attr.config = tid > 0 ? PERF_COUNT_SW_TASK_CLOCK : PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = se->hz;
	if (se->rings) {
		attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN;
		attr.sample_max_stack = se->max_chain; /* kernel and user frames together */
		/* kernel mode takes kernel stacks only, as the BPF program does; with stack copies the
		 * tracer unwinds the user stack itself */
		attr.exclude_callchain_user = tid <= 0 || se->kernel_chain_only;
		if (tid > 0 && se->stack_bytes) {
			attr.sample_type |= PERF_SAMPLE_STACK_USER;
			attr.sample_stack_user = se->stack_bytes;
		}
		if (tid > 0 && se->regs_user) {
			/* the time pairs a sample with its uretprobe chain (ring_samples.c) */
			attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_TIME;
			attr.sample_regs_user = se->regs_user;
		}
		/* the reader polls on a timer: no wake-ups wanted */
		attr.watermark = 1;
		attr.wakeup_watermark = 1u << 30;
	}
	fd = perf_event_open(&attr, tid > 0 ? tid : -1, tid > 0 ? -1 : cpu);
	if (fd < 0) {
		saved = errno;
		if (err)
			perf_error(saved, se->hz, ev, err, errlen);
		return -saved;
	}
	e = &se->ev[se->n];
	memset(e, 0, sizeof(*e));
	if (se->rings) {
		/* perf_event_mlock_kb caps what an unprivileged user may map: fall back to smaller rings */
		int rc = -EPERM;
		for (int order = (int)ring_order(se->stack_bytes); order >= 0 && rc; order--)
			rc = perf_ring_map(fd, (unsigned)order, &e->ring);
		if (rc) {
			close(fd);
			if (err)
				snprintf(err, errlen, "mmap the sample ring of %s %d: %s (perf_event_mlock_kb, ulimit -l)",
					 tid > 0 ? "thread" : "CPU", tid > 0 ? tid : cpu, strerror(-rc));
			return rc;
		}
	}
	if (se->prog && !(e->link = bpf_program__attach_perf_event(se->prog, fd))) {
		saved = errno;
		perf_ring_unmap(&e->ring);
		close(fd);
		if (err)
			snprintf(err, errlen, "attach the sampler to %s %d: %s", tid > 0 ? "thread" : "CPU",
				 tid > 0 ? tid : cpu, strerror(saved));
		return -saved;
	}
	e->tid = tid;
	e->pfd = fd;
	e->gen = se->gen;
	thread_clock_start(&e->clock, se->pid, tid, fd);
	se->n++;
	return 0;
}

static void drop_event(struct sample_event *e)
{
	bpf_link__destroy(e->link);
	perf_ring_unmap(&e->ring);
	close(e->pfd);
}

int sample_events_scan_threads(struct sample_events *se, char *err, size_t errlen)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int w = 0, over = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", se->pid);
	d = opendir(path);
	if (!d)
		return -errno;
	se->gen++;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name), i, rc;
		if (tid <= 0)
			continue;
		for (i = 0; i < se->n && se->ev[i].tid != tid; i++)
			;
		if (i < se->n) {
			se->ev[i].gen = se->gen;
			continue;
		}
		rc = add_event(se, tid, -1, err, errlen);
		if (rc == -ENOSPC)
			over++;
		else if (rc && rc != -ESRCH && err)
			err = NULL; /* keep the first reason */
	}
	closedir(d);
	for (int i = 0; i < se->n; i++) {
		if (se->ev[i].gen != se->gen)
			drop_event(&se->ev[i]); /* the thread has exited */
		else
			se->ev[w++] = se->ev[i];
	}
	se->n = w;
	se->threads_over = over;
	return w;
}

int sample_events_open_cpus(struct sample_events *se, char *err, size_t errlen)
{
	int n = 0;
	bool *on = calloc(se->cap, sizeof(*on));

	if (!on) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (online_cpus(on, se->cap) <= 0) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online");
		free(on);
		return -1;
	}
	for (int cpu = 0; cpu < se->cap; cpu++) {
		if (!on[cpu])
			continue;
		if (add_event(se, -1, cpu, err, errlen)) {
			free(on);
			return -1;
		}
		n++;
	}
	free(on);
	return n;
}

void sample_events_close(struct sample_events *se)
{
	for (int i = 0; i < se->n; i++)
		drop_event(&se->ev[i]);
	se->n = 0;
	free(se->ev);
	se->ev = NULL;
}
