// SPDX-License-Identifier: GPL-2.0
/* pktpath.bpf.c — stage probes: per-call (entry/return pairs) or per-event (point) latencies,
 * aggregated in the kernel into per-stage totals and log-linear histograms (layout: pktpath.h).
 *
 * One program serves every stage of its kind; the stage id travels in the attach cookie (uprobe,
 * kprobe, USDT) or, where a cookie cannot be attached (raw_tp, fentry with libbpf 1.1), in which
 * of the numbered slot programs was attached. Slot PKTPATH_CAL_STAGE is the calibration stage. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "pktpath.h"
#include "tracer_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- configuration, fixed before load ---- */
const volatile __u32 targ_tgid = 0; /* 0: every process */
const volatile __u32 self_tgid = 0; /* the tracer itself, for calibration */
const volatile struct pktpath_stage_cfg stage_cfg[PKTPATH_SLOTS] = {};
const volatile __u32 fentry_stage[PKTPATH_FENTRY_SLOTS] = {}; /* stage id of each fentry slot */
const volatile __u32 netns_ino = 0; /* --netns: skb-keyed stages see only skbs of this netns; 0: all */

/* ---- switched at run time through the mmapped .bss ---- */
volatile __u32 counting = 0; /* all stages count only while this is 1 (one instant range for all stages) */
volatile __u32 calibrating = 0; /* the calibration slot counts while this is 1 */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTPATH_SLOTS);
	__type(key, __u32);
	__type(value, struct pktpath_stage_totals);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTPATH_SLOTS * PKTPATH_HIST_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

/* Entry timestamps per (thread, stage), as a stack so nested and recursive calls match. */
struct pp_entry_key {
	__u32 tid;
	__u32 stage;
};
struct pp_entry_stack {
	__u32 depth;   /* may exceed PKTPATH_MAX_DEPTH: deeper frames are counted, not timed */
	__u32 counted; /* bit d: frame d was entered while counting */
	__u64 ts[PKTPATH_MAX_DEPTH];
	__u64 arg[PKTPATH_MAX_DEPTH];
	__u8 outer[PKTPATH_MAX_DEPTH]; /* 1 + the thread's innermost stage when frame d was entered; 0: none */
	__u8 which[PKTPATH_MAX_DEPTH]; /* 1 + the stage frame d's call is (of the stages sharing the site); 0: none */
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pp_entry_key);
	__type(value, struct pp_entry_stack);
} entries SEC(".maps");

/* Stages that share one uprobe site, told apart by an argument (stage_cfg.match_arg): (site, value)
 * -> stage. Filled by the loader after load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PKTPATH_MAX_STAGES * PKTPATH_MAX_MATCH);
	__type(key, struct pktpath_match_key);
	__type(value, __u32);
} match_of SEC(".maps");

/* 1 + the innermost entry/return stage running on each thread (0: none), for the stage tree. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} thread_stage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTPATH_MAX_STAGES * PKTPATH_MAX_STAGES);
	__type(key, __u32);
	__type(value, struct pktpath_nest_totals);
} nest SEC(".maps");

/* Last point event per packet (skb address) or per thread (USDT): the previous stage's time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} point_last SEC(".maps");

/* Last keyed point event on this CPU, for tracepoints that carry no skb (fib:fib_table_lookup). */
struct pp_cpu_last {
	__u64 ts;
	__u64 key;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pp_cpu_last);
} cpu_last SEC(".maps");

static const struct pp_entry_stack zero_stack;

/* an opaque barrier: the compiler forgets what it knew about v */
#define KEEP(v) asm volatile("" : "+r"(v))

/* ---- helpers ---- */
static __always_inline bool stage_counts(__u32 stage)
{
	return stage == PKTPATH_CAL_STAGE ? calibrating : counting;
}

static __always_inline bool pid_ok(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return !targ_tgid || tgid == targ_tgid || tgid == self_tgid;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;
	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffff) << 4; v >>= s; r |= s;
	s = (v > 0xff) << 3; v >>= s; r |= s;
	s = (v > 0xf) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	return r | (__u32)(v >> 1);
}

