// The tracer stream's one schema (docs/stream.md): every record type and its members, from which
// the TS record types follow (Static<>) and against which the decoder validates. The C side writes
// the same members in native-tracer/stream.c; test/unit/stream-schema-tidy.test.ts fails when one
// side has a member, record type or constant the other lacks.
//
// Members with a `default` were absent from older tracers' streams: the decoder fills them in.
import { Type, type Static, type TLiteral, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';

// ---- value kinds, each with the words an error message uses for it -----------------------------

const count = (o: { default?: number } = {}) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'a non-negative integer', ...o });
const int = () => Type.Integer({ description: 'an integer' });
const num = () => Type.Number({ description: 'a finite number' });
const fraction = () => Type.Number({ minimum: 0, maximum: 1, description: 'a number in 0..1' });
const str = () => Type.String({ description: 'a string' });
const bool = (o: { default?: boolean } = {}) => Type.Boolean({ description: 'true or false', ...o });
const nullable = <T extends TSchema>(t: T, o: { default?: null } = {}) =>
  Type.Union([t, Type.Null()], { description: `${t.description ?? 'a value'} or null`, ...o });

/** One of the given strings (a union of literals). */
function oneOf<const T extends readonly string[]>(values: T): TUnion<Array<TLiteral<T[number]>>> {
  const literals = values.map((v) => Type.Literal(v));
  return Type.Union(literals, { description: `one of ${values.join('|')}` }) as unknown as TUnion<Array<TLiteral<T[number]>>>;
}

// ---- enumerations the stream uses --------------------------------------------------------------

/** enum pktpath_stage_kind (native-tracer/pktpath.h), by the names the stream uses, in code order. */
export const STAGE_KINDS = ['uprobe', 'usdt', 'tracepoint', 'kprobe', 'fentry'] as const;
export type StageKindName = (typeof STAGE_KINDS)[number];
export const CALIBRATION_CLASSES = ['push', 'nop', 'single_step', 'usdt', 'tracepoint'] as const;
export type CalibrationClass = (typeof CALIBRATION_CLASSES)[number];
/** How a stage's latencies are formed: entry/return pair, or time since the previous event. */
export const LATENCY_KEYS = ['call', 'skb', 'cpu', 'thread'] as const;
export type LatencyKey = (typeof LATENCY_KEYS)[number];
export const DROP_KINDS = ['stacks', 'entries', 'frames'] as const;
export type DropKind = (typeof DROP_KINDS)[number];
export const BYE_REASONS = ['signal', 'stdin', 'parent', 'duration', 'target_exit', 'target_invalid', 'error'] as const;
export type ByeReason = (typeof BYE_REASONS)[number];
export const CALIBRATION_SCHED = ['target-rt', 'normal'] as const;
export const UNWIND_METHODS = ['dwarf', 'fp'] as const;
/** where a frame's name came from (native-tracer/symbolize.h enum sym_source) */
export const NAMED_BY = ['symtab', 'dynsym', 'plt', 'eh_frame', 'kallsyms'] as const;
export const CALIBRATION_PLACEMENTS = ['target-cpu', 'other-cpu', 'mixed'] as const;

/** enum pktpath_packets_from: "one", "ret" or "argN". */
export type PacketsSpec = 'one' | 'ret' | `arg${number}`;
const packets = () => Type.Unsafe<PacketsSpec>(Type.String({ pattern: '^(one|ret|arg\\d{1,2})$', description: 'one|ret|argN' }));

// ---- the records -------------------------------------------------------------------------------

/**
 * Every record's schema. `closed`: members the schema does not name are errors (what the tests
 * decode with); open, they are tolerated (what a reader of a newer tracer needs).
 */
