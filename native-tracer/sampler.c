/* sampler.c — CPU stack sampling (sampler.h): perf clock events (sample_events.c) deliver samples
 * to the BPF program (bpf_samples.c) or, without BPF, to perf rings (ring_samples.c); each drain
 * takes the interval's counted samples from there, finds their frames (kernel frames as the
 * kernel gave them, user frames through unwind.h), and writes frame and stack records. */
#include "sampler.h"
#include "bpf_samples.h"
#include "frame_table.h"
#include "pktpath.h"
#include "ring_samples.h"
#include "sample_events.h"
#include "stream.h"
#include "symbolize.h"
#include "thread_clocks.h"
#include "unwind.h"
#include "unwind_cfi.h"
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_FRAMES (1u << 18) /* distinct frames interned over a run */
#define MAX_THREADS 1024      /* perf events (2 fds each) on one target's threads */

struct sampler {
	int pid;
	struct sample_events ev;
	struct text_ranges text;   /* --pid: the executable's text, for the stack scan */
	struct bpf_samples *bpf;   /* with BPF (counting, or only timing with stack copies) */
	struct ring_samples *ring; /* without BPF, or with stack copies */
	struct cfi_unwinder *cfi;  /* stack copies: the ring reader's unwinder */
	unsigned copy_bytes;
	bool warned_cut, warned_no_info;
	struct symbolizer *sym;
	struct unwinder *unw;
	struct frame_table *frames;
	bool warned_over;
	/* --pid: over the last drained interval, the sampled threads' task-clock (the time the samples
	 * are drawn from) and what the scheduler charged the same threads (sampler_tick) */
	struct interval_clocks clocks;
	/* with BPF: the running totals at the last drain; over the last drained interval, the
	 * sampling timer's lateness summed over late_n samples and the program's run time over run_n */
	struct pktpath_sample_stats prev;
	unsigned long long late_ns, late_n, run_ns, run_n;
};

struct sampler *sampler_open(int pid, int hz, bool use_bpf, unsigned copy_bytes, char *err, size_t errlen)
{
	struct sampler *s;
	int ncpu, n;
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
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		snprintf(err, errlen, "cannot count the possible CPUs: %s", strerror(-ncpu));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || sample_events_init(&s->ev, pid, hz, pid > 0 ? MAX_THREADS : ncpu)) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->pid = pid;
	s->copy_bytes = pid > 0 ? copy_bytes : 0;
	if (pid > 0)
		text_ranges_read(pid, &s->text);
	if (use_bpf) {
		s->bpf = bpf_samples_open(pid, &s->text, s->copy_bytes > 0, err, errlen);
		if (!s->bpf)
			goto fail;
		s->ev.prog = bpf_samples_program(s->bpf);
	}
	if (!use_bpf || s->copy_bytes) {
		ring_samples_configure(&s->ev, &s->text, s->copy_bytes);
		if (s->copy_bytes && !(s->cfi = cfi_unwinder_new(pid, err, errlen)))
			goto fail;
	}
	s->sym = symbolizer_new(pid);
	s->unw = s->sym ? unwinder_new(s->sym, pid) : NULL;
	s->frames = frame_table_new(MAX_FRAMES);
	if (!s->sym || !s->unw || !s->frames) {
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
		n = sample_events_scan_threads(&s->ev, err, errlen);
		if (n <= 0) {
			if (n < 0)
				snprintf(err, errlen, "process %d: %s", pid, strerror(-n));
			else if (!err[0])
				snprintf(err, errlen, "process %d has no threads left", pid);
			goto fail;
		}
		err[0] = 0;
	} else if (sample_events_open_cpus(&s->ev, err, errlen) < 0) {
		goto fail;
	}
	if (s->ev.rings && !(s->ring = ring_samples_start(&s->ev, &s->text, s->cfi,
							    bpf_samples_chains_fd(s->bpf), err, errlen)))
		goto fail;
	return s;
fail:
	sampler_close(s);
	return NULL;
}

void sampler_close(struct sampler *s)
{
	if (!s)
		return;
	ring_samples_stop(s->ring); /* before its events go */
	cfi_unwinder_free(s->cfi);  /* the reader's, which has stopped */
	sample_events_close(&s->ev);
	bpf_samples_close(s->bpf);
	unwinder_free(s->unw);
	symbolizer_free(s->sym);
	frame_table_free(s->frames);
	free(s);
}

