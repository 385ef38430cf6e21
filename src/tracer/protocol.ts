// The tracer's stdout stream, mirrored field for field from native-tracer/pktpath.h.
// One JSON object per line; `type` discriminates. Readers ignore members they do not know, so
// additive changes in the C side keep STREAM_VERSION; a different major version is refused.

export const STREAM_VERSION = 1;

export const MAX_STAGES = 32;
export const MAX_DEPTH = 16;
export const MAX_STACK = 64;

export const HIST_SUB_BITS = 4;
export const HIST_SUB = 1 << HIST_SUB_BITS;
export const HIST_MAX_POW = 37;
export const HIST_BUCKETS = (HIST_MAX_POW - HIST_SUB_BITS + 2) * HIST_SUB;

/** enum pktpath_stage_kind, by the names the stream uses. */
export const STAGE_KINDS = ['uprobe', 'usdt', 'tracepoint', 'kprobe', 'fentry'] as const;
export type StageKindName = (typeof STAGE_KINDS)[number];
export const STAGE_KIND_CODE: Record<StageKindName, number> = {
  uprobe: 1,
  usdt: 2,
  tracepoint: 3,
  kprobe: 4,
  fentry: 5,
};

/** enum pktpath_packets_from: "one", "ret" or "argN". */
export type PacketsSpec = 'one' | 'ret' | `arg${number}`;

export const CALIBRATION_CLASSES = ['push', 'nop', 'single_step', 'usdt', 'tracepoint'] as const;
export type CalibrationClass = (typeof CALIBRATION_CLASSES)[number];

/** How a stage's latencies are formed: entry/return pair, or time since the previous event. */
export const LATENCY_KEYS = ['call', 'skb', 'cpu', 'thread'] as const;
export type LatencyKey = (typeof LATENCY_KEYS)[number];

export const DROP_KINDS = ['stacks', 'entries', 'frames'] as const;
export type DropKind = (typeof DROP_KINDS)[number];

export const BYE_REASONS = ['signal', 'stdin', 'parent', 'duration', 'target_exit', 'error'] as const;
export type ByeReason = (typeof BYE_REASONS)[number];

export const REC = {
  hello: 'hello',
  stage: 'stage',
  ready: 'ready',
  hist: 'hist',
  frame: 'frame',
  stack: 'stack',
  tick: 'tick',
  calibration: 'calibration',
  drop: 'drop',
  warning: 'warning',
  error: 'error',
  bye: 'bye',
} as const;
export type RecordType = (typeof REC)[keyof typeof REC];

export interface HelloRecord {
  type: 'hello';
  version: number;
  tracer: string;
  kernel: string;
  arch: string;
  pid: number | null;
  kernel_mode: boolean;
  clock: string;
  interval_ms: number;
  hist: { sub_bits: number; buckets: number; max_pow: number };
  features: Record<string, boolean>;
  missing: string[];
}

export interface StageRecord {
  type: 'stage';
  id: number;
  name: string;
  kind: StageKindName;
  spec: string;
  packets: PacketsSpec;
  ok: boolean;
  error: string | null;
  binary: string | null;
  symbol: string | null;
  offset: number | null;
  first_insn: string | null;
  single_step: boolean;
  warning: string | null;
  /** Additive: hex bytes at the probed site (uprobes), e.g. "55 48 89 e5". */
  first_bytes?: string | null;
  /** Additive: how latencies are formed (entry/return pair, or since the previous event of the same skb/CPU/thread). */
  key?: LatencyKey;
  /** Additive (uprobes): bytes after the function's start where the entry timestamp is taken. 0 normally; later when
   * the first instruction is single-stepped and the tracer moved the timestamp to an emulated one, so the single-step
   * is not in the measured latency (the return probe, and the single-step, stay at the first byte). */
  entry_offset?: number;
  /** Additive, with entry_offset > 0: that instruction, and the instructions before it that run untimed. */
  entry_insn?: string | null;
  untimed_insns?: number;
  untimed_prefix?: string | null;
}

export interface ReadyRecord {
  type: 'ready';
  t_ns: number;
}

/** Delta since the previous interval; buckets are [index, count] pairs. */
export interface HistRecord {
  type: 'hist';
  seq: number;
  stage: number;
  calls: number;
  packets: number;
  sum_ns: number;
  unmatched: number;
  /** Additive: calls with a latency (the buckets' sum); mean latency = sum_ns / timed. */
  timed?: number;
  buckets: Array<[number, number]>;
}

