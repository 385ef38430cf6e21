/* pktpath.h — the one header shared by the BPF programs and the user-space tracer: the layout of
 * the maps both sides touch, and the constants the stream carries. The stream itself is written by
 * stream.c and specified in docs/stream.md; test/unit/stream-schema-tidy.test.ts holds the TS side
 * (src/tracer/protocol.ts, stream-schema.ts) to this file. */
#ifndef PKTPATH_H
#define PKTPATH_H

/* bumped when a reader of the old version would misread the stream; added members keep it */
#define PKTPATH_STREAM_VERSION 1

/* ---- limits ---------------------------------------------------------------------------------- */
#define PKTPATH_MAX_STAGES 32   /* stages per recording */
#define PKTPATH_MAX_DEPTH 16    /* nesting/recursion depth of one stage on one thread */
#define PKTPATH_MAX_MATCH 16    /* argument values one stage matches (uprobe :argN=V,...) */
#define PKTPATH_MAX_STACK 64    /* frames kept per sampled stack (user and kernel each) */
#define PKTPATH_SCAN_BYTES 2048 /* user stack window scanned for return addresses (--pid) */
#define PKTPATH_SCAN_MAX 16     /* candidate words kept per sample (a power of two) */
#define PKTPATH_SCAN_RANGES 4   /* executable text ranges the candidates must fall in */
#define PKTPATH_DWARF_STACK_BYTES 8192 /* user stack copied per sample for CFI unwinding (perf's default) */

/* ---- the latency histogram: log-linear, 6.25% buckets, the top one from 2^MAX_POW ns up ------- */
#define PKTPATH_HIST_SUB_BITS 4
#define PKTPATH_HIST_SUB (1 << PKTPATH_HIST_SUB_BITS)
#define PKTPATH_HIST_MAX_POW 37
#define PKTPATH_HIST_BUCKETS ((PKTPATH_HIST_MAX_POW - PKTPATH_HIST_SUB_BITS + 2) * PKTPATH_HIST_SUB)

/* ---- stage kinds and how a call's packets are counted --------------------------------------- */
enum pktpath_stage_kind {
	PKTPATH_KIND_UPROBE = 1,     /* uprobe + uretprobe pair: latency per call */
	PKTPATH_KIND_USDT = 2,       /* a USDT probe: a point event, latency since the previous stage */
	PKTPATH_KIND_TRACEPOINT = 3, /* kernel tracepoint (raw_tp / tp_btf): point event */
	PKTPATH_KIND_KPROBE = 4,     /* kprobe + kretprobe pair, where the kernel has kprobes */
	PKTPATH_KIND_FENTRY = 5,     /* fentry + fexit pair, where the kernel allows them */
};

enum pktpath_packets_from {
	PKTPATH_PKTS_ONE = 0, /* every call is one packet */
	PKTPATH_PKTS_RET = 1, /* the return value (rx/tx burst functions) */
	PKTPATH_PKTS_ARG = 2, /* argument number `packets_arg` (0-based) read at entry */
};

/* Per-stage, per-CPU totals; the histogram lives beside it in its own per-CPU array. */
struct pktpath_stage_totals {
	unsigned long long calls;     /* completed calls (or point events) */
	unsigned long long packets;   /* packets those calls handled */
	unsigned long long sum_ns;    /* sum of measured latencies */
	unsigned long long unmatched; /* returns without an entry, depth overflows, lost skb keys */
	unsigned long long timed;     /* calls whose latency went into sum_ns and the histogram */
	unsigned long long busy_calls; /* timed calls that handled packets (> 0): a poll function's busy ones */
	unsigned long long busy_ns;    /* their latencies' sum */
};

/* Per-CPU totals of the calls of stage `child` made while stage `parent` was the innermost stage
 * running on the thread, at index parent * PKTPATH_MAX_STAGES + child. */
struct pktpath_nest_totals {
	unsigned long long calls;
	unsigned long long sum_ns;
};

/* The return addresses a thread's pending uretprobes replaced with the uprobe trampoline (the
 * kernel's utask->return_instances, newest first): stack[i] is where the hijacked slot is,
 * orig[i] what it held. sample.bpf.c puts them back into the stack scan; with stack copies it
 * sends one per sample to user space, paired with the perf sample by thread and time. */
#define PKTPATH_URET_MAX 8
struct pktpath_uret_chain {
	unsigned int tid;
	unsigned int n;
	unsigned long long time;  /* the perf sample's PERF_SAMPLE_TIME */
	unsigned long long tramp; /* the trampoline's address (the [uprobes] mapping's) */
	unsigned long long stack[PKTPATH_URET_MAX];
	unsigned long long orig[PKTPATH_URET_MAX];
};

/* ---- CPU stack sampling (sample.bpf.c <-> bpf_samples.c): one count per distinct sample key,
 * kept in a BPF hash and drained (read and deleted) every interval ---- */
struct pktpath_sample_key {
	unsigned int tgid;
	unsigned int tid;
	int user_stack;   /* id in the stack-trace map; -1: none (kernel mode) */
	int kernel_stack; /* id in the stack-trace map; -1: none (the sample caught user mode) */
	/* words above %rsp inside the executable's text, innermost first, 0-filled (unwind_scan.c) */
	unsigned long long scan[PKTPATH_SCAN_MAX];
	/* entries of the user stack's frame-pointer walk whose slot a pending uretprobe hijacked:
	 * (index << 56) | real return address, 0-filled. The kernel (6.11+) puts the trampoline's
	 * i-th occurrence back as the i-th pending uretprobe's, wrong when a hijacked slot is not on
	 * the walk (a function without a frame pointer) */
	unsigned long long uret_fix[PKTPATH_URET_MAX];
};

/* Per-CPU running totals (never reset; the drain takes differences). */
struct pktpath_sample_stats {
	unsigned long long samples;      /* samples of the sampled task(s) */
	unsigned long long lost_stacks;  /* bpf_get_stackid failed (map full, hash collision) */
	unsigned long long lost_entries; /* the count hash was full */
	unsigned long long late_ns;      /* sum over samples: how late the sampling timer fired */
	unsigned long long late_n;       /* samples in late_ns */
	unsigned long long run_ns;       /* sum over recorded samples: the sampling program's own run time */
	unsigned long long run_n;        /* samples in run_ns */
};

#endif /* PKTPATH_H */