static const char *named_by(enum sym_source src)
{
	switch (src) {
	case SYM_SYMTAB: return "symtab";
	case SYM_DYNSYM: return "dynsym";
	case SYM_EH_FRAME: return "eh_frame";
	case SYM_KALLSYMS: return "kallsyms";
	case SYM_PLT: return "plt";
	default: return NULL;
	}
}

/* A frame's record: its symbol, or for code no symbol covers here (stripped) the start of its
 * function's FDE, or module+ELF address; both are stable across runs. In anonymous or JIT memory
 * the address is the name. */
static void write_frame(struct sampler *s, FILE *out, int id, unsigned long long addr, bool kernel)
{
	struct sym_frame f;
	char name[300];
	struct frame_rec r = { .id = id, .addr = addr, .kernel = kernel };

	if (kernel)
		symbolize_kernel(s->sym, addr, &f);
	else
		symbolize_user(s->sym, addr, &f);
	if (f.fn) {
		r.fn = f.fn;
		r.off = f.off;
		r.named_by = named_by(f.named_by);
	} else if (f.has_elf_addr) {
		const char *base = strrchr(f.module, '/');
		snprintf(name, sizeof(name), "%s+0x%llx", base ? base + 1 : f.module, f.elf_addr);
		r.fn = name;
	} else {
		snprintf(name, sizeof(name), "0x%llx", addr);
		r.fn = name;
	}
	r.module = f.module;
	r.build_id = f.build_id;
	r.has_elf_addr = f.has_elf_addr;
	r.elf_addr = f.elf_addr;
	stream_frame(out, &r);
}

/* addr's frame id, writing its frame record the first time; -1 when the frame table is full */
static int frame_id(struct sampler *s, FILE *out, unsigned long long addr, bool kernel)
{
	bool fresh;
	int id = frame_table_id(s->frames, addr, &fresh);

	if (id >= 0 && fresh)
		write_frame(s, out, id, addr, kernel);
	return id;
}

/* The frame of a sample kernel mode caught in user mode, where it takes no user stack: the stream
 * wants a non-empty stack, and this CPU time is real. Its id, or -1 when the frame table is full. */
static int user_space_frame(struct sampler *s, FILE *out)
{
	bool fresh;
	int id = frame_table_id(s->frames, 0, &fresh);
	if (id >= 0 && fresh)
		stream_frame(out, &(struct frame_rec){ .id = id, .fn = "[user space]", .module = "[user]" });
	return id;
}

/* The frame ids of one sample into ids[0..2 * PKTPATH_MAX_STACK): kernel frames leaf first, then
 * the user frames unwind_user finds (*scanned: how many of them the stack scan found), and how
 * each was found into found[] (the stream's letters, NUL-terminated). false when the frame table
 * is full. */
static bool sample_frames(struct sampler *s, FILE *out, const unsigned long long *kern, int nk,
			  const struct user_sample *us, int *ids, int *n, int *scanned, char *found)
{
	unsigned long long pc[PKTPATH_MAX_STACK];
	unsigned char how[PKTPATH_MAX_STACK];
	int nu = us ? unwind_user(s->unw, us, pc, how) : 0, id;

	*n = *scanned = 0;
	for (int i = 0; i < nk && i < PKTPATH_MAX_STACK; i++) {
		if ((id = frame_id(s, out, kern[i], true)) < 0)
			return false;
		found[*n] = 'k';
		ids[(*n)++] = id;
	}
	for (int i = 0; i < nu; i++) {
		if ((id = frame_id(s, out, pc[i], false)) < 0)
			return false;
		found[*n] = frame_how_letter(how[i]);
		ids[(*n)++] = id;
		*scanned += how[i] == FRAME_SCAN;
	}
	if (!*n) {
		if ((id = user_space_frame(s, out)) < 0)
			return false;
		found[*n] = 'k'; /* what kernel mode's sampler said: the task was in user space */
		ids[(*n)++] = id;
	}
	found[*n] = 0;
	return true;
}