/** Defined once, before the first stack that uses it. */
export interface FrameRecord {
  type: 'frame';
  id: number;
  fn: string;
  off: number;
  module: string;
  build_id: string | null;
  addr: string;
  kernel: boolean;
  /** Additive: address in the module's own ELF address space; null for kernel/anon/JIT. */
  elf_addr?: string | null;
}

/** Leaf first; count is a delta for interval `seq`. */
export interface StackRecord {
  type: 'stack';
  seq: number;
  count: number;
  tid: number;
  frames: number[];
  /** Added: how many of the frames came from scanning the user stack for return addresses where
   * the frame-pointer walk lost callers (code built without frame pointers); absent means 0. */
  scanned?: number;
}

/** Closes interval `seq`: every hist/stack of that seq came before it. */
export interface TickRecord {
  type: 'tick';
  seq: number;
  t_ns: number;
  dt_ns: number;
  samples: number;
  lost: number;
  /** Additive: share of the interval the probes were attached (1 unless windowed by --max-overhead). */
  coverage?: number;
  /** Additive: estimated probe cost to the target in this interval, % of one CPU; null if uncalibrated. Under
   * --max-overhead it charges all the time the probes were live (see `live`), not only the counted time. */
  overhead_pct?: number | null;
  /** Additive, only under --max-overhead: share of the interval the probes were live (attach, settle, counting and
   * the detach until the last probe hit). 0 with coverage 0: no window in this interval. */
  live?: number;
  /** Additive, with --pid --sample-hz: the sampled threads' task-clock in this interval, ns (the CPU time the
   * samples are drawn from). */
  cpu_ns?: number;
  /** Additive, with cpu_ns: what the scheduler charged the same threads (schedstat), ns. Includes each
   * wakeup's latency up to the thread's first instruction, which the threads did not run (see pktpath.h). */
  sched_ns?: number;
  /** Additive, with cpu_ns: how many times the sampled threads were switched in during the interval. */
  slices?: number;
  /** Additive: mean lateness of the sampling timer's interrupt, ns, mostly its first firing after each switch-in
   * (see pktpath.h): short slices shift samples to code run right after a wakeup. */
  timer_late_ns?: number;
  /** Additive: mean run time of the sampling BPF program per sample, ns. With timer_late_ns, the time each sample
   * takes from the sampled thread (sampled.ts removes that share from ns per packet). */
  sample_run_ns?: number;
}

export interface CalibrationRecord {
  type: 'calibration';
  stage: number;
  class: CalibrationClass;
  method: string;
  runs: number;
  inner_ns: number;
  inner_spread_ns: number;
  outer_ns: number;
  outer_spread_ns: number;
  /** Additive: the MEAN probe cost (what a mean latency contains; null when too few batches ran
   * without a preempted call), and how the calibrating thread was scheduled. */
  inner_mean_ns?: number | null;
  inner_mean_spread_ns?: number | null;
  sched?: string;
  /** Additive: a recalibration during the recording, measured at the start of interval `seq`
   * (absent: the calibration before counting began). */
  seq?: number;
  /** Additive: measured in the background all through interval `during` (then seq = during + 1): the probe cost
   * that interval's calls paid, as a time average. */
  during?: number;
  /** Additive: where the background batches ran: on the CPU the target's busiest thread was on, another CPU, or
   * both. The probe cost differs between CPUs here by up to ~150 ns at a time: target-cpu is the one to trust. */
  placement?: 'target-cpu' | 'other-cpu' | 'mixed';
}

export interface DropRecord {
  type: 'drop';
  what: DropKind;
  count: number;
}

export interface WarningRecord {
  type: 'warning';
  message: string;
}

export interface ErrorRecord {
  type: 'error';
  message: string;
  missing: string[];
  fatal: boolean;
}

export interface ByeRecord {
  type: 'bye';
  reason: ByeReason;
  t_ns: number;
  detached: boolean;
}

export type StreamRecord =
  | HelloRecord
  | StageRecord
  | ReadyRecord
  | HistRecord
  | FrameRecord
  | StackRecord
  | TickRecord
  | CalibrationRecord
  | DropRecord
  | WarningRecord
  | ErrorRecord
  | ByeRecord;
