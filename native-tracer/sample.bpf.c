// SPDX-License-Identifier: GPL-2.0
/* sample.bpf.c — CPU stack sampling on perf cpu-clock events. Counts are aggregated here per
 * {thread, user stack, kernel stack}; user space drains them every interval (sampler.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "pktpath.h"

/* kernel 6.2+; the loader falls back to the program without it (pktpath_sample) */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

#ifndef EFAULT
#define EFAULT 14
#endif

/* > 0: only this process's threads, user and kernel stacks; <= 0: every task, kernel stacks. */
const volatile int target_tgid = 0;

/* The target's main executable text (its r-x mappings, from /proc/PID/maps before load): words
 * of the user stack inside it are kept as candidate return addresses (sampler.c verifies them). */
const volatile __u64 text_lo[PKTPATH_SCAN_RANGES] = {};
const volatile __u64 text_hi[PKTPATH_SCAN_RANGES] = {};
const volatile int text_ranges = 0;
const volatile __u64 text_min = 0, text_max = 0; /* bounds all ranges: most words fail this */

#define SCAN_WORDS (PKTPATH_SCAN_BYTES / 8)

struct scan_buf {
	__u64 w[SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct scan_buf);
	__uint(max_entries, 1);
} scanbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pktpath_uret_chain);
	__uint(max_entries, 1);
} chainbuf SEC(".maps");

/* with stack copies: the uretprobe chain of each sample taken while one is pending */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} uret_chains SEC(".maps");

/* The current thread's pending uretprobes (see pktpath.h): how many were read into c. A pending
 * one has put the trampoline's address where its function's return address was, so neither the
 * scan nor an unwinder finds that caller unless it is put back (as the kernel does for its own
 * frame-pointer chains since 6.11, kernel/events/callchain.c). */
static __always_inline __u32 read_uret_chain(struct pktpath_uret_chain *c)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct return_instance *ri = BPF_CORE_READ(task, utask, return_instances);
	__u32 n = 0;

	c->n = 0;
	if (!ri)
		return 0;
	c->tramp = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	for (int i = 0; i < PKTPATH_URET_MAX; i++) { /* a bounded loop */
		if (!ri)
			break;
		c->stack[i] = BPF_CORE_READ(ri, stack);
		c->orig[i] = BPF_CORE_READ(ri, orig_ret_vaddr);
		n = i + 1;
		ri = BPF_CORE_READ(ri, next);
	}
	c->n = n;
	return n;
}

/* Two sets of maps: user space flips `active` and drains the set the program stopped writing, so
 * draining never races with new samples (sampler.c). */
unsigned int active = 0;

#define STACK_MAP(name)                                                                            \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                            \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, PKTPATH_MAX_STACK * sizeof(__u64));                             \
		__uint(max_entries, 16384);                                                        \
	} name SEC(".maps")
#define COUNT_MAP(name)                                                                            \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__type(key, struct pktpath_sample_key);                                            \
		__type(value, __u64);                                                              \
		__uint(max_entries, 16384);                                                        \
	} name SEC(".maps")

STACK_MAP(stacks0);
STACK_MAP(stacks1);
COUNT_MAP(counts0);
COUNT_MAP(counts1);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pktpath_sample_stats);
	__uint(max_entries, 1);
} stats SEC(".maps");

static __always_inline bool in_text(__u64 v)
{
	for (int r = 0; r < PKTPATH_SCAN_RANGES; r++)
		if (r < text_ranges && v >= text_lo[r] && v < text_hi[r])
			return true;
	return false;
}

struct scan_ctx {
	struct scan_buf *buf;
	struct pktpath_sample_key *key;
	__u32 n;
};

#define SCAN_CHUNK 32 /* words per bpf_loop callback: the callback's cost is per call */

static long scan_chunk(__u64 chunk, void *arg)
{
	struct scan_ctx *c = arg;

	if (chunk >= SCAN_WORDS / SCAN_CHUNK)
		return 1;
#pragma unroll
	for (int j = 0; j < SCAN_CHUNK; j++) {
		__u64 v = c->buf->w[chunk * SCAN_CHUNK + j];
		if (v < text_min || v >= text_max || !in_text(v))
			continue;
		if (c->n >= PKTPATH_SCAN_MAX)
			return 1;
		c->key->scan[c->n & (PKTPATH_SCAN_MAX - 1)] = v;
		c->n++;
	}
	return 0;
}

/* Copies the words of a window of the user stack above its pointer that lie in the executable's
 * text into key->scan, innermost first. The frame-pointer walk cannot see the callers of code built
 * without frame pointers; their return addresses are still on the stack. */
