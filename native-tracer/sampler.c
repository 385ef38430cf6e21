/* sampler.c — per-CPU perf cpu-clock events with sample.bpf.c attached; each drain reads and
 * deletes the in-kernel counts and writes frame/stack records (see sampler.h, pktpath.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sampler.h"
#include "json.h"
#include "pktpath.h"
#include "symbolize.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

struct frame_slot {
	unsigned long long addr; /* user and kernel addresses never coincide on x86-64 */
	unsigned id;             /* id + 1; 0 = empty */
};

struct sampler {
	struct SKEL *skel;
	int pid;
	int ncpus;
	int *pfds;
	struct bpf_link **links;
	struct symbolizer *sym;
	struct frame_slot *frames;
	unsigned nframes;
	unsigned long long frames_dropped;
	struct pktpath_sample_key *keys;
	unsigned long long *ips;
	int ncpu_possible;
	struct pktpath_sample_stats prev;
	struct pktpath_sample_stats *percpu;
	unsigned active; /* which of the two map sets the BPF program writes to */
};

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

static void perf_error(int err, int hz, char *msg, size_t len)
{
	int paranoid = -9, maxrate = 0;
	read_int_file("/proc/sys/kernel/perf_event_paranoid", &paranoid);
	read_int_file("/proc/sys/kernel/perf_event_max_sample_rate", &maxrate);
	if (err == EACCES || err == EPERM)
		snprintf(msg, len,
			 "perf_event_open(cpu-clock): %s: needs CAP_PERFMON or CAP_SYS_ADMIN "
			 "(kernel.perf_event_paranoid=%d; per-CPU events need it <= 0 without them)",
			 strerror(err), paranoid);
	else if (err == ENODEV || err == ENOENT || err == EOPNOTSUPP)
		snprintf(msg, len, "perf_event_open(cpu-clock): %s: this kernel has no software "
			 "cpu-clock event (CONFIG_PERF_EVENTS)", strerror(err));
	else if (err == EINVAL && maxrate > 0 && hz > maxrate)
		snprintf(msg, len, "perf_event_open(cpu-clock): sample rate %d Hz is above "
			 "kernel.perf_event_max_sample_rate=%d", hz, maxrate);
	else if (err == EMFILE)
		snprintf(msg, len, "perf_event_open(cpu-clock): too many open files (ulimit -n)");
	else
		snprintf(msg, len, "perf_event_open(cpu-clock): %s", strerror(err));
}

