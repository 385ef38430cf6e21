/* sampler.c — perf clock events with sample.bpf.c attached (a task-clock event per thread of the
 * target, or a cpu-clock event per CPU in kernel mode); each drain reads and deletes the in-kernel
 * counts and writes frame/stack records (see sampler.h, pktpath.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sampler.h"
#include "json.h"
#include "perf_ring.h"
#include "pktpath.h"
#include "stack_table.h"
#include "symbolize.h"
#include <poll.h>
#include <pthread.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample.skel.h"
/* the skeleton's name depends on how the Makefile ran `bpftool gen skeleton` */
#if defined(__SAMPLE_BPF_SKEL_H__)
#define SKEL sample_bpf
#define SK(f) sample_bpf__##f
#else
#define SKEL sample
#define SK(f) sample__##f
#endif

#define MAX_FRAMES (1u << 18)      /* distinct frames interned over a run */
#define FRAME_SLOTS (MAX_FRAMES * 2) /* open addressing, load <= 1/2 */
#define MAX_KEYS 16384             /* = max_entries of the counts maps */

#define MAX_THREADS 1024           /* perf events (2 fds each) on one target's threads */

struct sample_event {
	int tid; /* -1 for a per-CPU event */
	int pfd;
	struct bpf_link *link;
	struct perf_ring ring; /* without BPF: where the kernel writes the samples */
	unsigned gen; /* scan that last saw the thread */
	/* at the last drain (or the event's start): its task-clock count and the thread's schedstat
	 * run time, both in ns; sched_ok is false while the schedstat could not be read */
	unsigned long long clock_ns, sched_ns, slices;
	bool sched_ok;
};

#define SC_SLOTS (4 * MAX_KEYS) /* stack ids resolved per drain: at most 2 per key */

/* One stack id resolved during this drain: its frame ids sit in fidbuf[start..start+len). */
struct stack_slot {
	int id;
	unsigned gen; /* drain that filled it; other values mean empty */
	unsigned start;
	unsigned short len;
	bool ok;
};

/* Verdicts about code addresses, read once from the ELF files: "is a return address" (the bytes
 * before it are a call) and "the function starting here sets up a frame pointer". */
#define VERDICT_SLOTS (1u << 16)
enum { V_RET = 1, V_FP = 2 };
struct verdict_slot {
	unsigned long long key; /* addr << 2 | kind; 0 = empty */
	unsigned char val;      /* V_RET: 1 = yes; V_FP: prologue length, 0 = none */
};

struct frame_slot {
	unsigned long long addr; /* user and kernel addresses never coincide on x86-64 */
	unsigned id;             /* id + 1; 0 = empty */
};

struct sampler {
	struct SKEL *skel;
	struct bpf_program *prog; /* the one loaded: pktpath_sample_late, or pktpath_sample */
	int pid;
	struct sample_event *evs; /* per CPU (kernel mode) or per thread of the target */
	int nev, evcap;
	unsigned scan_gen;
	int hz;
	int threads_over; /* threads beyond MAX_THREADS, not sampled (last scan) */
	bool warned_over;
	struct symbolizer *sym;
	struct frame_slot *frames;
	unsigned nframes;
	struct pktpath_sample_key *keys;
	unsigned long long *vals;
	struct stack_slot *sc;
	unsigned sc_gen;
	int *fidbuf;
	unsigned nfid;
	int *used_stacks;
	int nused;
	unsigned long long *ips;
	int ncpu_possible;
	struct pktpath_sample_stats prev;
	struct pktpath_sample_stats *percpu;
	unsigned active; /* which of the two map sets the BPF program writes to */
	unsigned long long *frame_addr; /* by frame id */
	struct verdict_slot *verdicts;
	unsigned nverdicts;
	unsigned long long *splice; /* a user stack being spliced */
	/* --pid: over the last drained interval, the sampled threads' task-clock (the time the samples
	 * are drawn from) and what the scheduler charged the same threads (sampler_tick_fields) */
	unsigned long long cpu_ns, sched_ns, slices;
	/* the last drained interval: the sampling timer's lateness summed over late_n samples */
	unsigned long long late_ns, late_n;
	/* the last drained interval: the sampling program's run time summed over run_n samples */
	unsigned long long run_ns, run_n;
	/* Without BPF (use_bpf false in sampler_open): every event writes its samples, call chain
	 * included, into its own ring; a thread reads the rings every RING_POLL_MS into tabs[cur] (what
	 * the BPF program's count map does in the kernel), and a drain swaps the tables and writes out
	 * the other one. mu guards evs/nev against the reader, the tables and the ring_* counts. */
	bool ring_mode;
	pthread_t reader;
	bool reader_on;
	volatile int reader_stop;
	pthread_mutex_t mu;
	struct stack_table *tabs[2];
	unsigned cur;
	unsigned long long ring_samples, ring_lost, ring_full;
	unsigned long long prev_ring_samples, prev_ring_lost, prev_ring_full;
	/* --pid without BPF: each sample also copies PKTPATH_SCAN_BYTES of the user stack, whose words
	 * in the executable's text are kept for splice_scanned, as sample.bpf.c does in the kernel */
	unsigned long long text_lo[PKTPATH_SCAN_RANGES], text_hi[PKTPATH_SCAN_RANGES];
	int text_ranges;
};

#define RING_POLL_MS 10
#define RING_MAX_CHAIN 127 /* kernel.perf_event_max_stack's default: more is refused */
#define RING_ORDER 4 /* 16 data pages per event: ~25 samples with 2 KiB of stack each, 25 ms at 999 Hz */
/* in a chain counted by the stack table, what follows this are the scanned stack words (no
 * context marker perf writes has this value) */
#define SCAN_MARK (~0ull)

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

/* Opens one sampling event (a CPU's, or a thread's) and attaches the program to it. The perf fd
 * and the BPF link are plain fds: they detach when closed, also when this process is killed. */