function recordSchemas(closed: boolean) {
  const obj = <P extends TProperties>(p: P): TObject<P> => Type.Object(p, closed ? { additionalProperties: false } : {});
  return {
    hello: obj({
      type: Type.Literal('hello'),
      version: count(),
      tracer: str(),
      kernel: str(),
      arch: str(),
      pid: nullable(count()),
      kernel_mode: bool(),
      clock: str(),
      interval_ms: count(),
      hist: obj({ sub_bits: count(), buckets: count(), max_pow: count() }),
      features: obj({
        btf: bool(),
        uprobes: bool(),
        usdt: bool(),
        tracepoints: bool(),
        kprobes: bool(),
        fentry: bool(),
        perf_cpu_clock: bool(),
        /** CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN */
        bpf_allowed: Type.Optional(bool()),
      }),
      /** kernel.perf_event_paranoid */
      perf_event_paranoid: Type.Optional(int()),
      /** kernel lockdown: "none", "integrity", "confidentiality"; null when unknown */
      lockdown: Type.Optional(nullable(str())),
      /** each item starts with the name of what is missing and a colon */
      missing: Type.Array(str(), { default: [], description: 'an array of strings' }),
      /** how sampled user stacks are found with --pid: "dwarf" (CFI over a copy of the stack taken with each
       * sample) or "fp" (the frame-pointer walk and the stack scan) */
      unwind: Type.Optional(oneOf(UNWIND_METHODS)),
    }),
    stage: obj({
      type: Type.Literal('stage'),
      id: count(),
      name: str(),
      kind: oneOf(STAGE_KINDS),
      spec: str(),
      packets: packets(),
      ok: bool(),
      error: nullable(str(), { default: null }),
      binary: nullable(str(), { default: null }),
      symbol: nullable(str(), { default: null }),
      /** the file offset probed */
      offset: nullable(count(), { default: null }),
      /** the ELF virtual address probed, "0x..." (with offset) */
      address: Type.Optional(str()),
      first_insn: nullable(str(), { default: null }),
      /** hex bytes at the probed site (uprobes), e.g. "55 48 89 e5" */
      first_bytes: Type.Optional(nullable(str())),
      single_step: bool({ default: false }),
      key: Type.Optional(oneOf(LATENCY_KEYS)),
      /** (uprobes) bytes after the function's start where the entry timestamp is taken: 0 normally, later when
       * the first instruction is single-stepped and the tracer moved the timestamp to an emulated one */
      entry_offset: Type.Optional(count()),
      /** with entry_offset > 0: that instruction, and the instructions before it that run untimed */
      entry_insn: Type.Optional(nullable(str())),
      untimed_insns: Type.Optional(count()),
      untimed_prefix: Type.Optional(nullable(str())),
      warning: nullable(str(), { default: null }),
      /** (uprobes) the ELF function the site is in: the copy bound for a name, NAME+0xOFF for an address */
      function: Type.Optional(str()),
      /** (uprobes) what the stage's name stands for when more than itself: GCC's copies and same-named locals,
       * [symbol, "0xADDRESS", size]; a `.cold` part is split-off code, not an entry */
      copies: Type.Optional(Type.Array(Type.Tuple([str(), str(), count()]))),
    }),
    ready: obj({ type: Type.Literal('ready'), t_ns: count() }),
    hist: obj({
      type: Type.Literal('hist'),
      seq: count(),
      stage: count(),
      calls: count(),
      packets: count(),
      sum_ns: count(),
      unmatched: count({ default: 0 }),
      /** calls with a latency (the buckets' sum); mean latency = sum_ns / timed */
      timed: Type.Optional(count()),
      buckets: Type.Array(Type.Tuple([count(), count()], { description: '[index, count] of non-negative integers' }), {
        description: 'an array of [index, count]',
      }),
      /** timed calls that handled packets (> 0), and their latencies' sum: a poll function's busy calls */
      busy_calls: Type.Optional(count()),
      busy_ns: Type.Optional(count()),
      /** calls made while another stage was the innermost one running on the thread: [parent id, calls, sum_ns] */
      inside: Type.Optional(Type.Array(Type.Tuple([count(), count(), count()]))),
    }),
    frame: obj({
      type: Type.Literal('frame'),
      id: count(),
      fn: str(),
      off: count(),
      module: str(),
      build_id: nullable(str(), { default: null }),
      addr: str(),
      kernel: bool(),
      /** the address in the module's own ELF address space; null for kernel, anonymous and JIT frames */
      elf_addr: nullable(str(), { default: null }),
      /** where fn came from; "eh_frame": no symbol, `lib+0xSTART` after the FDE covering it (its function) */
      named_by: Type.Optional(oneOf(NAMED_BY)),
    }),
    stack: obj({
      type: Type.Literal('stack'),
      seq: count(),
      count: count(),
      tid: count(),
      frames: Type.Array(count(), { minItems: 1, description: 'a non-empty array of frame ids' }),
      /** how many of the frames the stack scan found (code without frame pointers); absent: 0 */
      scanned: Type.Optional(count()),
      /** how each frame was found, one letter per frame: k kernel, r the sampled registers, c DWARF CFI,
       * f frame pointer, s stack scan */
      found: Type.Optional(Type.String({ pattern: '^[krcfs]+$', description: 'one of k, r, c, f, s per frame' })),
    }),
    tick: obj({
      type: Type.Literal('tick'),
      seq: count(),
      t_ns: count(),
      dt_ns: count(),
      samples: count({ default: 0 }),
      lost: count({ default: 0 }),
      /** share of the interval the stages were counted (1 unless windowed by --max-overhead) */
      coverage: Type.Optional(fraction()),
      /** estimated probe cost to the target in this interval, % of one CPU; null if uncalibrated */
      overhead_pct: Type.Optional(nullable(num())),
      /** under --max-overhead: share of the interval the probes were live */
      live: Type.Optional(fraction()),
      /** --pid --sample-hz: the sampled threads' task-clock in this interval, ns */
      cpu_ns: Type.Optional(count()),
      /** what the scheduler charged the same threads (schedstat), ns */
      sched_ns: Type.Optional(count()),
      /** how many times the sampled threads were switched in */
      slices: Type.Optional(count()),
      /** mean lateness of the sampling timer's interrupt, ns */
      timer_late_ns: Type.Optional(count()),
      /** mean run time of the sampling BPF program per sample, ns */
      sample_run_ns: Type.Optional(count()),
    }),
    calibration: obj({
      type: Type.Literal('calibration'),
      stage: count(),
      class: oneOf(CALIBRATION_CLASSES),
      method: str(),
      runs: count(),
      inner_ns: num(),
      inner_spread_ns: num(),
      outer_ns: num(),
      outer_spread_ns: num(),
      /** the MEAN probe cost (null when too few batches ran without a preempted call) */
      inner_mean_ns: Type.Optional(nullable(num())),
      inner_mean_spread_ns: Type.Optional(nullable(num())),
      sched: Type.Optional(oneOf(CALIBRATION_SCHED)),
      /** a recalibration, measured before interval `seq` (absent: before counting began) */
      seq: Type.Optional(count()),
      /** measured in the background all through interval `during` (then seq = during + 1) */
      during: Type.Optional(count()),
      /** where the background batches ran */
      placement: Type.Optional(oneOf(CALIBRATION_PLACEMENTS)),
    }),
    drop: obj({ type: Type.Literal('drop'), what: oneOf(DROP_KINDS), count: count() }),
    warning: obj({ type: Type.Literal('warning'), message: str() }),
    error: obj({
      type: Type.Literal('error'),
      message: str(),
      missing: Type.Array(str(), { default: [], description: 'an array of strings' }),
      fatal: bool({ default: true }),
    }),
    bye: obj({
      type: Type.Literal('bye'),
      reason: oneOf(BYE_REASONS),
      message: Type.Optional(str()),
      t_ns: count(),
      detached: bool({ default: true }),
    }),
  };
}

/** Tolerates members it does not name (production decoding). */
export const RECORD_SCHEMAS = recordSchemas(false);
/** Refuses them (the tests' decoding). */
export const CLOSED_RECORD_SCHEMAS = recordSchemas(true);

export type RecordSchemas = typeof RECORD_SCHEMAS;
export type RecordType = keyof RecordSchemas;
export const RECORD_TYPES = Object.keys(RECORD_SCHEMAS) as RecordType[];

/** The record of type T as decoded, e.g. RecordOf<'tick'>. */
export type RecordOf<T extends RecordType> = Static<RecordSchemas[T]>;
/** Any record; `type` discriminates. */
export type StreamRecord = { [T in RecordType]: RecordOf<T> }[RecordType];
// the records most code names
export type HelloRecord = RecordOf<'hello'>;
export type StageRecord = RecordOf<'stage'>;
export type StackRecord = RecordOf<'stack'>;
export type TickRecord = RecordOf<'tick'>;
export type CalibrationRecord = RecordOf<'calibration'>;