static void write_symbol_warnings(struct sampler *s, FILE *out)
{
	for (const char *w = symbolizer_take_warning(s->sym); w; w = symbolizer_take_warning(s->sym))
		stream_warning(out, w);
}

static void warn_threads_over(struct sampler *s, FILE *out)
{
	if (!s->ev.threads_over || s->warned_over)
		return;
	s->warned_over = true;
	stream_warningf(out, "stack sampling covers %d threads; %d more are not sampled", s->ev.cap,
			s->ev.threads_over);
}

/* Each thread's task-clock and schedstat since the last drain (see thread_clocks.h). */
static void read_thread_clocks(struct sampler *s)
{
	memset(&s->clocks, 0, sizeof(s->clocks));
	for (int i = 0; i < s->ev.n; i++) {
		struct sample_event *e = &s->ev.ev[i];
		thread_clock_advance(&e->clock, s->pid, e->tid, e->pfd, &s->clocks);
	}
}

/* threads started since the last drain are sampled from now on */
static void scan_threads(void *ctx)
{
	struct sampler *s = ctx;
	if (s->pid > 0)
		sample_events_scan_threads(&s->ev, NULL, 0);
}

/* The sampling timer's lateness and the program's run time over the interval since the last drain. */
static void note_sampler_time(struct sampler *s, const struct pktpath_sample_stats *now)
{
	s->late_ns = now->late_ns - s->prev.late_ns;
	s->late_n = now->late_n - s->prev.late_n;
	s->run_ns = now->run_ns - s->prev.run_ns;
	s->run_n = now->run_n - s->prev.run_n;
	s->prev = *now;
}

/* Once a run each: stacks cut at the end of the copied stack, or where neither CFI nor a frame
 * pointer went on, in more than 1% of an interval's samples. */
static void warn_unwind_ends(struct sampler *s, FILE *out, const struct ring_interval *iv)
{
	if (!s->cfi || !iv->samples)
		return;
	if (!s->warned_cut && iv->cut * 100 > iv->samples) {
		s->warned_cut = true;
		stream_warningf(out, "%llu of %llu samples' stacks went on past the %u bytes of user stack copied with "
				"each sample: their outermost callers are missing (--stack-bytes)",
				iv->cut, iv->samples, s->copy_bytes);
	}
	if (!s->warned_no_info && iv->no_info * 100 > iv->samples) {
		s->warned_no_info = true;
		stream_warningf(out, "%llu of %llu samples reached code without CFI (.eh_frame) or frame pointer: "
				"their callers beyond it come from a stack scan (found \"s\"; may hold stale return addresses)",
				iv->no_info, iv->samples);
	}
}

static int drain_rings(struct sampler *s, FILE *out, unsigned seq, unsigned long long *samples,
		       unsigned long long *lost)
{
	struct ring_interval iv;
	struct stack_table *done;
	const struct stack_entry *es;
	unsigned long long lost_frames = 0;
	int ids[2 * PKTPATH_MAX_STACK];
	unsigned n;

	symbolizer_allow_refresh(s->sym);
	if (s->pid > 0)
		read_thread_clocks(s);
	done = ring_samples_swap(s->ring, scan_threads, s, &iv);
	warn_threads_over(s, out);
	es = stack_table_entries(done, &n);
	for (unsigned i = 0; i < n; i++) {
		struct ring_chain ch;
		struct user_sample us;
		char found[2 * PKTPATH_MAX_STACK + 1];
		int nids, scanned;

		ring_chain_split(&es[i], s->pid <= 0, &ch);
		us = (struct user_sample){ .walk = ch.user, .nwalk = ch.nuser, .scan = ch.scan,
					   .found = ch.has_found ? ch.found : NULL };
		if (!sample_frames(s, out, ch.kernel, ch.nkernel, &us, ids, &nids, &scanned, found)) {
			lost_frames += es[i].count;
			continue;
		}
		stream_stack(out, seq, es[i].count, es[i].tid, ids, nids, scanned, found);
	}
	warn_unwind_ends(s, out, &iv);
	stack_table_clear(done);
	write_symbol_warnings(s, out);
	/* the kernel's lost records and a full table lose samples before they are counted */
	stream_drop(out, "stacks", iv.lost);
	stream_drop(out, "entries", iv.full);
	stream_drop(out, "frames", lost_frames);
	if (samples)
		*samples += iv.samples + iv.lost;
	if (lost)
		*lost += iv.lost + iv.full + lost_frames;
	return 0;
}