static int add_event(struct sampler *s, int tid, int cpu, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	const char *ev = tid > 0 ? "task-clock" : "cpu-clock";
	struct sample_event *e;
	int fd, saved;

	if (s->nev == s->evcap)
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
	attr.sample_freq = s->hz;
	if (s->ring_mode) {
		attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN;
		attr.sample_max_stack = RING_MAX_CHAIN; /* kernel and user frames together */
		/* kernel mode takes kernel stacks only, as the BPF program does */
		attr.exclude_callchain_user = tid <= 0;
		if (tid > 0 && s->text_ranges > 0) {
			attr.sample_type |= PERF_SAMPLE_STACK_USER;
			attr.sample_stack_user = PKTPATH_SCAN_BYTES;
		}
		/* the reader polls on a timer: no wake-ups wanted */
		attr.watermark = 1;
		attr.wakeup_watermark = 1u << 30;
	}
	fd = perf_event_open(&attr, tid > 0 ? tid : -1, tid > 0 ? -1 : cpu);
	if (fd < 0) {
		saved = errno;
		if (err)
			perf_error(saved, s->hz, ev, err, errlen);
		return -saved;
	}
	e = &s->evs[s->nev];
	if (s->ring_mode) {
		/* perf_event_mlock_kb caps what an unprivileged user may map: fall back to smaller rings */
		int rc = -EPERM;
		for (int order = RING_ORDER; order >= 0 && rc; order--)
			rc = perf_ring_map(fd, (unsigned)order, &e->ring);
		if (rc) {
			close(fd);
			if (err)
				snprintf(err, errlen, "mmap the sample ring of %s %d: %s (perf_event_mlock_kb, ulimit -l)",
					 tid > 0 ? "thread" : "CPU", tid > 0 ? tid : cpu, strerror(-rc));
			return rc;
		}
		e->link = NULL;
	} else if (!(e->link = bpf_program__attach_perf_event(s->prog, fd))) {
		saved = errno;
		close(fd);
		if (err)
			snprintf(err, errlen, "attach the sampler to %s %d: %s", tid > 0 ? "thread" : "CPU",
				 tid > 0 ? tid : cpu, strerror(saved));
		return -saved;
	}
	e->tid = tid;
	e->pfd = fd;
	e->gen = s->scan_gen;
	e->clock_ns = 0;
	event_clock_ns(fd, &e->clock_ns);
	e->sched_ok = tid > 0 && !thread_sched_ns(s->pid, tid, &e->sched_ns, &e->slices);
	s->nev++;
	return 0;
}

static void drop_event(struct sample_event *e)
{
	bpf_link__destroy(e->link);
	perf_ring_unmap(&e->ring);
	close(e->pfd);
}

/* Brings the per-thread events in line with /proc/PID/task: new threads get one, exited threads
 * lose theirs. Returns how many threads are sampled, or -errno when the process is gone. */
static int scan_threads(struct sampler *s, char *err, size_t errlen)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int w = 0, over = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	d = opendir(path);
	if (!d)
		return -errno;
	s->scan_gen++;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name), i, rc;
		if (tid <= 0)
			continue;
		for (i = 0; i < s->nev && s->evs[i].tid != tid; i++)
			;
		if (i < s->nev) {
			s->evs[i].gen = s->scan_gen;
			continue;
		}
		rc = add_event(s, tid, -1, err, errlen);
		if (rc == -ENOSPC)
			over++;
		else if (rc && rc != -ESRCH && err)
			err = NULL; /* keep the first reason */
	}
	closedir(d);
	for (int i = 0; i < s->nev; i++) {
		if (s->evs[i].gen != s->scan_gen)
			drop_event(&s->evs[i]); /* the thread has exited */
		else
			s->evs[w++] = s->evs[i];
	}
	s->nev = w;
	s->threads_over = over;
	return w;
}

/* The r-x mappings of the target's main executable (at most PKTPATH_SCAN_RANGES): the stack
 * scan keeps words inside them. Returns how many; 0 leaves the scan off. */
static int exe_text_ranges(int pid, unsigned long long *lo, unsigned long long *hi)
{
	char path[64], exe[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len <= 0)
		return 0;
	exe[len] = 0;
	if (len > 10 && !strcmp(exe + len - 10, " (deleted)"))
		exe[len - 10] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < PKTPATH_SCAN_RANGES && getline(&line, &cap, f) > 0) {
		unsigned long long a, b, off, ino;
		char perms[8], dev[32];
		int used = 0;
		char *p;
		size_t l;

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &a, &b, perms, &off, dev, &ino,
			   &used) < 6 || perms[0] != 'r' || perms[2] != 'x')
			continue;
		p = line + used;
		l = strlen(p);
		if (l && p[l - 1] == '\n')
			p[--l] = 0;
		if (l > 10 && !strcmp(p + l - 10, " (deleted)"))
			p[l - 10] = 0;
		if (strcmp(p, exe))
			continue;
		lo[n] = a;
		hi[n] = b;
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

static struct verdict_slot *verdict_slot(struct sampler *s, unsigned long long key)
{
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & (VERDICT_SLOTS - 1);
	for (unsigned probes = 0; probes < VERDICT_SLOTS; probes++, i = (i + 1) & (VERDICT_SLOTS - 1))
		if (!s->verdicts[i].key || s->verdicts[i].key == key)
			return &s->verdicts[i];
	return NULL;
}

