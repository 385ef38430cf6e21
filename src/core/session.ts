// The session file: what one recording measured, as saved on disk (`*.pktpath.json`).
// Versioned separately from the tracer stream: a session outlives the tracer that made it.
// Everything here is measured data; derived numbers (quantiles, ns per packet, shares) are
// computed from it by src/core/report.ts, never stored, so a fix to the math fixes old files too.

export const SESSION_FORMAT = 'pktpath-session';
export const SESSION_VERSION = 1;

export type StageKind = 'uprobe' | 'usdt' | 'tracepoint' | 'kprobe' | 'fentry';

/** How many packets one call of a stage handled. */
export type PacketsFrom = 'one' | 'ret' | `arg${number}`;

/** Sparse histogram: [bucket index, count] pairs, index ascending. Layout in HistLayout. */
export type SparseBuckets = Array<[number, number]>;

export interface HistLayout {
  sub_bits: number; // sub-buckets per power of two = 2^sub_bits
  max_pow: number; // top bucket starts at 2^max_pow ns
}

/** What the probes at one site add, measured by the tracer at start (docs/stream.md, calibration). */
export interface Calibration {
  class: 'push' | 'nop' | 'single_step' | 'usdt' | 'tracepoint';
  method: string;
  runs: number;
  inner_ns: number; // added to the stage's own measured interval
  inner_spread_ns: number;
  outer_ns: number; // added to the caller's time per probed call
  outer_spread_ns: number;
  /** Additive: mean probe cost per call (inner_ns is the median): what a mean latency contains.
   * Absent or null in older sessions or when calibration could not form a clean mean. */
  inner_mean_ns?: number | null;
  inner_mean_spread_ns?: number | null;
  /** Additive: "target-rt" when calibrated at the real-time target's priority, else "normal". */
  sched?: string;
  /** Additive: how many calibrations (the one at start and those during the recording) the values
   * combine. With more than one, inner/outer are call-weighted over the recording: each interval's
   * calls count with the mean of the calibrations just before and just after it; the spreads
   * add the difference between those two (how far the cost moved in the interval) to the
   * batches' own spread. runs is the total. An interval with a background calibration measured all through it
   * (`during`) uses that one alone. */
  calibrations?: number;
  /** Additive: where the background calibrations' batches ran (target-cpu, other-cpu; mixed: some of each). */
  placement?: 'target-cpu' | 'other-cpu' | 'mixed';
}

export interface StageAttach {
  ok: boolean;
  error: string | null;
  binary: string | null;
  symbol: string | null;
  offset: number | null;
  first_insn: string | null;
  single_step: boolean;
  warning: string | null;
  /** Additive: hex bytes at the probed site (uprobes). */
  first_bytes?: string | null;
  /** Additive: where the entry timestamp is taken (bytes after the function's start; see the stage record). */
  entry_offset?: number;
  entry_insn?: string | null;
  untimed_insns?: number;
  untimed_prefix?: string | null;
  /** Additive: the ELF function the site is in (the copy bound for a name, NAME+0xOFF for an address). */
  function?: string;
  /** Additive: what the stage's name stands for when more than itself (GCC copies, same-named locals);
   * `entry` false for `.cold` parts. */
  copies?: Array<{ symbol: string; address: string; size: number; entry: boolean }>;
}

/** Totals of one stage over one interval (the live timeline). */
export interface StagePoint {
  t_s: number; // seconds since the recording's ready
  calls: number;
  packets: number;
  sum_ns: number;
  /** Additive: calls with a latency in this interval (point events without a predecessor have none). */
  timed?: number;
}

/** Additive: one closed interval of the recording, as the tracer's tick described it. */
export interface IntervalInfo {
  t_s: number; // end of the interval, seconds since ready
  dt_s: number;
  samples: number;
  /** Share of the interval the probes were attached (1 unless windowed by --max-overhead). */
  coverage: number;
  /** Estimated probe cost to the target, % of one CPU; null when uncalibrated or not reported. */
  overhead_pct: number | null;
}