/* idx(v) exactly as pktpath.h defines it, clamped to the top bucket. */
static __always_inline __u32 hist_idx(__u64 v)
{
	__u32 p, idx;

	if (v < PKTPATH_HIST_SUB)
		return v;
	p = log2_u64(v);
	idx = (p - PKTPATH_HIST_SUB_BITS + 1) * PKTPATH_HIST_SUB +
	      ((v >> (p - PKTPATH_HIST_SUB_BITS)) & (PKTPATH_HIST_SUB - 1));
	return idx < PKTPATH_HIST_BUCKETS ? idx : PKTPATH_HIST_BUCKETS - 1;
}

static __always_inline struct pktpath_stage_totals *totals_of(__u32 stage)
{
	return bpf_map_lookup_elem(&totals, &stage);
}

static __always_inline void count_unmatched(__u32 stage)
{
	struct pktpath_stage_totals *t = totals_of(stage);

	if (t)
		t->unmatched++;
}

/* One completed call (or event) of `stage`; timed calls also go into sum_ns and the histogram. */
static __always_inline void record(__u32 stage, bool timed, __u64 lat, __u64 pkts)
{
	struct pktpath_stage_totals *t = totals_of(stage);
	__u32 key;
	__u64 *b;

	if (!t)
		return;
	t->calls++;
	t->packets += pkts;
	if (!timed)
		return;
	t->timed++;
	t->sum_ns += lat;
	if (pkts) {
		t->busy_calls++;
		t->busy_ns += lat;
	}
	key = stage * PKTPATH_HIST_BUCKETS + hist_idx(lat);
	b = bpf_map_lookup_elem(&hist, &key);
	if (b)
		(*b)++;
}

static __always_inline __u64 packets_of(__u32 stage, __u64 ret, __u64 arg)
{
	__s32 n;

	if (stage >= PKTPATH_SLOTS)
		return 1;
	switch (stage_cfg[stage].packets_from) {
	case PKTPATH_PKTS_RET:
		n = (__s32)ret; /* burst functions return a small int; negative means an error */
		return n > 0 ? n : 0;
	case PKTPATH_PKTS_ARG:
		return arg;
	default:
		return 1;
	}
}

/* ---- entry/return pairs ---- */
/* `site` is the stage whose probe fired; `stage` the one the call is (PKTPATH_SLOTS: none of the
 * stages sharing the site, a call that is pushed so its return pairs, and never counted). */
static __always_inline void on_entry(__u32 site, __u32 stage, __u64 arg)
{
	struct pp_entry_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .stage = site };
	struct pp_entry_stack *st;
	__u32 d, *cur, inner;

	st = bpf_map_lookup_elem(&entries, &key);
	if (!st) {
		bpf_map_update_elem(&entries, &key, &zero_stack, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&entries, &key);
		if (!st)
			return;
	}
	d = st->depth;
	st->depth = d + 1;
	if (d >= PKTPATH_MAX_DEPTH)
		return;
	KEEP(d); /* hide the check from the compiler so the mask below survives for the verifier */
	d &= PKTPATH_MAX_DEPTH - 1;
	/* written in place: an update of an LRU hash element allocates a new one (~1 us a call more here) */
	cur = bpf_map_lookup_elem(&thread_stage, &key.tid);
	if (stage >= PKTPATH_SLOTS) {
		/* not one of ours: the thread's innermost stage stays what it was */
		st->outer[d] = cur ? (__u8)*cur : 0;
		st->which[d] = 0;
		st->counted &= ~(1u << d);
		return;
	}
	st->which[d] = (__u8)(stage + 1);
	inner = stage + 1;
	if (cur) {
		st->outer[d] = (__u8)*cur;
		*cur = inner;
	} else {
		st->outer[d] = 0;
		bpf_map_update_elem(&thread_stage, &key.tid, &inner, BPF_NOEXIST);
	}
	st->ts[d] = bpf_ktime_get_ns();
	st->arg[d] = arg;
	if (stage_counts(stage))
		st->counted |= 1u << d;
	else
		st->counted &= ~(1u << d);
}

