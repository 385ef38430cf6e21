/* pktpath.h — the one header shared by the BPF programs and the user-space tracer.
 *
 * It defines (1) the layout of the BPF maps both sides touch and (2) the line-oriented stream the
 * tracer writes on stdout. The stream is mirrored, field for field, in src/tracer/protocol.ts;
 * change both together and bump PKTPATH_STREAM_VERSION when a reader would misread the new form.
 */
#ifndef PKTPATH_H
#define PKTPATH_H

#define PKTPATH_STREAM_VERSION 1

/* ---- limits ---------------------------------------------------------------------------------- */
#define PKTPATH_MAX_STAGES 32   /* stages per recording */
#define PKTPATH_MAX_DEPTH 16    /* nesting/recursion depth of one stage on one thread */
#define PKTPATH_MAX_STACK 64    /* frames kept per sampled stack (user and kernel each) */
#define PKTPATH_SCAN_BYTES 2048 /* user stack window scanned for return addresses (--pid) */
#define PKTPATH_SCAN_MAX 16     /* candidate words kept per sample (a power of two) */
#define PKTPATH_SCAN_RANGES 4   /* executable text ranges the candidates must fall in */

/* ---- log-linear latency histogram ---------------------------------------------------------------
 * Values (ns) below 2^SUB_BITS have a bucket each. Above, each power of two [2^p, 2^(p+1)) is split
 * into 2^SUB_BITS equal sub-buckets, so the relative width of a bucket is at most 1/2^SUB_BITS
 * (6.25%). The top bucket holds everything from 2^PKTPATH_HIST_MAX_POW ns (~137 s) up.
 *   idx(v) = v                                            if v < 2^SUB_BITS
 *          = (p - SUB_BITS + 1) * 2^SUB_BITS + ((v >> (p - SUB_BITS)) & (2^SUB_BITS - 1)),
 *            p = floor(log2 v)                             otherwise
 */
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
	unsigned long long calls;   /* completed calls (or point events) */
	unsigned long long packets; /* packets those calls handled */
	unsigned long long sum_ns;  /* sum of measured latencies */
	unsigned long long unmatched; /* returns without an entry, depth overflows, lost skb keys */
	/* Added (stream "timed"): calls whose latency went into sum_ns and the histogram. Equal to
	 * calls for entry/return pairs; for point events the first stage of a path (and events with
	 * no previous event) are counted in calls but have no latency. Mean = sum_ns / timed. */
	unsigned long long timed;
};

/* ---- CPU stack sampling (sample.bpf.c <-> sampler.c) ------------------------------------------
 * One count per distinct {thread, user stack, kernel stack}, kept in a BPF hash and drained (read
 * and deleted) every interval. A stack id < 0 means that half of the stack is absent (a sample in
 * user mode has no kernel stack; kernel mode samples no user stacks). */