int sampler_drain(struct sampler *s, FILE *out, unsigned seq, unsigned long long *samples,
		  unsigned long long *lost)
{
	struct pktpath_sample_stats now;
	const struct pktpath_sample_key *keys;
	const unsigned long long *vals;
	unsigned long long lost_frames = 0, lost_missing = 0, dropped;
	int nkeys, ids[2 * PKTPATH_MAX_STACK];
	char found[2 * PKTPATH_MAX_STACK + 1];

	if (!s)
		return -EINVAL;
	if (s->ring) {
		/* with stack copies the program only timed the samples: its numbers, the rings' stacks */
		if (s->bpf) {
			bpf_samples_flip(s->bpf, &now);
			note_sampler_time(s, &now);
		}
		return drain_rings(s, out, seq, samples, lost);
	}
	bpf_samples_flip(s->bpf, &now);
	symbolizer_allow_refresh(s->sym);
	if (s->pid > 0) {
		read_thread_clocks(s);
		scan_threads(s);
		warn_threads_over(s, out);
	}
	nkeys = bpf_samples_take(s->bpf, &keys, &vals);
	for (int i = 0; i < nkeys; i++) {
		const struct pktpath_sample_key *k = &keys[i];
		const unsigned long long *kips = NULL, *uips = NULL;
		int nk, nu, nids, scanned;
		struct user_sample us;

		if (!vals[i])
			continue;
		nk = bpf_samples_stack(s->bpf, k->kernel_stack, &kips);
		nu = bpf_samples_stack(s->bpf, k->user_stack, &uips);
		if (nk < 0 || nu < 0) {
			lost_missing += vals[i];
			continue;
		}
		/* the walk's entries a pending uretprobe hijacked: their real return addresses */
		unsigned long long walk[PKTPATH_MAX_STACK];
		if (nu > PKTPATH_MAX_STACK)
			nu = PKTPATH_MAX_STACK;
		memcpy(walk, uips, nu * sizeof(walk[0]));
		for (int f = 0; f < PKTPATH_URET_MAX && k->uret_fix[f]; f++) {
			int at = (int)(k->uret_fix[f] >> 56);
			if (at < nu)
				walk[at] = k->uret_fix[f] & ((1ull << 56) - 1);
		}
		us = (struct user_sample){ .walk = walk, .nwalk = nu, .scan = s->pid > 0 ? k->scan : NULL };
		if (!sample_frames(s, out, kips, nk, &us, ids, &nids, &scanned, found)) {
			lost_frames += vals[i];
			continue;
		}
		stream_stack(out, seq, vals[i], k->tid, ids, nids, scanned, found);
	}
	bpf_samples_clear(s->bpf);

	write_symbol_warnings(s, out);
	dropped = (now.lost_stacks - s->prev.lost_stacks) + (now.lost_entries - s->prev.lost_entries);
	stream_drop(out, "stacks", now.lost_stacks - s->prev.lost_stacks + lost_missing);
	stream_drop(out, "entries", now.lost_entries - s->prev.lost_entries);
	stream_drop(out, "frames", lost_frames);
	if (samples)
		*samples += now.samples - s->prev.samples;
	if (lost)
		*lost += dropped + lost_missing + lost_frames;
	note_sampler_time(s, &now);
	return 0;
}

void sampler_tick(struct sampler *s, struct tick_rec *t)
{
	if (!s)
		return;
	if (s->pid > 0) {
		t->has_clocks = true;
		t->cpu_ns = s->clocks.cpu_ns;
		t->sched_ns = s->clocks.sched_ns;
		t->slices = s->clocks.slices;
	}
	t->has_timer_late = s->late_n > 0;
	t->timer_late_ns = s->late_n ? s->late_ns / s->late_n : 0;
	t->has_sample_run = s->run_n > 0;
	t->sample_run_ns = s->run_n ? s->run_ns / s->run_n : 0;
}