struct sampler *sampler_open(int pid, int hz, char *err, size_t errlen)
{
	struct sampler *s;
	struct perf_event_attr attr;
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
	s->ncpu_possible = libbpf_num_possible_cpus();
	maxcpu = s->ncpu_possible > 0 ? s->ncpu_possible : 1;
	s->pfds = malloc(maxcpu * sizeof(*s->pfds));
	s->links = calloc(maxcpu, sizeof(*s->links));
	on = calloc(maxcpu, sizeof(*on));
	s->frames = calloc(FRAME_SLOTS, sizeof(*s->frames));
	s->keys = malloc(MAX_KEYS * sizeof(*s->keys));
	s->ips = malloc(PKTPATH_MAX_STACK * sizeof(*s->ips));
	s->percpu = calloc(maxcpu, sizeof(*s->percpu));
	if (!s->pfds || !s->links || !on || !s->frames || !s->keys || !s->ips || !s->percpu ||
	    s->ncpu_possible <= 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (online_cpus(on, maxcpu) <= 0) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online");
		goto fail;
	}
	s->skel = SK(open)();
	if (!s->skel) {
		snprintf(err, errlen, "sampler BPF object: open failed: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->target_tgid = pid > 0 ? pid : 0;
	e = SK(load)(s->skel);
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

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = hz;
	for (int cpu = 0; cpu < maxcpu; cpu++) {
		int fd;
		if (!on[cpu])
			continue;
		/* every task on the CPU: the BPF program keeps the target's samples (by tgid), which
		 * also covers threads the target creates after we start */
		fd = perf_event_open(&attr, -1, cpu);
		if (fd < 0) {
			perf_error(errno, hz, err, errlen);
			goto fail;
		}
		s->pfds[n] = fd;
		s->links[n] = bpf_program__attach_perf_event(s->skel->progs.pktpath_sample, fd);
		if (!s->links[n]) {
			e = errno;
			close(fd);
			snprintf(err, errlen, "attach sampler to cpu-clock on CPU %d: %s", cpu,
				 strerror(e));
			goto fail;
		}
		n++;
		s->ncpus = n;
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

/* Appends the frame ids of one stack (leaf first) to ids; false when a frame could not be
 * interned (the table is full). */
static bool add_stack(struct sampler *s, FILE *out, int map_fd, int stack_id, bool kernel,
		      int *ids, int *nids)
{
	if (stack_id < 0)
		return true;
	memset(s->ips, 0, PKTPATH_MAX_STACK * sizeof(*s->ips));
	if (bpf_map_lookup_elem(map_fd, &stack_id, s->ips))
		return false;
	for (int i = 0; i < PKTPATH_MAX_STACK && s->ips[i]; i++) {
		bool fresh;
		int id = frame_lookup(s, s->ips[i], &fresh);
		if (id < 0)
			return false;
		if (fresh)
			write_frame(s, out, id, s->ips[i], kernel);
		ids[(*nids)++] = id;
	}
	return true;
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
	}
}

static void write_drop(FILE *out, const char *what, unsigned long long n)
{
	if (n)
		fprintf(out, "{\"type\":\"drop\",\"what\":\"%s\",\"count\":%llu}\n", what, n);
}

int sampler_drain(struct sampler *s, FILE *out, unsigned seq, unsigned long long *samples,
		  unsigned long long *lost)
{
	struct pktpath_sample_stats now;
	int counts_fd, stacks_fd, nkeys = 0, ids[2 * PKTPATH_MAX_STACK];
	unsigned long long lost_frames = 0, lost_missing = 0, dropped_samples;
	struct pktpath_sample_key k, next;
	void *prev = NULL;
	unsigned old;

	if (!s)
		return -EINVAL;
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
	while (nkeys < MAX_KEYS && !bpf_map_get_next_key(counts_fd, prev, &next)) {
		s->keys[nkeys] = next;
		prev = &s->keys[nkeys++];
	}
	for (int i = 0; i < nkeys; i++) {
		unsigned long long count = 0;
		int nids = 0;

		k = s->keys[i];
		if (bpf_map_lookup_and_delete_elem(counts_fd, &k, &count)) {
			if (bpf_map_lookup_elem(counts_fd, &k, &count))
				continue;
			bpf_map_delete_elem(counts_fd, &k);
		}
		if (!count)
			continue;
		/* kernel frames are the leaf end of a user thread's stack */
		if (!add_stack(s, out, stacks_fd, k.kernel_stack, true, ids, &nids) ||
		    !add_stack(s, out, stacks_fd, k.user_stack, false, ids, &nids)) {
			if (s->nframes >= MAX_FRAMES)
				lost_frames += count;
			else
				lost_missing += count;
			continue;
		}
		if (!nids) {
			/* kernel mode caught a task in user mode, where it takes no user stack: the
			 * stream wants a non-empty stack, and this CPU time is real */
			bool fresh;
			int id = frame_lookup(s, 0, &fresh);
			if (id < 0) {
				lost_frames += count;
				continue;
			}
			if (fresh)
				fprintf(out, "{\"type\":\"frame\",\"id\":%d,\"fn\":\"[user space]\",\"off\":0,"
					     "\"module\":\"[user]\",\"build_id\":null,\"addr\":\"0x0\","
					     "\"elf_addr\":null,\"kernel\":false}\n", id);
			ids[nids++] = id;
		}
		fprintf(out, "{\"type\":\"stack\",\"seq\":%u,\"count\":%llu,\"tid\":%u,\"frames\":[",
			seq, count, k.tid);
		for (int j = 0; j < nids; j++)
			fprintf(out, j ? ",%d" : "%d", ids[j]);
		fputs("]}\n", out);
	}
	/* empty the drained stack map so the next round on this set starts without collisions */
	{
		unsigned id, nid;
		bool first = true;
		while (!bpf_map_get_next_key(stacks_fd, first ? NULL : &id, &nid)) {
			bpf_map_delete_elem(stacks_fd, &nid);
			id = nid;
			first = false;
		}
	}

	dropped_samples = (now.lost_stacks - s->prev.lost_stacks) +
			  (now.lost_entries - s->prev.lost_entries);
	write_drop(out, "stacks", now.lost_stacks - s->prev.lost_stacks + lost_missing);
	write_drop(out, "entries", now.lost_entries - s->prev.lost_entries);
	write_drop(out, "frames", lost_frames);
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
	for (int i = 0; i < s->ncpus; i++) {
		bpf_link__destroy(s->links[i]);
		close(s->pfds[i]);
	}
	if (s->skel)
		SK(destroy)(s->skel);
	symbolizer_free(s->sym);
	free(s->pfds);
	free(s->links);
	free(s->frames);
	free(s->keys);
	free(s->ips);
	free(s->percpu);
	free(s);
}