struct pktpath_sample_key {
	unsigned int tgid;
	unsigned int tid;
	int user_stack;   /* id in the stack-trace map, or -1 */
	int kernel_stack; /* id in the stack-trace map, or -1 */
	/* Added: words of the user stack window above %rsp that lie in the target executable's
	 * text, innermost first, 0-filled: candidate return addresses (sampler.c keeps the ones
	 * preceded by a call instruction) */
	unsigned long long scan[PKTPATH_SCAN_MAX];
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

/* ---- the stream ---------------------------------------------------------------------------------
 * One JSON object per line, UTF-8, '\n'-terminated; the "type" member says which record it is.
 * Readers ignore members they do not know (additive changes keep the version).
 *
 *  hello     {"type":"hello","version":1,"tracer":"0.1.0","kernel":"6.18.0","arch":"x86_64",
 *             "pid":123|null,"kernel_mode":false,"clock":"monotonic","interval_ms":1000,
 *             "hist":{"sub_bits":4,"buckets":560,"max_pow":37},
 *             "features":{"btf":true,"uprobes":true,"usdt":true,"tracepoints":true,
 *                         "kprobes":false,"fentry":false,"perf_cpu_clock":true},
 *             "missing":["kprobes: ...", ...]}
             added members: features.bpf_allowed (CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN),
             "perf_event_paranoid":2, "lockdown":"none"|"integrity"|"confidentiality"|null;
             every "missing" item starts with the name of what is missing and a colon
 *  stage     {"type":"stage","id":0,"name":"rx","kind":"uprobe","spec":"uprobe:/bin/fwd:rx",
 *             "packets":"one"|"ret"|"arg2","ok":true,"error":null,
 *             "binary":"/bin/fwd","symbol":"rx","offset":4096,"first_insn":"push %rbp",
 *             "single_step":false,"warning":null}
             added members: "first_bytes":"55 48 89 e5" (hex at the probed site, uprobes),
             "address":"0x12a0" (the ELF virtual address; "offset" is the file offset probed),
             "key":"call"|"skb"|"cpu"|"thread" (how latencies are formed: entry/return pair, or
             time since the previous event of the same skb / on the same CPU / on the same thread)
             "entry_offset":10 (uprobes; added): bytes after the function's start where the entry
             timestamp is taken. 0 normally. When the first instruction is single-stepped and an
             instruction the kernel emulates follows in straight-line code that every call runs once
             (no jump lands before it, no indirect jump in the function, no write to an argument the
             stage reads), the entry probe goes there (native-tracer/reloc.c): the single-step then
             happens before the timestamp, outside the latency (the target still pays it). Then also
             "entry_insn":"jcc rel8", "untimed_insns":2, "untimed_prefix":"mov; test" (the
             instructions before it, which run untimed). --no-relocate keeps the first byte.
 *  ready     {"type":"ready","t_ns":123}                  all stages attached, counting began
 *  hist      {"type":"hist","seq":3,"stage":0,"calls":10,"packets":320,"sum_ns":123456,
 *             "unmatched":0,"timed":10,"buckets":[[idx,count],...]}   delta since the previous interval
             "timed" (added): calls with a latency (sum of the buckets); mean latency = sum_ns/timed
 *  frame     {"type":"frame","id":7,"fn":"route_lookup","off":18,"module":"/bin/fwd",
 *             "build_id":"ab12..."|null,"addr":"0x4011a2","kernel":false}
 *             a frame is defined once, before the first stack that uses it. Additive members:
             "elf_addr":"0x1192"|null  the address in the module's own ELF address space (runtime
                address -> file offset via /proc/PID/maps -> p_vaddr of its PT_LOAD): what
                addr2line/DWARF need for line heat; null for kernel, anonymous and JIT frames.
             Frames without a symbol: in a file, "fn" is "BASENAME+0xELF_ADDR" ("libc.so.6+0x2724a");
             in anonymous/JIT memory the runtime address in hex ("0x7f12..."); "off" is 0 for both.
             "module" is the mapped path, "[vdso]", "[anon]", "[heap]", "[kernel]" or "[MODNAME]".
             Kernel mode (--kernel) collects no user stacks: a sample that caught a task in user
             mode has the single pseudo-frame {"fn":"[user space]","module":"[user]","addr":"0x0"}.
             "addr" of a caller frame is its return address (the call site + the call's length).
             Stacks are walked by frame pointers: a function built without them (Debian's DPDK,
             glibc) hides its caller (with --pid, callers inside the executable are recovered by a
             stack scan: "scanned" on the stack record), and a user stack ends at the first address
             that is not in an executable mapping. With --pid the samples come from a task-clock event on each
             thread (proportional to its CPU time); with --kernel from cpu-clock on each CPU.
 *  stack     {"type":"stack","seq":3,"count":12,"tid":456,"frames":[7,3,1]}  leaf first; delta
             added member "scanned":2 (only when > 0): how many frames were recovered by scanning
             the user stack (--pid) where the frame-pointer walk lost callers: words of the 2 KiB
             above %rsp inside the executable's text, kept when the bytes before them (in the ELF
             file) decode as a call; spliced after the last frame the walk can vouch for. Such
             frames can include a stale return address left in an unused stack slot.
 *  tick      {"type":"tick","seq":3,"t_ns":...,"dt_ns":1000000000,"samples":40,"lost":0}
 *             closes interval `seq`: every hist/stack of that seq came before it
             added members: "coverage":0.37 (share of the interval the probes were attached; 1 when
             not windowed by --max-overhead), "overhead_pct":1.9 (estimated probe cost to the target
             in this interval, % of one CPU, from calibrated outer_ns x calls; null if uncalibrated)
             Under --max-overhead: "coverage" is the share of the interval the stages were counted,
             "overhead_pct" charges every ns the probes were live (attach, settle, counting, and the
             detach until the last probe hit) at the cost rate measured while counting, and the added
             member "live":0.14 is that live share of the interval (absent without --max-overhead).
             An interval without a window has coverage 0 and live 0: windows come every few
             intervals when attaching and detaching alone would not fit one interval's budget.
             With --pid and --sample-hz (added): "cpu_ns":N, the sampled threads' task-clock over the
             interval (the CPU time the samples are drawn from: samples ~ cpu_ns x hz / 1e9), and
             "sched_ns":M, the run time the scheduler charged the same threads (their
             /proc/PID/task/TID/schedstat), both over the threads alive at both ends of the interval.
             sched_ns also holds each wakeup's latency (from the wakeup to the thread's first
             instruction: idle exit and context switch, ~5-15 us here), which the scheduler charges
             to a thread that preempts the idle task; so threads that sleep between short bursts
             read sched_ns > cpu_ns (20 us bursts: by ~25%). That difference runs none of the threads'
             code, so no stack sample and no stage holds it. The other way, task-clock runs on after
             the scheduler's last update at a switch-out (through the sampler's own timer cancel): a
             busy-polling thread preempted ~4,000 times a second read sched_ns 4% below cpu_ns here.
             "slices":K, how many times those threads were switched in (schedstat's third field).
             "timer_late_ns":L (added, both modes; absent without samples or on kernels before 6.2):
             the mean time the sampling timer's interrupt came after its expiry. Mostly the first
             firing after each switch-in, which the timer is re-armed at: no sample lands in a
             slice's first ~L, and those due there land in the code that runs next, so with slices
             of a few tens of us (cpu_ns / slices) functions early in a slice read high (measured
             here, L ~9 us: 20 us bursts +8..+25%, 100 us bursts -1..+7%; sampler-bursty.test.ts,
             docs/measurement.md).
             "sample_run_ns":R (added, both modes; absent without samples): the sampling program's
             mean run time per sample. L + R is time each sample takes from the sampled thread
             while its task-clock runs: every function's samples read high by 1/(1 - (L+R) x hz),
             which src/core/sampled.ts removes.
 *  calibration {"type":"calibration","stage":0,"class":"push"|"nop"|"single_step"|"usdt"|"tracepoint",
 *             "method":"self-probe","runs":20000,
 *             "inner_ns":410.5,"inner_spread_ns":12.0,   what the probes add to the stage's own measured
 *                                                        interval (subtract from its latencies)
 *             "outer_ns":1510.0,"outer_spread_ns":40.0}   what one probed call costs its caller in all
 *                                                        (what a stage pays for a child stage's probes)
             added members: "inner_mean_ns":432.0|null,"inner_mean_spread_ns":9.0|null: the MEAN of what
             the probes add (inner_ns is the median; a mean latency contains the mean; null when too
             few calibration batches ran without a preempted call); "sched":"target-rt"|"normal": the
             calibrating thread took the real-time target's class and priority, or ran as it was
             Recalibrations (added): after every interval (not under --max-overhead) the classes in use
             (all but "tracepoint", whose calibration syscalls a counting tracepoint stage would see)
             are measured again, briefly (7 batches of 200 calls), and emitted with "seq":N, the
             interval they precede; the first record of a stage has no "seq". Readers weigh them by the
             calls of the intervals around them (src/tracer/calibration-mix.ts); one that ignores
             "seq" keeps the last. A single-stepped site whose first instruction addresses memory
             relative to RIP is calibrated with such an instruction: class "single_step", method
             "self-probe:rip-relative".
             Relocated entries (see "entry_offset") are calibrated the same way, class "single_step",
             method "self-probe:relocated-entry" (entry on a push) or "self-probe:relocated-entry:branch".
             Recalibrations now come from a background thread that runs one short batch per class
             every >= 20 ms all through the recording; "during":N (added) says the record is the mean of
             the batches measured all through interval N (its "seq" is N+1): readers use it for
             interval N's calls alone.
             "placement":"target-cpu"|"other-cpu"|"mixed" (added, background records): where the
             batches ran. Each runs on the CPU the target's busiest thread last ran on (at a real-time
             target's priority + 1, at most ~0.3 ms per 20 ms: up to ~1.5% of that CPU), because the
             probe cost differs between CPUs here by up to ~150 ns at a time; other-cpu where that
             CPU is not allowed to the tracer.
 *  drop      {"type":"drop","what":"stacks"|"entries"|"frames","count":3}
 *  warning   {"type":"warning","message":"..."}
 *  error     {"type":"error","message":"...","missing":["CAP_BPF", ...],"fatal":true}
 *  bye       {"type":"bye","reason":"signal"|"stdin"|"parent"|"duration"|"target_exit"|"error",
 *             "t_ns":...,"detached":true}
 */
#define PKTPATH_REC_HELLO "hello"
#define PKTPATH_REC_STAGE "stage"
#define PKTPATH_REC_READY "ready"
#define PKTPATH_REC_HIST "hist"
#define PKTPATH_REC_FRAME "frame"
#define PKTPATH_REC_STACK "stack"
#define PKTPATH_REC_TICK "tick"
#define PKTPATH_REC_CALIBRATION "calibration"
#define PKTPATH_REC_DROP "drop"
#define PKTPATH_REC_WARNING "warning"
#define PKTPATH_REC_ERROR "error"
#define PKTPATH_REC_BYE "bye"

#endif /* PKTPATH_H */