/* Length of an `ff /2` (call near, indirect) whose ModRM byte is m[0], or 0 when it is not one. */
static unsigned indirect_call_len(const unsigned char *m)
{
	unsigned mod = m[0] >> 6, reg = (m[0] >> 3) & 7, rm = m[0] & 7, len = 2;
	if (reg != 2)
		return 0;
	if (mod == 3)
		return len;
	if (rm == 4) { /* SIB */
		len++;
		if (mod == 0 && (m[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* rip-relative */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/* Whether the instruction ending at addr is a call: e8 rel32 to code of the process, or ff /2. */
static bool check_return_address(struct sampler *s, unsigned long long addr)
{
	unsigned char b[8];
	static const unsigned lens[] = {2, 3, 4, 6, 7};

	if (addr < 8 || symbolizer_read_code(s->sym, addr - 8, b, 8))
		return false;
	if (b[3] == 0xe8) {
		int rel;
		memcpy(&rel, b + 4, 4);
		if (symbolizer_is_user_code(s->sym, addr + (long long)rel))
			return true;
	}
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		const unsigned char *op = b + 8 - lens[i];
		if (op[0] == 0xff && indirect_call_len(op + 1) == lens[i])
			return true;
	}
	return false;
}

static bool is_return_address(struct sampler *s, unsigned long long addr)
{
	struct verdict_slot *v = s->nverdicts < VERDICT_SLOTS / 2 ? verdict_slot(s, addr << 2 | V_RET)
								 : NULL;
	bool yes;
	if (v && v->key)
		return v->val;
	yes = check_return_address(s, addr);
	if (v) {
		v->key = addr << 2 | V_RET;
		v->val = yes;
		s->nverdicts++;
	}
	return yes;
}

/* Length of the `[endbr64] push %rbp; mov %rsp,%rbp` prologue the code at fn starts with; 0 when
 * it has none (the function keeps no frame pointer). */
static unsigned fp_prologue_len(struct sampler *s, unsigned long long fn)
{
	static const unsigned char pro[] = {0x55, 0x48, 0x89, 0xe5};
	static const unsigned char endbr[] = {0xf3, 0x0f, 0x1e, 0xfa};
	unsigned char b[8];

	if (symbolizer_read_code(s->sym, fn, b, 8))
		return 0;
	if (!memcmp(b, pro, 4))
		return 4;
	if (!memcmp(b, endbr, 4) && !memcmp(b + 4, pro, 4))
		return 8;
	return 0;
}

/* Whether the frame-pointer walk can vouch for the caller of the frame at addr: its function
 * begins with that prologue and addr is past it. */
static bool has_frame_pointer(struct sampler *s, unsigned long long addr)
{
	struct verdict_slot *v;
	struct sym_frame f;
	unsigned long long start;
	unsigned plen;

	if (symbolize_user(s->sym, addr, &f) || !f.fn)
		return false;
	start = addr - f.off;
	v = s->nverdicts < VERDICT_SLOTS / 2 ? verdict_slot(s, start << 2 | V_FP) : NULL;
	if (v && v->key) {
		plen = v->val;
	} else {
		plen = fp_prologue_len(s, start);
		if (v) {
			v->key = start << 2 | V_FP;
			v->val = (unsigned char)plen;
			s->nverdicts++;
		}
	}
	/* before the prologue completes %rbp is still the caller's: its caller would be skipped */
	return plen && f.off >= plen;
}

/* The PERF_SAMPLE_STACK_USER part of a sample at q (u64 size; size bytes; u64 dyn_size): writes
 * SCAN_MARK and the words that lie in the executable's text, innermost first, to out. Returns how
 * many values it wrote (0 without a stack copy or a candidate). */
static unsigned scan_words(struct sampler *s, const struct perf_event_header *h, const unsigned char *q,
			   unsigned long long *out)
{
	const unsigned char *end = (const unsigned char *)h + h->size;
	unsigned long long size, dyn, w;
	unsigned n = 1;

	if (!s->text_ranges || q + 8 > end)
		return 0;
	memcpy(&size, q, 8);
	if (!size || q + 16 + size > end)
		return 0;
	memcpy(&dyn, q + 8 + size, 8);
	if (dyn > size)
		dyn = size;
	out[0] = SCAN_MARK;
	for (unsigned long long off = 0; off + 8 <= dyn && n <= PKTPATH_SCAN_MAX; off += 8) {
		memcpy(&w, q + 8 + off, 8);
		for (int r = 0; r < s->text_ranges; r++)
			if (w >= s->text_lo[r] && w < s->text_hi[r]) {
				out[n++] = w;
				break;
			}
	}
	return n > 1 ? n : 0;
}

/* One record from an event's ring (the reader thread, with mu held). */
static void on_ring_record(void *ctx, const struct perf_event_header *h)
{
	struct sampler *s = ctx;

	if (h->type == PERF_RECORD_SAMPLE) {
		/* sample_type TID | CALLCHAIN: u32 pid, tid; u64 nr; u64 ips[nr] */
		const unsigned char *p = (const unsigned char *)(h + 1);
		unsigned pid, tid;
		unsigned long long nr;

		if (h->size < sizeof(*h) + 16)
			return;
		memcpy(&pid, p, 4);
		memcpy(&tid, p + 4, 4);
		memcpy(&nr, p + 8, 8);
		if (nr > (h->size - sizeof(*h) - 16) / 8)
			return; /* malformed: a chain longer than its record */
		if (s->pid > 0 && (int)pid != s->pid)
			return;
		s->ring_samples++;
		/* the chain (+ context markers), then SCAN_MARK and the scanned words */
		unsigned long long ips[RING_MAX_CHAIN + 8 + 1 + PKTPATH_SCAN_MAX];
		const unsigned cap = RING_MAX_CHAIN + 8;
		unsigned n = nr < cap ? (unsigned)nr : cap;
		memcpy(ips, p + 16, n * 8ull);
		n += scan_words(s, h, p + 16 + nr * 8, ips + n);
		if (!stack_table_add(s->tabs[s->cur], tid, ips, n))
			s->ring_full++;
	} else if (h->type == PERF_RECORD_LOST && h->size >= sizeof(*h) + 16) {
		unsigned long long lost;
		memcpy(&lost, (const unsigned char *)(h + 1) + 8, 8);
		s->ring_lost += lost;
	}
}

static void read_rings(struct sampler *s)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nev; i++)
		perf_ring_read(&s->evs[i].ring, on_ring_record, s);
	pthread_mutex_unlock(&s->mu);
}

static void *ring_reader(void *arg)
{
	struct sampler *s = arg;
	while (!s->reader_stop) {
		poll(NULL, 0, RING_POLL_MS);
		read_rings(s);
	}
	return NULL;
}

/* The load-time constants: the target, and its executable's text for the stack scan. */
static void configure(struct SKEL *skel, int pid)
{
	skel->rodata->target_tgid = pid > 0 ? pid : 0;
	if (pid > 0) {
		unsigned long long lo[PKTPATH_SCAN_RANGES], hi[PKTPATH_SCAN_RANGES];
		int nr = exe_text_ranges(pid, lo, hi);
		for (int i = 0; i < nr; i++) {
			skel->rodata->text_lo[i] = lo[i];
			skel->rodata->text_hi[i] = hi[i];
			if (!i || lo[i] < skel->rodata->text_min)
				skel->rodata->text_min = lo[i];
			if (hi[i] > skel->rodata->text_max)
				skel->rodata->text_max = hi[i];
		}
		skel->rodata->text_ranges = nr;
	}
}

struct sampler *sampler_open(int pid, int hz, bool use_bpf, char *err, size_t errlen)
{
	struct sampler *s;
	bool *on = NULL;
	int maxcpu, n = 0, e;
	char path[64];

	if (hz <= 0 || hz > 100000) {
		snprintf(err, errlen, "sample rate %d Hz is out of range (1..100000)", hz);
		return NULL;
	}
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		if (access(path, R_OK)) {
			snprintf(err, errlen, "process %d: %s", pid, strerror(errno));
			return NULL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->pid = pid;
	s->hz = hz;
	s->ring_mode = !use_bpf;
	pthread_mutex_init(&s->mu, NULL);
	s->ncpu_possible = libbpf_num_possible_cpus();
	maxcpu = s->ncpu_possible > 0 ? s->ncpu_possible : 1;
	s->evcap = pid > 0 ? MAX_THREADS : maxcpu;
	s->evs = calloc(s->evcap, sizeof(*s->evs));
	on = calloc(maxcpu, sizeof(*on));
	s->frames = calloc(FRAME_SLOTS, sizeof(*s->frames));
	s->keys = malloc(MAX_KEYS * sizeof(*s->keys));
	s->vals = malloc(MAX_KEYS * sizeof(*s->vals));
	s->sc = calloc(SC_SLOTS, sizeof(*s->sc));
	s->fidbuf = malloc((size_t)2 * MAX_KEYS * PKTPATH_MAX_STACK * sizeof(*s->fidbuf));
	s->used_stacks = malloc(2 * MAX_KEYS * sizeof(*s->used_stacks));
	s->ips = malloc(PKTPATH_MAX_STACK * sizeof(*s->ips));
	s->percpu = calloc(maxcpu, sizeof(*s->percpu));
	s->frame_addr = malloc(MAX_FRAMES * sizeof(*s->frame_addr));
	s->verdicts = calloc(VERDICT_SLOTS, sizeof(*s->verdicts));
	s->splice = malloc(2 * PKTPATH_MAX_STACK * sizeof(*s->splice));
	if (!s->evs || !on || !s->frames || !s->keys || !s->vals || !s->sc || !s->fidbuf ||
	    !s->used_stacks || !s->ips || !s->percpu || !s->frame_addr || !s->verdicts ||
	    !s->splice ||
	    s->ncpu_possible <= 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pid <= 0 && online_cpus(on, maxcpu) <= 0) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online");
		goto fail;
	}
	/* the program that also measures the timer's lateness needs a kfunc (kernel 6.2+): without it,
	 * the plain one */
	if (s->ring_mode && pid > 0)
		s->text_ranges = exe_text_ranges(pid, s->text_lo, s->text_hi);
	if (s->ring_mode) {
		s->tabs[0] = stack_table_new(MAX_KEYS, (unsigned long long)MAX_KEYS * 32);
		s->tabs[1] = stack_table_new(MAX_KEYS, (unsigned long long)MAX_KEYS * 32);
		if (!s->tabs[0] || !s->tabs[1]) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	e = s->ring_mode ? 0 : -1;
	for (int late = 1; late >= 0 && e; late--) {
		if (s->skel)
			SK(destroy)(s->skel);
		s->skel = SK(open)();
		if (!s->skel) {
			snprintf(err, errlen, "sampler BPF object: open failed: %s", strerror(errno));
			goto fail;
		}
		configure(s->skel, pid);
		bpf_program__set_autoload(s->skel->progs.pktpath_sample_late, late);
		bpf_program__set_autoload(s->skel->progs.pktpath_sample, !late);
		{
			/* the first attempt's failure is expected on older kernels: not worth a message */
			libbpf_print_fn_t prev = late ? libbpf_set_print(NULL) : NULL;
			e = SK(load)(s->skel);
			if (late)
				libbpf_set_print(prev);
		}
		s->prog = late ? s->skel->progs.pktpath_sample_late : s->skel->progs.pktpath_sample;
	}
	if (e) {
		snprintf(err, errlen, "sampler BPF program: load failed: %s%s", strerror(-e),
			 e == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
		goto fail;
	}
	s->sym = symbolizer_new(pid);
	if (!s->sym) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pid > 0) {
		/* 2 fds per thread: let a many-threaded target use the hard limit, not the soft one */
		struct rlimit rl;
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		err[0] = 0;
		n = scan_threads(s, err, errlen);
		if (n <= 0) {
			if (n < 0)
				snprintf(err, errlen, "process %d: %s", pid, strerror(-n));
			else if (!err[0])
				snprintf(err, errlen, "process %d has no threads left", pid);
			goto fail;
		}
		err[0] = 0;
	}
	for (int cpu = 0; pid <= 0 && cpu < maxcpu; cpu++) {
		if (on[cpu] && add_event(s, -1, cpu, err, errlen))
			goto fail;
		n++;
	}
	if (s->ring_mode) {
		if (pthread_create(&s->reader, NULL, ring_reader, s)) {
			snprintf(err, errlen, "cannot start the ring reader thread");
			goto fail;
		}
		s->reader_on = true;
	}
	free(on);
	return s;
fail:
	free(on);
	sampler_close(s);
	return NULL;
}

static int frame_lookup(struct sampler *s, unsigned long long addr, bool *fresh)
{
	unsigned long long h = addr * 0x9e3779b97f4a7c15ull;
	unsigned i = (unsigned)(h >> 40) & (FRAME_SLOTS - 1);

	for (;;) {
		struct frame_slot *f = &s->frames[i];
		if (!f->id) {
			if (s->nframes >= MAX_FRAMES)
				return -1;
			f->addr = addr;
			f->id = ++s->nframes;
			s->frame_addr[f->id - 1] = addr;
			*fresh = true;
			return (int)f->id - 1;
		}
		if (f->addr == addr) {
			*fresh = false;
			return (int)f->id - 1;
		}
		i = (i + 1) & (FRAME_SLOTS - 1);
	}
}

static void write_frame(struct sampler *s, FILE *out, int id, unsigned long long addr,
			bool kernel)
{
	struct sym_frame f;
	char hexaddr[24];

	if (kernel)
		symbolize_kernel(s->sym, addr, &f);
	else
		symbolize_user(s->sym, addr, &f);
	snprintf(hexaddr, sizeof(hexaddr), "0x%llx", addr);
	fprintf(out, "{\"type\":\"frame\",\"id\":%d,\"fn\":", id);
	if (f.fn) {
		json_write_strz(out, f.fn);
	} else if (f.has_elf_addr) {
		/* a file without a symbol here (stripped): module+ELF address is stable across runs */
		const char *base = strrchr(f.module, '/');
		char name[300];
		snprintf(name, sizeof(name), "%s+0x%llx", base ? base + 1 : f.module, f.elf_addr);
		json_write_strz(out, name);
	} else {
		json_write_strz(out, hexaddr); /* anonymous or JIT memory: the address is the name */
	}
	fprintf(out, ",\"off\":%llu,\"module\":", f.fn ? f.off : 0ull);
	json_write_strz(out, f.module);
	fputs(",\"build_id\":", out);
	json_write_strz(out, f.build_id);
	fprintf(out, ",\"addr\":\"%s\",\"elf_addr\":", hexaddr);
	if (f.has_elf_addr)
		fprintf(out, "\"0x%llx\"", f.elf_addr);
	else
		fputs("null", out);
	fprintf(out, ",\"kernel\":%s}\n", kernel ? "true" : "false");
}

/* Appends the frame ids of one stack (leaf first) to ids; false when the stack is gone or a frame
 * could not be interned (the table is full). Each stack id is read once per drain: many keys
 * (threads, the other half of the stack) share it. */
static bool add_stack(struct sampler *s, FILE *out, int map_fd, int stack_id, bool kernel,
		      int *ids, int *nids)
{
	unsigned h = ((unsigned)stack_id * 2654435761u) & (SC_SLOTS - 1);
	struct stack_slot *c;

	if (stack_id < 0)
		return true;
	for (;; h = (h + 1) & (SC_SLOTS - 1)) {
		c = &s->sc[h];
		if (c->gen != s->sc_gen || c->id == stack_id)
			break;
	}
	if (c->gen == s->sc_gen) {
		if (!c->ok)
			return false;
		memcpy(ids + *nids, s->fidbuf + c->start, c->len * sizeof(*ids));
		*nids += c->len;
		return true;
	}
	c->gen = s->sc_gen;
	c->id = stack_id;
	c->ok = false;
	s->used_stacks[s->nused++] = stack_id;
	memset(s->ips, 0, PKTPATH_MAX_STACK * sizeof(*s->ips));
	if (bpf_map_lookup_elem(map_fd, &stack_id, s->ips))
		return false;
	c->start = s->nfid;
	c->len = 0;
	for (int i = 0; i < PKTPATH_MAX_STACK && s->ips[i]; i++) {
		bool fresh;
		int id;
		/* Code built without frame pointers (Debian's DPDK and glibc) may leave %rbp holding
		 * data, and the frame-pointer walk then yields "return addresses" that point at no
		 * code. Nothing beyond such a value is a real caller: the stack ends there. */
		if (!kernel && s->pid > 0 && i > 0 && !symbolizer_is_user_code(s->sym, s->ips[i]))
			break;
		id = frame_lookup(s, s->ips[i], &fresh);
		if (id < 0)
			return false;
		if (fresh)
			write_frame(s, out, id, s->ips[i], kernel);
		ids[(*nids)++] = id;
		s->fidbuf[s->nfid++] = id;
		c->len++;
	}
	c->ok = true;
	return true;
}

/* Reads and deletes every count of the drained set, in batches where the kernel can. */
static int take_counts(struct sampler *s, int fd)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct pktpath_sample_key next;
	void *prev = NULL;
	__u32 batch = 0;
	int n = 0, k = 0;
	bool first = true;

	while (n < MAX_KEYS) {
		__u32 cnt = MAX_KEYS - n;
		int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, s->keys + n,
							  s->vals + n, &cnt, &opts);
		int e = errno;
		n += cnt;
		first = false;
		if (!err)
			continue;
		if (e == ENOENT)
			return n; /* all read */
		if (n)
			break; /* e.g. ENOSPC near the end of the buffer: the rest waits for next time */
		goto one_by_one; /* no batch support */
	}
	return n;
one_by_one:
	while (k < MAX_KEYS && !bpf_map_get_next_key(fd, prev, &next)) {
		s->keys[k] = next;
		prev = &s->keys[k++];
	}
	n = 0;
	for (int i = 0; i < k; i++) {
		if (bpf_map_lookup_and_delete_elem(fd, &s->keys[i], &s->vals[n])) {
			if (bpf_map_lookup_elem(fd, &s->keys[i], &s->vals[n]))
				continue;
			bpf_map_delete_elem(fd, &s->keys[i]);
		}
		s->keys[n++] = s->keys[i];
	}
	return n;
}

static void read_stats(struct sampler *s, struct pktpath_sample_stats *sum)
{
	unsigned zero = 0;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stats), &zero, s->percpu))
		return;
	for (int i = 0; i < s->ncpu_possible; i++) {
		sum->samples += s->percpu[i].samples;
		sum->lost_stacks += s->percpu[i].lost_stacks;
		sum->lost_entries += s->percpu[i].lost_entries;
		sum->late_ns += s->percpu[i].late_ns;
		sum->late_n += s->percpu[i].late_n;
		sum->run_ns += s->percpu[i].run_ns;
		sum->run_n += s->percpu[i].run_n;
	}
}