static __always_inline void on_return(__u32 site, __u64 ret)
{
	__u64 now = bpf_ktime_get_ns();
	struct pp_entry_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .stage = site };
	struct pp_entry_stack *st;
	struct pktpath_nest_totals *nt;
	__u32 d, outer, idx, *cur, stage;
	__u64 lat, pkts;

	st = bpf_map_lookup_elem(&entries, &key);
	if (!st || st->depth == 0) {
		if (stage_counts(site))
			count_unmatched(site);
		return;
	}
	d = --st->depth;
	if (d >= PKTPATH_MAX_DEPTH) {
		if (stage_counts(site))
			count_unmatched(site); /* deeper than we keep timestamps for */
		return;
	}
	KEEP(d);
	d &= PKTPATH_MAX_DEPTH - 1;
	outer = st->outer[d];
	cur = bpf_map_lookup_elem(&thread_stage, &key.tid);
	if (cur)
		*cur = outer;
	if (st->which[d] == 0)
		return; /* a call of none of the site's stages */
	stage = st->which[d] - 1;
	if (stage >= PKTPATH_SLOTS)
		return;
	/* a call already in flight when counting began, or one ending after it stopped, is ignored */
	if (!(st->counted & (1u << d)) || !stage_counts(stage))
		return;
	lat = now - st->ts[d];
	pkts = packets_of(stage, ret, st->arg[d]);
	record(stage, true, lat, pkts);
	if (outer == 0 || outer > PKTPATH_MAX_STAGES || stage >= PKTPATH_MAX_STAGES)
		return;
	idx = (outer - 1) * PKTPATH_MAX_STAGES + stage;
	nt = bpf_map_lookup_elem(&nest, &idx);
	if (nt) {
		nt->calls++;
		nt->sum_ns += lat;
	}
}

/* Argument n (0-based) of a uprobe. Reads all five argument registers at fixed offsets first: the
 * verifier rejects a ctx access whose offset depends on a value, which is what a switch over ctx
 * fields compiles into. */
static __always_inline __u64 uarg_n(struct pt_regs *ctx, __u32 n)
{
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx),
	      a3 = PT_REGS_PARM4(ctx), a4 = PT_REGS_PARM5(ctx);

	KEEP(a0); KEEP(a1); KEEP(a2); KEEP(a3); KEEP(a4);
	switch (n) {
	case 0: return a0;
	case 1: return a1;
	case 2: return a2;
	case 3: return a3;
	case 4: return a4;
	default: return 0; /* the loader accepts arg0..arg4 only */
	}
}

static __always_inline __u64 uarg(struct pt_regs *ctx, __u32 stage)
{
	KEEP(stage); /* checked again here, on the register the access uses, for the verifier */
	if (stage >= PKTPATH_SLOTS || stage_cfg[stage].packets_from != PKTPATH_PKTS_ARG)
		return 0;
	return uarg_n(ctx, stage_cfg[stage].packets_arg);
}

/* The stage a call at `site` is: the site's own, or with match_arg the one its argument names
 * (PKTPATH_SLOTS: none of them). */
static __always_inline __u32 uprobe_stage(struct pt_regs *ctx, __u32 site)
{
	struct pktpath_match_key k = { .site = site };
	__u32 *s;

	if (site >= PKTPATH_SLOTS || !stage_cfg[site].match_arg)
		return site;
	k.val = uarg_n(ctx, stage_cfg[site].match_arg - 1);
	s = bpf_map_lookup_elem(&match_of, &k);
	return s && *s < PKTPATH_SLOTS ? *s : PKTPATH_SLOTS;
}

static __always_inline void uprobe_entry(struct pt_regs *ctx)
{
	__u32 site = bpf_get_attach_cookie(ctx), stage;

	if (!pid_ok())
		return;
	stage = uprobe_stage(ctx, site);
	on_entry(site, stage, uarg(ctx, stage));
}

SEC("uprobe")
int stage_uentry(struct pt_regs *ctx)
{
	uprobe_entry(ctx);
	return 0;
}

SEC("uretprobe")
int stage_ureturn(struct pt_regs *ctx)
{
	if (pid_ok())
		on_return(bpf_get_attach_cookie(ctx), PT_REGS_RC(ctx));
	return 0;
}

/* The same two for multi-uprobe links (one link per program and binary for every site; cookies
 * carry the stage ids): the loader sets their expected attach type, which per-site links refuse. */
SEC("uprobe")
int stage_uentry_multi(struct pt_regs *ctx)
{
	uprobe_entry(ctx);
	return 0;
}