static __always_inline void scan_user_stack(struct pktpath_sample_key *key, struct pktpath_uret_chain *ch)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct scan_ctx c = {};
	__u32 zero = 0, words = SCAN_WORDS;
	__u64 sp;

	if (!regs || text_ranges <= 0)
		return;
	sp = regs->sp;
	c.buf = bpf_map_lookup_elem(&scanbuf, &zero);
	if (!c.buf || !sp)
		return;
	/* near the top of a stack the whole window may not be mapped: try a smaller one */
	if (bpf_probe_read_user(c.buf->w, sizeof(c.buf->w), (void *)sp)) {
		words = SCAN_WORDS / 8;
		if (bpf_probe_read_user(c.buf->w, words * 8, (void *)sp))
			return;
	}
	/* slots a pending uretprobe hijacked: the real return address, not the trampoline's */
	if (ch && ch->n) {
#pragma unroll
		for (int i = 0; i < PKTPATH_URET_MAX; i++) {
			__u64 off = ch->stack[i] - sp;
			if (i >= ch->n || off >= words * 8ull || (off & 7))
				continue;
			__u32 w = (off / 8) & (SCAN_WORDS - 1);
			if (c.buf->w[w] == ch->tramp)
				c.buf->w[w] = ch->orig[i];
		}
	}
	c.key = key;
	bpf_loop(words / SCAN_CHUNK, scan_chunk, &c, 0);
}

#define FP_FRAMES 48 /* frames of the walk checked for hijacked slots */

/* Replays the kernel's frame-pointer walk of the user stack (x86 perf_callchain_user: the pc,
 * then the return address above each saved %rbp) and notes, per entry whose slot a pending
 * uretprobe hijacked, that entry's real return address in key->uret_fix. */
struct walk_ctx {
	struct pktpath_sample_key *key;
	struct pktpath_uret_chain *ch;
	__u64 fp, sp;
	__u32 nfix;
};

static long walk_frame(__u64 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct pktpath_uret_chain *ch = w->ch;
	__u64 frame[2];

	if (w->nfix >= PKTPATH_URET_MAX || w->fp < w->sp || (w->fp & 7) ||
	    bpf_probe_read_user(frame, sizeof(frame), (void *)w->fp))
		return 1;
	for (int j = 0; j < PKTPATH_URET_MAX; j++) {
		if (j >= ch->n)
			break;
		if (ch->stack[j] == w->fp + 8 && frame[1] == ch->tramp) {
			w->key->uret_fix[w->nfix & (PKTPATH_URET_MAX - 1)] = ((i + 1) << 56) | ch->orig[j];
			w->nfix++;
			break;
		}
	}
	w->fp = frame[0];
	return 0;
}

/* Replays the kernel's frame-pointer walk of the user stack (x86 perf_callchain_user: the pc,
 * then the return address above each saved %rbp) and notes, per entry whose slot a pending
 * uretprobe hijacked, that entry's real return address in key->uret_fix. */
static __always_inline void fix_walk(struct pktpath_sample_key *key, struct pktpath_uret_chain *ch)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct walk_ctx w = { .key = key, .ch = ch };

	if (!regs)
		return;
	w.fp = regs->bp;
	w.sp = regs->sp;
	bpf_loop(FP_FRAMES, walk_frame, &w, 0);
}

static __always_inline int record(struct bpf_perf_event_data *ctx, void *stacks, void *counts,
				  struct pktpath_sample_stats *st, __u64 id)
{
	struct pktpath_sample_key key = {};
	__u64 one = 1, *cnt;
	long uid = -1, kid;

	/* -EFAULT means "no such stack" (a sample taken in user mode has no kernel part), anything
	 * else (-ENOMEM: map full, -EEXIST: hash collision) loses the sample */
	kid = bpf_get_stackid(ctx, stacks, 0);
	if (kid < 0 && kid != -EFAULT) {
		st->lost_stacks++;
		return 0;
	}
	if (target_tgid > 0) {
		uid = bpf_get_stackid(ctx, stacks, BPF_F_USER_STACK);
		if (uid < 0 && uid != -EFAULT) {
			st->lost_stacks++;
			return 0;
		}
	}
	key.tgid = id >> 32;
	key.tid = (__u32)id;
	key.user_stack = uid < 0 ? -1 : (int)uid;
	key.kernel_stack = kid < 0 ? -1 : (int)kid;
	if (target_tgid > 0 && uid >= 0) {
		__u32 zero = 0;
		struct pktpath_uret_chain *ch = bpf_map_lookup_elem(&chainbuf, &zero);

		if (ch && !read_uret_chain(ch))
			ch = NULL;
		if (ch)
			fix_walk(&key, ch);
		scan_user_stack(&key, ch);
	}

	cnt = bpf_map_lookup_elem(counts, &key);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		return 0;
	}
	/* another CPU may have inserted the key meanwhile: then add to its count */
	if (bpf_map_update_elem(counts, &key, &one, BPF_NOEXIST)) {
		cnt = bpf_map_lookup_elem(counts, &key);
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		else
			st->lost_entries++;
	}
	return 0;
}