export interface SessionStage {
  id: number;
  name: string;
  kind: StageKind;
  spec: string;
  packets_from: PacketsFrom;
  attach: StageAttach;
  calls: number;
  packets: number;
  sum_ns: number;
  unmatched: number;
  buckets: SparseBuckets;
  calibration: Calibration | null;
  timeline: StagePoint[];
  /** Additive: calls with a latency (= calls for entry/return pairs); mean = sum_ns / timed. */
  timed?: number;
  /** Additive: how latencies are formed: entry/return "call", or since the previous event of the same skb/cpu/thread. */
  latency_key?: 'call' | 'skb' | 'cpu' | 'thread';
  /** Additive: timed calls that handled packets (> 0) and their latencies' sum; the others are idle polls. */
  busy_calls?: number;
  busy_ns?: number;
  /** Additive: this stage's calls made while another stage (id `parent`) was the innermost stage running on the
   * thread, and their latencies' sum: the stage tree (empty: never inside another stage). */
  inside?: Array<{ parent: number; calls: number; sum_ns: number }>;
}

export interface Frame {
  id: number;
  fn: string; // symbol name, or a hex address when none was found
  off: number; // offset of the sampled address in its function
  module: string; // binary or library path, or "[kernel]"
  build_id: string | null;
  addr: string; // hex, as sampled
  kernel: boolean;
  /** Additive (stream v1 frame member): address in the module's own ELF address space, for
   * addr2line/DWARF line heat; null or absent for kernel, anonymous and JIT frames. */
  elf_addr?: string | null;
  /** Additive: where `fn` came from. The tracer's: "symtab", "dynsym", "eh_frame" (no symbol: named
   * `lib+0xSTART` after the range of the FDE covering it, its function), "kallsyms"; "debug" when a
   * debug file on the machine that read the session named it (Session.symbols says which). */
  named_by?: string | null;
  /** Additive: a function inlined into the frame after it in the stack (DWARF inline info); same address. */
  inline?: boolean;
  /** Additive: source file and line of the address (DWARF), or of the call site of the inlined frame before it. */
  file?: string | null;
  line?: number | null;
  /** Additive: the ELF symbol at the address when `fn` (the DWARF name) differs: `f.cold`, `f.isra.0`. */
  symbol?: string;
  /** Additive: what the tracer said, kept when a debug file renamed the frame. */
  tracer?: { fn: string; off: number; named_by: string | null };
}

/** How each frame of a stack was found, one letter per frame (StackSample.found): */
export const FOUND_LETTERS = {
  k: 'kernel stack (the kernel\'s unwinder)',
  r: 'registers: the interrupted instruction, or where user code entered the kernel',
  c: 'DWARF call frame information (.eh_frame / .debug_frame) over the copied user stack',
  f: 'frame pointer',
  s: 'stack scan: a word of the stack that is a return address (may be stale)',
  i: 'inlined function (DWARF inline info of the frame after it)',
} as const;

export interface StackSample {
  frames: number[]; // Frame ids, leaf first
  count: number;
  /** Additive: how each frame was found, one letter of FOUND_LETTERS per frame (absent: not said). */
  found?: string;
}

/** Where one module's debug information came from (or why none was used), on the machine that read the session. */
export interface ModuleSymbols {
  module: string;
  build_id: string | null;
  /** "local-build" (the user's own build), "module" (the file that ran, here), "build-id-dir"
   * (DIR/.build-id/xx/rest.debug), "debuglink" (.gnu_debuglink), "debuginfod"; null: none found. */
  source: string | null;
  debug_file: string | null;
  /** frames it named, inlined frames it added */
  named: number;
  inlined: number;
}

/** Additive: symbols resolved from debug files (src/symbols/), and what was refused and why. */
export interface SessionSymbols {
  modules: ModuleSymbols[];
  warnings: string[];
}

export interface SessionTarget {
  host: string; // "localhost" or the SSH destination as the user named it
  pid: number | null; // null for the kernel path
  kernel: boolean;
  command: string | null;
  binary: string | null;
  build_id: string | null;
}

export interface TracerInfo {
  stream_version: number;
  version: string;
  kernel: string;
  arch: string;
  features: Record<string, boolean>;
  missing: string[];
}