static void write_drop(FILE *out, const char *what, unsigned long long n)
{
	if (n)
		fprintf(out, "{\"type\":\"drop\",\"what\":\"%s\",\"count\":%llu}\n", what, n);
}

/* The target of the direct call (e8 rel32) that ends at addr, or 0 when it is not one. */
static unsigned long long direct_call_target(struct sampler *s, unsigned long long addr)
{
	unsigned char b[5];
	int rel;

	if (addr < 5 || symbolizer_read_code(s->sym, addr - 5, b, 5) || b[0] != 0xe8)
		return 0;
	memcpy(&rel, b + 1, 4);
	return addr + (long long)rel;
}

/* A scanned word can be a stale return address left in a slot that no live frame overwrote. One
 * kind is caught here: a direct call to a function that keeps a frame pointer, when the frame
 * below (the callee) is not that function — had that function been running, the walk would have
 * its frame. Indirect calls and calls into PLT stubs or code without frame pointers stay unchecked. */
static bool inconsistent_call(struct sampler *s, unsigned long long ret, unsigned long long callee_pc)
{
	unsigned long long t = direct_call_target(s, ret);
	struct sym_frame f;

	if (!t || !fp_prologue_len(s, t))
		return false;
	if (symbolize_user(s->sym, callee_pc, &f) || !f.fn)
		return true;
	return callee_pc - f.off != t;
}

