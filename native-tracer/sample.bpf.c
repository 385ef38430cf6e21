// SPDX-License-Identifier: GPL-2.0
/* sample.bpf.c — CPU stack sampling on perf cpu-clock events. Counts are aggregated here per
 * {thread, user stack, kernel stack}; user space drains them every interval (sampler.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pktpath.h"

#ifndef EFAULT
#define EFAULT 14
#endif

/* > 0: only this process's threads, user and kernel stacks; <= 0: every task, kernel stacks. */
const volatile int target_tgid = 0;

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

SEC("perf_event")
int pktpath_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pktpath_sample_stats *st;
	__u32 zero = 0;

	if (target_tgid > 0 && (__u32)(id >> 32) != (__u32)target_tgid)
		return 0;
	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return 0;
	st->samples++;
	if (active & 1)
		return record(ctx, &stacks1, &counts1, st, id);
	return record(ctx, &stacks0, &counts0, st, id);
}

char LICENSE[] SEC("license") = "GPL";
