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
static __always_inline void scan_user_stack(struct pktpath_sample_key *key)
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
	c.key = key;
	bpf_loop(words / SCAN_CHUNK, scan_chunk, &c, 0);
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
	if (target_tgid > 0 && uid >= 0)
		scan_user_stack(&key);

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

static __always_inline int sample(struct bpf_perf_event_data *ctx, bool late)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pktpath_sample_stats *st;
	__u32 zero = 0;

	if (target_tgid > 0 && (__u32)(id >> 32) != (__u32)target_tgid)
		return 0;
	__u64 t0 = bpf_ktime_get_ns();
	int r;

	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return 0;
	st->samples++;
	if (late)
		timer_late(ctx, st);
	if (active & 1)
		r = record(ctx, &stacks1, &counts1, st, id);
	else
		r = record(ctx, &stacks0, &counts0, st, id);
	/* with the lateness, the time each sample takes from the thread (sampled.ts corrects for it) */
	st->run_ns += bpf_ktime_get_ns() - t0;
	st->run_n++;
	return r;
}

/* With stack copies (--unwind dwarf) the kernel writes each sample, user registers and stack
 * included, to the event's ring when the program returns non-zero; the tracer unwinds it there.
 * The program only keeps the sampler's own time, as above. */
static __always_inline int pass(struct bpf_perf_event_data *ctx, bool late)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pktpath_sample_stats *st;
	__u32 zero = 0;

	if (target_tgid > 0 && (__u32)(id >> 32) != (__u32)target_tgid)
		return 0;
	__u64 t0 = bpf_ktime_get_ns();

	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return 1;
	st->samples++;
	if (late)
		timer_late(ctx, st);
	st->run_ns += bpf_ktime_get_ns() - t0;
	st->run_n++;
	return 1;
}

SEC("perf_event")
int pktpath_sample(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, false);
}

SEC("perf_event")
int pktpath_sample_pass(struct bpf_perf_event_data *ctx)
{
	return pass(ctx, false);
}

SEC("perf_event")
int pktpath_sample_pass_late(struct bpf_perf_event_data *ctx)
{
	return pass(ctx, true);
}

SEC("perf_event")
int pktpath_sample_late(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, true);
}

char LICENSE[] SEC("license") = "GPL";