/* Where the frame-pointer walk of a user stack (frame ids ids[0..*nids)) passes through a function
 * without a frame pointer, the frames after it are not its callers: replaces them with the
 * scanned words that are return addresses, innermost first, until one of them is a frame the walk
 * found too (the walk is back on track from there). Returns how many frames came from the scan;
 * 0 leaves the stack as it was. */
static int splice_scanned(struct sampler *s, FILE *out, const unsigned long long *scan, int *ids,
			  int *nids, bool *full)
{
	unsigned long long *F = s->splice, *out_addr = s->splice + PKTPATH_MAX_STACK;
	int n = *nids, i, k0 = 0, no = 0, scanned = 0;
	bool joined = false;

	if (!n || !scan[0])
		return 0;
	for (i = 0; i < n; i++)
		F[i] = s->frame_addr[ids[i]];
	for (i = 0; i < n - 1 && has_frame_pointer(s, F[i]); i++)
		;
	if (i == n - 1 && has_frame_pointer(s, F[i]))
		return 0; /* the walk vouches for every frame */
	/* frames the walk vouches for were found on the stack too: only the scan's words after the
	 * deepest of them can be callers of F[i] */
	for (int c = 0; c < PKTPATH_SCAN_MAX && scan[c]; c++)
		for (int j = 1; j <= i; j++)
			if (scan[c] == F[j])
				k0 = c + 1;
	for (int j = 0; j <= i; j++)
		out_addr[no++] = F[j];
	for (int c = k0; c < PKTPATH_SCAN_MAX && scan[c] && no < PKTPATH_MAX_STACK && !joined; c++) {
		bool dup = false;
		if (!is_return_address(s, scan[c]) || inconsistent_call(s, scan[c], out_addr[no - 1]))
			continue;
		for (int j = i + 1; j < n; j++)
			if (F[j] == scan[c]) {
				for (; j < n && no < PKTPATH_MAX_STACK; j++)
					out_addr[no++] = F[j];
				joined = true;
				break;
			}
		if (joined)
			break;
		for (int j = 0; j < no && !dup; j++)
			dup = out_addr[j] == scan[c];
		if (dup)
			continue;
		out_addr[no++] = scan[c];
		scanned++;
	}
	if (!scanned)
		return 0;
	for (int j = 0; j < no; j++) {
		bool fresh;
		int id = frame_lookup(s, out_addr[j], &fresh);
		if (id < 0) {
			*full = true;
			return 0;
		}
		if (fresh)
			write_frame(s, out, id, out_addr[j], false);
		ids[j] = id;
	}
	*nids = no;
	return scanned;
}