SEC("uretprobe")
int stage_ureturn_multi(struct pt_regs *ctx)
{
	if (pid_ok())
		on_return(bpf_get_attach_cookie(ctx), PT_REGS_RC(ctx));
	return 0;
}

SEC("kprobe")
int stage_kentry(struct pt_regs *ctx)
{
	__u32 stage = bpf_get_attach_cookie(ctx);

	if (pid_ok())
		on_entry(stage, stage, uarg(ctx, stage));
	return 0;
}

SEC("kretprobe")
int stage_kreturn(struct pt_regs *ctx)
{
	if (pid_ok())
		on_return(bpf_get_attach_cookie(ctx), PT_REGS_RC(ctx));
	return 0;
}

/* fentry/fexit need their target at load time, so each stage gets a numbered slot program. */
static __always_inline void fentry_hit(void *ctx, __u32 stage)
{
	__u64 arg = 0;

	if (!pid_ok() || stage >= PKTPATH_SLOTS)
		return;
	if (stage_cfg[stage].packets_from == PKTPATH_PKTS_ARG)
		bpf_get_func_arg(ctx, stage_cfg[stage].packets_arg, &arg);
	on_entry(stage, stage, arg);
}

static __always_inline void fexit_hit(void *ctx, __u32 stage)
{
	__u64 ret = 0;

	if (!pid_ok() || stage >= PKTPATH_SLOTS)
		return;
	bpf_get_func_ret(ctx, &ret);
	on_return(stage, ret);
}

#define FENTRY_SLOT(n)                                                                             \
	SEC("fentry/bpf_fentry_test1") int fentry_slot##n(__u64 *ctx) { fentry_hit(ctx, fentry_stage[n]); return 0; } \
	SEC("fexit/bpf_fentry_test1") int fexit_slot##n(__u64 *ctx) { fexit_hit(ctx, fentry_stage[n]); return 0; }
FENTRY_SLOT(0) FENTRY_SLOT(1) FENTRY_SLOT(2) FENTRY_SLOT(3)
FENTRY_SLOT(4) FENTRY_SLOT(5) FENTRY_SLOT(6) FENTRY_SLOT(7)

/* ---- point events ---- */
static __always_inline void point_event(__u32 stage, __u64 key, bool by_cpu, __u64 pkts)
{
	__u64 now = bpf_ktime_get_ns();
	bool first = stage_cfg[stage].first_point;
	bool counts = stage_counts(stage);
	__u32 zero = 0;
	struct pp_cpu_last *cl = bpf_map_lookup_elem(&cpu_last, &zero);
	__u64 *prev;

	if (!cl)
		return;
	if (by_cpu) {
		/* under --netns, an event counts only after a keyed event of that netns on this CPU */
		if (netns_ino && stage != PKTPATH_CAL_STAGE && !cl->key)
			return;
		/* the previous keyed event on this CPU is taken as this packet's previous stage */
		if (counts)
			record(stage, !first && cl->ts, cl->ts ? now - cl->ts : 0, pkts);
		if (counts && !first && !cl->ts)
			count_unmatched(stage);
		cl->ts = now;
		/* BPF_EXIST: a packet whose path ended (or whose skb was freed) gets no new entry */
		if (cl->key)
			bpf_map_update_elem(&point_last, &cl->key, &now, BPF_EXIST);
		return;
	}
	prev = bpf_map_lookup_elem(&point_last, &key);
	if (counts) {
		/* the first stage of a path starts a new packet's timeline: an skb address may be reused */
		record(stage, !first && prev, prev ? now - *prev : 0, pkts);
		if (!first && !prev)
			count_unmatched(stage);
	}
	if (stage_cfg[stage].last_point) {
		/* the path ends here: a later skb at this address must not find this packet's time */
		if (prev)
			bpf_map_delete_elem(&point_last, &key);
		cl->ts = now;
		cl->key = 0;
		return;
	}
	if (prev)
		*prev = now;
	else
		bpf_map_update_elem(&point_last, &key, &now, BPF_ANY);
	cl->ts = now;
	cl->key = key;
}

/* the network namespace of an skb: its device's, else its socket's; 0 when it has neither */
static __always_inline __u32 skb_netns(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct sock *sk;

	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	sk = BPF_CORE_READ(skb, sk);
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return 0;
}

static __always_inline __u32 dev_netns(struct net_device *dev)
{
	return dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
}