/* How late the clock event's hrtimer fired: it runs this program from its expiry handler, before
 * the handler moves the expiry on. The first firing after a switch-in (the timer is re-armed there)
 * is the late one: samples due in a slice's first microseconds land this much later, in whatever
 * runs then (what short bursts are sensitive to). */
static __always_inline void timer_late(struct bpf_perf_event_data *ctx, struct pktpath_sample_stats *st)
{
	struct bpf_perf_event_data_kern *k = bpf_cast_to_kern_ctx(ctx);
	struct perf_event *ev = k->event;
	__s64 late = (__s64)bpf_ktime_get_ns() - BPF_CORE_READ(ev, hw.hrtimer.node.expires);

	if (late >= 0 && late < 10000000) {
		st->late_ns += late;
		st->late_n++;
	}
}

/* A sample of the target counted, and the lateness of its timer: its stats, or NULL when the sample
 * is another process's. *t0 is when the program started. */
static __always_inline struct pktpath_sample_stats *count_sample(struct bpf_perf_event_data *ctx, __u64 id, bool late, __u64 *t0)
{
	struct pktpath_sample_stats *st;
	__u32 zero = 0;

	if (target_tgid > 0 && (__u32)(id >> 32) != (__u32)target_tgid)
		return NULL;
	*t0 = bpf_ktime_get_ns();
	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return NULL;
	st->samples++;
	if (late)
		timer_late(ctx, st);
	return st;
}

/* with the lateness, the time each sample takes from the thread (sampled.ts corrects for it) */
static __always_inline void count_run(struct pktpath_sample_stats *st, __u64 t0)
{
	st->run_ns += bpf_ktime_get_ns() - t0;
	st->run_n++;
}

static __always_inline int sample(struct bpf_perf_event_data *ctx, bool late)
{
	__u64 id = bpf_get_current_pid_tgid(), t0 = 0;
	struct pktpath_sample_stats *st = count_sample(ctx, id, late, &t0);
	int r;

	if (!st)
		return 0;
	if (active & 1)
		r = record(ctx, &stacks1, &counts1, st, id);
	else
		r = record(ctx, &stacks0, &counts0, st, id);
	count_run(st, t0);
	return r;
}

/* The sample's uretprobe chain, if any, with the time the kernel gave the sample (it prepares the
 * sample before running this program): the tracer pairs the two by thread and time. Needs the
 * kernel context (bpf_cast_to_kern_ctx), as timer_late does. */
static __always_inline void send_uret_chain(struct bpf_perf_event_data *ctx, __u32 tid)
{
	struct bpf_perf_event_data_kern *k = bpf_cast_to_kern_ctx(ctx);
	struct pktpath_uret_chain *c, *out;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&chainbuf, &zero);
	if (!c || !read_uret_chain(c))
		return;
	c->tid = tid;
	c->time = BPF_CORE_READ(k, data, time);
	if (!c->time)
		return;
	out = bpf_ringbuf_reserve(&uret_chains, sizeof(*out), 0);
	if (!out)
		return; /* the tracer then leaves that sample's trampoline frames as they are */
	__builtin_memcpy(out, c, sizeof(*out));
	bpf_ringbuf_submit(out, BPF_RB_NO_WAKEUP);
}

/* With stack copies (--unwind dwarf) the kernel writes each sample, user registers and stack
 * included, to the event's ring when the program returns non-zero; the tracer unwinds it there.
 * The program only keeps the sampler's own time, as above. */
static __always_inline int pass(struct bpf_perf_event_data *ctx, bool late)
{
	__u64 id = bpf_get_current_pid_tgid(), t0 = 0;
	struct pktpath_sample_stats *st = count_sample(ctx, id, late, &t0);

	if (!st)
		return 0;
	if (late)
		send_uret_chain(ctx, (__u32)id);
	count_run(st, t0);
	return 1;
}

/* The four entry points the loader picks one of by name: with or without the stacks, and "late"
 * (the timer's lateness read through a kfunc of kernels >= 6.2, so a program of its own that older
 * kernels never load). */
#define SAMPLE_ENTRY(name, fn, late)                          \
	SEC("perf_event")                                     \
	int name(struct bpf_perf_event_data *ctx)             \
	{                                                     \
		return fn(ctx, late);                         \
	}

SAMPLE_ENTRY(pktpath_sample, sample, false)
SAMPLE_ENTRY(pktpath_sample_late, sample, true)
SAMPLE_ENTRY(pktpath_sample_pass, pass, false)
SAMPLE_ENTRY(pktpath_sample_pass_late, pass, true)

char LICENSE[] SEC("license") = "GPL";