/* Each thread's task-clock and schedstat since the last drain, summed over the threads whose both
 * clocks could be read now and then (a thread that exited in between is left out of both): the
 * scheduler also charges a woken thread for the time from its wakeup to its first instruction
 * (the run-queue clock is not updated again when the wakeup preempts the idle task at once), which
 * task-clock does not count, so the two differ by that much per wakeup (see sampler_tick_fields). */
static void read_thread_clocks(struct sampler *s)
{
	s->cpu_ns = s->sched_ns = s->slices = 0;
	for (int i = 0; i < s->nev; i++) {
		struct sample_event *e = &s->evs[i];
		unsigned long long c, r, n;
		if (e->tid <= 0 || event_clock_ns(e->pfd, &c) || thread_sched_ns(s->pid, e->tid, &r, &n))
			continue;
		if (e->sched_ok && c >= e->clock_ns && r >= e->sched_ns && n >= e->slices) {
			s->cpu_ns += c - e->clock_ns;
			s->sched_ns += r - e->sched_ns;
			s->slices += n - e->slices;
		}
		e->clock_ns = c;
		e->sched_ns = r;
		e->slices = n;
		e->sched_ok = true;
	}
}

void sampler_tick_fields(struct sampler *s, FILE *out)
{
	if (!s)
		return;
	if (s->pid > 0)
		fprintf(out, ",\"cpu_ns\":%llu,\"sched_ns\":%llu,\"slices\":%llu", s->cpu_ns, s->sched_ns,
			s->slices);
	if (s->late_n)
		fprintf(out, ",\"timer_late_ns\":%llu", s->late_ns / s->late_n);
	if (s->run_n)
		fprintf(out, ",\"sample_run_ns\":%llu", s->run_ns / s->run_n);
}