/* a device argument of the tracepoint (net_dev_xmit) wins: after a veth transmit skb->dev is
 * already the peer in the next namespace, and the skb may even be freed */
static __always_inline __u32 tp_netns(struct bpf_raw_tracepoint_args *ctx, __u32 stage)
{
	switch (stage_cfg[stage].dev_arg) {
	case 0: return skb_netns((struct sk_buff *)ctx->args[0]);
	case 1: return dev_netns((struct net_device *)ctx->args[0]);
	case 2: return dev_netns((struct net_device *)ctx->args[1]);
	case 3: return dev_netns((struct net_device *)ctx->args[2]);
	case 4: return dev_netns((struct net_device *)ctx->args[3]);
	case 5: return dev_netns((struct net_device *)ctx->args[4]);
	default: return 0;
	}
}

static __always_inline void tp_hit(struct bpf_raw_tracepoint_args *ctx, __u32 stage)
{
	/* the calibration tracepoint (sys_enter) counts the tracer's own calls only */
	if (stage == PKTPATH_CAL_STAGE && (bpf_get_current_pid_tgid() >> 32) != self_tgid)
		return;
	if (stage_cfg[stage].key_skb) {
		if (netns_ino && stage != PKTPATH_CAL_STAGE && tp_netns(ctx, stage) != netns_ino) {
			/* another namespace's packet: a CPU-keyed stage after it is not ours either */
			__u32 zero = 0;
			struct pp_cpu_last *cl = bpf_map_lookup_elem(&cpu_last, &zero);

			if (cl) {
				cl->ts = 0;
				cl->key = 0;
			}
			return;
		}
		point_event(stage, ctx->args[0], false, 1);
	} else {
		point_event(stage, 0, true, 1);
	}
}

/* A freed skb's address will be reused by another packet: forget its last stage's time. Attached
 * (after the stages, so a stage on the same tracepoint runs first) whenever a stage is skb-keyed. */
SEC("raw_tp/kfree_skb")
int skb_freed(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];

	bpf_map_delete_elem(&point_last, &key);
	return 0;
}

SEC("raw_tp/consume_skb")
int skb_consumed(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];

	bpf_map_delete_elem(&point_last, &key);
	return 0;
}

/* A socket read ends a packet's path too, and UDP frees a read skb through the per-CPU napi cache
 * without any free tracepoint. */
SEC("raw_tp/skb_copy_datagram_iovec")
int skb_read(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];

	bpf_map_delete_elem(&point_last, &key);
	return 0;
}

#define TP_SLOT(n) \
	SEC("raw_tp") int tp_slot##n(struct bpf_raw_tracepoint_args *ctx) { tp_hit(ctx, n); return 0; }
TP_SLOT(0) TP_SLOT(1) TP_SLOT(2) TP_SLOT(3) TP_SLOT(4) TP_SLOT(5) TP_SLOT(6) TP_SLOT(7)
TP_SLOT(8) TP_SLOT(9) TP_SLOT(10) TP_SLOT(11) TP_SLOT(12) TP_SLOT(13) TP_SLOT(14) TP_SLOT(15)
TP_SLOT(16) TP_SLOT(17) TP_SLOT(18) TP_SLOT(19) TP_SLOT(20) TP_SLOT(21) TP_SLOT(22) TP_SLOT(23)
TP_SLOT(24) TP_SLOT(25) TP_SLOT(26) TP_SLOT(27) TP_SLOT(28) TP_SLOT(29) TP_SLOT(30) TP_SLOT(31)
TP_SLOT(32) /* PKTPATH_CAL_STAGE */

SEC("usdt")
int stage_usdt(struct pt_regs *ctx)
{
	__u32 stage = bpf_usdt_cookie(ctx);
	long arg = 1;

	if (!pid_ok() || stage >= PKTPATH_SLOTS)
		return 0;
	if (stage_cfg[stage].packets_from == PKTPATH_PKTS_ARG &&
	    bpf_usdt_arg(ctx, stage_cfg[stage].packets_arg, &arg))
		arg = 0;
	/* USDT point events of a process are ordered per thread */
	point_event(stage, (__u32)bpf_get_current_pid_tgid(), false, arg > 0 ? arg : 0);
	return 0;
}
