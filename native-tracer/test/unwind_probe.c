/* unwind_probe.c — the DWARF unwinder (unwind.c) by itself: samples a process's threads with
 * task-clock events carrying user registers and a copy of the user stack, unwinds every sample and
 * prints one line per sample, leaf first: "tid how fn;fn;..." (how: one unwind.h letter per frame).
 * Usage: unwind_probe PID HZ SECONDS [STACK_BYTES]. For comparing with perf --call-graph dwarf. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../perf_ring.h"
#include "../symbolize.h"
#include "../unwind_cfi.h"
#include <dirent.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXEV 256
#define MAXF 127

struct ctx {
	struct symbolizer *sym;
	struct cfi_unwinder *unw;
	unsigned long long stack_bytes;
	unsigned long long samples, frames, ns;
	unsigned long long ends[4];
};

static unsigned long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void on_record(void *c, const struct perf_event_header *h)
{
	struct ctx *x = c;
	const unsigned char *p = (const unsigned char *)(h + 1), *end = (const unsigned char *)h + h->size;
	unsigned pid, tid;
	unsigned long long nr, abi, regs[UNWIND_NREGS], size, dyn = 0, pcs[MAXF];
	char how[MAXF + 1];
	const unsigned char *stack;
	enum cfi_end e;
	int n;

	if (h->type != PERF_RECORD_SAMPLE)
		return;
	memcpy(&pid, p, 4);
	memcpy(&tid, p + 4, 4);
	memcpy(&nr, p + 8, 8);
	p += 16 + nr * 8;
	memcpy(&abi, p, 8);
	p += 8;
	if (!abi)
		return;
	memcpy(regs, p, sizeof(regs));
	p += sizeof(regs);
	memcpy(&size, p, 8);
	stack = p + 8;
	if (size && stack + size + 8 <= end)
		memcpy(&dyn, stack + size, 8);
	unsigned long long t0 = now_ns();
	n = cfi_unwind(x->unw, (int)tid, regs, stack, dyn, pcs, how, MAXF, &e);
	x->ns += now_ns() - t0;
	x->samples++;
	x->frames += n;
	x->ends[e]++;
	how[n] = 0;
	printf("%u %s ", tid, how);
	for (int i = 0; i < n; i++) {
		struct sym_frame f;
		symbolize_user(x->sym, pcs[i], &f);
		printf("%s%s", i ? ";" : "", f.fn ? f.fn : "[unknown]");
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct perf_ring rings[MAXEV];
	int fds[MAXEV], nev = 0, pid, hz, secs;
	char path[64], err[256];
	struct ctx x = {0};
	DIR *d;
	struct dirent *de;

	if (argc < 4) {
		fprintf(stderr, "usage: unwind_probe PID HZ SECONDS [STACK_BYTES]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	hz = atoi(argv[2]);
	secs = atoi(argv[3]);
	x.stack_bytes = argc > 4 ? strtoull(argv[4], NULL, 0) : 8192;
	x.sym = symbolizer_new(pid);
	x.unw = cfi_unwinder_new(pid, err, sizeof(err));
	if (!x.sym || !x.unw) {
		fprintf(stderr, "unwinder: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && nev < MAXEV) {
		struct perf_event_attr a = {0};
		int tid = atoi(de->d_name), fd;
		if (tid <= 0)
			continue;
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_TASK_CLOCK;
		a.freq = 1;
		a.sample_freq = hz;
		a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a.sample_regs_user = UNWIND_REGS_MASK;
		a.sample_stack_user = (unsigned)x.stack_bytes;
		a.exclude_callchain_user = 1;
		a.watermark = 1;
		a.wakeup_watermark = 1u << 30;
		fd = (int)syscall(__NR_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0 || perf_ring_map(fd, 7, &rings[nev])) {
			perror("perf_event_open");
			continue;
		}
		fds[nev++] = fd;
	}
	if (d)
		closedir(d);
	for (unsigned long long t_end = now_ns() + secs * 1000000000ull; now_ns() < t_end;) {
		poll(NULL, 0, 10);
		for (int i = 0; i < nev; i++)
			perf_ring_read(&rings[i], on_record, &x);
	}
	fprintf(stderr, "samples %llu frames/sample %.1f unwind %.1f us/sample ends: outermost %llu copy %llu noinfo %llu max %llu\n",
		x.samples, x.samples ? (double)x.frames / x.samples : 0, x.samples ? x.ns / 1e3 / x.samples : 0, x.ends[0],
		x.ends[1], x.ends[2], x.ends[3]);
	for (int i = 0; i < nev; i++) {
		perf_ring_unmap(&rings[i]);
		close(fds[i]);
	}
	cfi_unwinder_free(x.unw);
	symbolizer_free(x.sym);
	return 0;
}