/* The frame of a sample kernel mode caught in user mode, where it takes no user stack: the stream
 * wants a non-empty stack, and this CPU time is real. Its id, or -1 when the frame table is full. */
static int user_space_frame(struct sampler *s, FILE *out)
{
	bool fresh;
	int id = frame_lookup(s, 0, &fresh);
	if (id >= 0 && fresh)
		fprintf(out, "{\"type\":\"frame\",\"id\":%d,\"fn\":\"[user space]\",\"off\":0,"
			     "\"module\":\"[user]\",\"build_id\":null,\"addr\":\"0x0\","
			     "\"elf_addr\":null,\"kernel\":false}\n", id);
	return id;
}

/* One "stack" record (pktpath.h): frame ids leaf first; scanned > 0 says how many were spliced in. */
static void write_stack(FILE *out, unsigned seq, unsigned long long count, unsigned tid, const int *ids, int nids,
			int scanned)
{
	fprintf(out, "{\"type\":\"stack\",\"seq\":%u,\"count\":%llu,\"tid\":%u,\"frames\":[", seq, count, tid);
	for (int j = 0; j < nids; j++)
		fprintf(out, j ? ",%d" : "%d", ids[j]);
	if (scanned)
		fprintf(out, "],\"scanned\":%d}\n", scanned);
	else
		fputs("]}\n", out);
}

static void write_symbol_warnings(struct sampler *s, FILE *out)
{
	for (const char *w = symbolizer_take_warning(s->sym); w; w = symbolizer_take_warning(s->sym)) {
		fputs("{\"type\":\"warning\",\"message\":", out);
		json_write_strz(out, w);
		fputs("}\n", out);
	}
}

/* The user-space half of add_stack for a chain read from a ring: kernel frames (leaf first), then
 * user frames, as the BPF path writes them. false when the frame table is full. */
static bool chain_frames(struct sampler *s, FILE *out, const struct stack_entry *e, int *ids, int *nids,
			 int *nkernel)
{
	bool kernel = s->pid <= 0, stop_user = false;
	int user_i = 0;

	*nkernel = 0;
	for (unsigned i = 0; i < e->n && *nids < 2 * PKTPATH_MAX_STACK; i++) {
		unsigned long long ip = e->ips[i];
		bool fresh;
		int id;

		if (ip == SCAN_MARK)
			break;
		if (ip >= (unsigned long long)PERF_CONTEXT_MAX) {
			/* context markers say whose frames follow */
			if (ip == (unsigned long long)PERF_CONTEXT_KERNEL)
				kernel = true;
			else if (ip == (unsigned long long)PERF_CONTEXT_USER)
				kernel = false;
			continue;
		}
		if (!kernel) {
			/* as in add_stack: past a "return address" that is no code, the walk read data */
			if (stop_user || (s->pid > 0 && user_i > 0 && !symbolizer_is_user_code(s->sym, ip))) {
				stop_user = true;
				continue;
			}
			user_i++;
		}
		id = frame_lookup(s, ip, &fresh);
		if (id < 0)
			return false;
		if (fresh)
			write_frame(s, out, id, ip, kernel);
		ids[(*nids)++] = id;
		if (kernel)
			(*nkernel)++;
	}
	return true;
}

static int drain_rings(struct sampler *s, FILE *out, unsigned seq, unsigned long long *samples,
		       unsigned long long *lost)
{
	struct stack_table *done;
	const struct stack_entry *es;
	unsigned long long nsamples, nlost, nfull, lost_frames = 0;
	int ids[2 * PKTPATH_MAX_STACK];
	unsigned n;

	read_rings(s);
	symbolizer_allow_refresh(s->sym);
	if (s->pid > 0)
		read_thread_clocks(s);
	pthread_mutex_lock(&s->mu);
	if (s->pid > 0)
		scan_threads(s, NULL, 0); /* threads started since the last drain are sampled from now on */
	done = s->tabs[s->cur];
	s->cur ^= 1;
	nsamples = s->ring_samples - s->prev_ring_samples;
	nlost = s->ring_lost - s->prev_ring_lost;
	nfull = s->ring_full - s->prev_ring_full;
	s->prev_ring_samples = s->ring_samples;
	s->prev_ring_lost = s->ring_lost;
	s->prev_ring_full = s->ring_full;
	pthread_mutex_unlock(&s->mu);
	if (s->threads_over && !s->warned_over) {
		s->warned_over = true;
		fprintf(out, "{\"type\":\"warning\",\"message\":\"stack sampling covers %d "
			     "threads; %d more are not sampled\"}\n", MAX_THREADS, s->threads_over);
	}

	es = stack_table_entries(done, &n);
	for (unsigned i = 0; i < n; i++) {
		unsigned long long scan[PKTPATH_SCAN_MAX] = {0};
		int nids = 0, nk = 0, scanned = 0;

		if (!chain_frames(s, out, &es[i], ids, &nids, &nk)) {
			lost_frames += es[i].count;
			continue;
		}
		for (unsigned j = 0, c = 0; j < es[i].n; j++)
			if (es[i].ips[j] == SCAN_MARK)
				for (j++; j < es[i].n && c < PKTPATH_SCAN_MAX; j++)
					scan[c++] = es[i].ips[j];
		if (s->pid > 0 && nids > nk && nk <= PKTPATH_MAX_STACK && scan[0]) {
			int nu = nids - nk;
			bool full = false;
			scanned = splice_scanned(s, out, scan, ids + nk, &nu, &full);
			if (full) {
				lost_frames += es[i].count;
				continue;
			}
			nids = nk + nu;
		}
		if (!nids) {
			int id = user_space_frame(s, out);
			if (id < 0) {
				lost_frames += es[i].count;
				continue;
			}
			ids[nids++] = id;
		}
		write_stack(out, seq, es[i].count, es[i].tid, ids, nids, scanned);
	}
	stack_table_clear(done);
	write_symbol_warnings(s, out);
	/* the kernel's lost records and a full table lose samples before they are counted */
	write_drop(out, "stacks", nlost);
	write_drop(out, "entries", nfull);
	write_drop(out, "frames", lost_frames);
	if (samples)
		*samples += nsamples + nlost;
	if (lost)
		*lost += nlost + nfull + lost_frames;
	return 0;
}