/** One stage in sampled mode: its function's CPU samples (see src/core/sampled.ts). */
export interface SampledStage {
  name: string;
  symbol: string; // the stage's function, as matched on the stacks
  module: string | null; // basename of its binary; null: any module
  samples: number; // samples whose nearest stage frame from the leaf is this stage
  inclusive_samples: number; // samples with this stage anywhere on the stack
  /** Additive: the ELF address ranges the stage was matched by (offsets, graph nodes, inlined code); the module
   * as resolved (a path or a basename), compared with the frames' by basename; absent when matched by the function's name. */
  ranges?: Array<{ module: string; lo: number; hi: number }>;
  /** Additive: the stage's spec as the user gave it. */
  spec?: string;
  /** Additive: a poll function, called whether or not packets arrive (its samples include idle polling), and how that
   * is known: an ethdev rx burst function, or an rte_graph source node (RTE_NODE_SOURCE_F). Absent: not known to poll. */
  poll?: boolean;
  poll_by?: SampledPollKind;
  /** Additive: rte_graph's own counters of the stage's node(s) (graph: stages, summed over the graphs holding them),
   * as deltas between the packet counter's two reads. */
  graph_counters?: { calls: number; objs: number; cycles: number };
}

/** How a sampled stage is known to be a poll function. */
export const SAMPLED_POLL_KINDS = ['ethdev-rx', 'graph-source'] as const;
export type SampledPollKind = (typeof SAMPLED_POLL_KINDS)[number];

/**
 * Sampled mode (`record --mode sampled`): no stage probes; CPU samples attributed to stage
 * functions, packets from counters read without probes. ns per packet and its interval are
 * derived by src/core/sampled.ts (sampledReport), never stored.
 */
export interface SampledMeasurement {
  sample_hz: number;
  samples: number; // all samples of the target in the window
  unattributed: number; // samples with no stage function on the stack
  window_s: number; // sampling window: sum of the tracer's interval lengths
  packets: number; // packets in the sampling window: counter rate × window_s
  packets_source: string; // e.g. "netdev lo rx_packets (netns x)", "dpdk /var/run/dpdk/rte ethdev 0 ipackets"
  counter_packets: number; // the counter's raw delta between its two reads
  counter_window_s: number; // time between those reads
  stages: SampledStage[];
  /** Additive: the sampled threads' task-clock over the window, s: the CPU time the samples are drawn from
   * (the ticks' cpu_ns). Absent from tracers that do not report it. */
  cpu_s?: number;
  /** Additive, with cpu_s: what the scheduler charged the same threads, s (the ticks' sched_ns). Includes the
   * latency of every wake-up, which no code of the threads ran (docs/stream.md, tick). */
  sched_s?: number;
  /** Additive, with cpu_s: how many times the sampled threads were switched in over the window (the ticks' slices). */
  slices?: number;
  /** Additive: the sampling timer's mean lateness over the window, ns (the ticks' timer_late_ns, weighted by samples). */
  timer_late_ns?: number;
  /** Additive: the sampling program's mean run time per sample over the window, ns (the ticks' sample_run_ns,
   * weighted by samples). */
  sample_run_ns?: number;
}

export interface Session {
  format: typeof SESSION_FORMAT;
  version: number;
  created: string; // ISO 8601
  partial: boolean; // the recording ended early (connection lost, tracer died): data up to then
  partial_reason: string | null;
  target: SessionTarget;
  tracer: TracerInfo;
  duration_s: number; // from ready to the last complete interval
  interval_ms: number;
  sample_hz: number;
  hist: HistLayout;
  stages: SessionStage[];
  frames: Frame[];
  stacks: StackSample[];
  samples: number;
  lost_samples: number;
  drops: Record<string, number>;
  warnings: string[];
  /** Additive: error records of the tracer (fatal or not), in order; absent in older files. */
  errors?: string[];
  /** Additive: how the stream ended ("stdin", "signal", "duration", ...), null when it never said. */
  end_reason?: string | null;
  /** Additive: every closed interval (coverage and probe cost to the target per interval). */
  intervals?: IntervalInfo[];
  /** Additive: present when recorded in sampled mode (then `stages` is empty: nothing attached). */
  sampled?: SampledMeasurement;
  /** Additive: debug files that named frames; absent when the session was not symbolized. */
  symbols?: SessionSymbols;
}