int sampler_drain(struct sampler *s, FILE *out, unsigned seq, unsigned long long *samples,
		  unsigned long long *lost)
{
	struct pktpath_sample_stats now;
	int counts_fd, stacks_fd, nkeys = 0, ids[2 * PKTPATH_MAX_STACK];
	unsigned long long lost_frames = 0, lost_missing = 0, dropped_samples;
	struct pktpath_sample_key k;
	unsigned old;

	if (!s)
		return -EINVAL;
	if (s->ring_mode)
		return drain_rings(s, out, seq, samples, lost);
	/* flip the BPF program to the other map set and drain this one at leisure: samples taken
	 * meanwhile go to the other set instead of racing with the deletes below */
	old = s->active;
	s->active ^= 1;
	s->skel->bss->active = s->active;
	__sync_synchronize();
	counts_fd = bpf_map__fd(old ? s->skel->maps.counts1 : s->skel->maps.counts0);
	stacks_fd = bpf_map__fd(old ? s->skel->maps.stacks1 : s->skel->maps.stacks0);

	read_stats(s, &now);
	symbolizer_allow_refresh(s->sym);
	if (s->pid > 0)
		read_thread_clocks(s);
	if (s->pid > 0) {
		/* threads started since the last drain are sampled from now on */
		scan_threads(s, NULL, 0);
		if (s->threads_over && !s->warned_over) {
			s->warned_over = true;
			fprintf(out, "{\"type\":\"warning\",\"message\":\"stack sampling covers %d "
				     "threads; %d more are not sampled\"}\n", MAX_THREADS, s->threads_over);
		}
	}
	s->sc_gen++;
	s->nfid = 0;
	s->nused = 0;
	nkeys = take_counts(s, counts_fd);
	for (int i = 0; i < nkeys; i++) {
		unsigned long long count = s->vals[i];
		int nids = 0, nk, scanned = 0;
		bool full = false;

		k = s->keys[i];
		if (!count)
			continue;
		/* kernel frames are the leaf end of a user thread's stack */
		if (!add_stack(s, out, stacks_fd, k.kernel_stack, true, ids, &nids) ||
		    (nk = nids, !add_stack(s, out, stacks_fd, k.user_stack, false, ids, &nids))) {
			if (s->nframes >= MAX_FRAMES)
				lost_frames += count;
			else
				lost_missing += count;
			continue;
		}
		if (s->pid > 0 && k.user_stack >= 0) {
			int nu = nids - nk;
			scanned = splice_scanned(s, out, k.scan, ids + nk, &nu, &full);
			if (full) {
				lost_frames += count;
				continue;
			}
			nids = nk + nu;
		}
		if (!nids) {
			int id = user_space_frame(s, out);
			if (id < 0) {
				lost_frames += count;
				continue;
			}
			ids[nids++] = id;
		}
		write_stack(out, seq, count, k.tid, ids, nids, scanned);
	}
	/* empty the drained stack map so the next round on this set starts without collisions: the
	 * stacks read above, then whatever no count referred to (its count was lost) */
	for (int i = 0; i < s->nused; i++)
		bpf_map_delete_elem(stacks_fd, &s->used_stacks[i]);
	{
		unsigned id, nid;
		bool first = true;
		while (!bpf_map_get_next_key(stacks_fd, first ? NULL : &id, &nid)) {
			bpf_map_delete_elem(stacks_fd, &nid);
			id = nid;
			first = false;
		}
	}

	write_symbol_warnings(s, out);
	dropped_samples = (now.lost_stacks - s->prev.lost_stacks) +
			  (now.lost_entries - s->prev.lost_entries);
	write_drop(out, "stacks", now.lost_stacks - s->prev.lost_stacks + lost_missing);
	write_drop(out, "entries", now.lost_entries - s->prev.lost_entries);
	write_drop(out, "frames", lost_frames);
	s->late_ns = now.late_ns - s->prev.late_ns;
	s->late_n = now.late_n - s->prev.late_n;
	s->run_ns = now.run_ns - s->prev.run_ns;
	s->run_n = now.run_n - s->prev.run_n;
	if (samples)
		*samples += now.samples - s->prev.samples;
	if (lost)
		*lost += dropped_samples + lost_missing + lost_frames;
	s->prev = now;
	return 0;
}

void sampler_close(struct sampler *s)
{
	if (!s)
		return;
	if (s->reader_on) {
		s->reader_stop = 1;
		pthread_join(s->reader, NULL);
	}
	for (int i = 0; i < s->nev; i++)
		drop_event(&s->evs[i]);
	stack_table_free(s->tabs[0]);
	stack_table_free(s->tabs[1]);
	pthread_mutex_destroy(&s->mu);
	if (s->skel)
		SK(destroy)(s->skel);
	symbolizer_free(s->sym);
	free(s->evs);
	free(s->frames);
	free(s->keys);
	free(s->vals);
	free(s->sc);
	free(s->fidbuf);
	free(s->used_stacks);
	free(s->ips);
	free(s->percpu);
	free(s->frame_addr);
	free(s->verdicts);
	free(s->splice);
	free(s);
}
