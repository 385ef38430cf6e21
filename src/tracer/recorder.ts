// Turns the decoded tracer stream into a Session. Interval data (hist, stack) is held until the
// tick that closes its interval, so totals, rates and the timeline always describe whole
// intervals; each tick publishes an immutable snapshot for live views. When the stream ends
// without bye (connection lost, tracer crashed) everything that arrived is kept and the session
// is marked partial with the reason.
import { mixCalibrations, type TimedCalibration } from './calibration-mix.ts';
import type { Calibration, Frame, IntervalInfo, Session, SessionStage, SessionTarget, StackSample } from '../core/session.ts';
import { SESSION_FORMAT, SESSION_VERSION } from '../core/session.ts';
import { Histogram } from '../core/histogram.ts';
import type { DecodeEvent } from './decoder.ts';
import type { HelloRecord, RecordOf, StackRecord, StreamRecord, TickRecord } from './protocol.ts';
import { HIST_MAX_POW, HIST_SUB_BITS } from './protocol.ts';

export interface RecorderOptions {
  host: string;
  pid?: number | null;
  kernel?: boolean;
  command?: string | null;
  sampleHz?: number;
  intervalMs?: number;
  /** For tests: the session's creation time. */
  created?: Date;
}

interface LiveStage {
  meta: Omit<SessionStage, 'calls' | 'packets' | 'sum_ns' | 'unmatched' | 'buckets' | 'timeline' | 'calibration' | 'timed'>;
  calls: number;
  timed: number;
  packets: number;
  sum_ns: number;
  unmatched: number;
  hist: Histogram;
  calibration: Calibration | null;
  /** Every calibration record of the stage (start and recalibrations), combined in build(). */
  cals: TimedCalibration[];
  timedBySeq: Map<number, number>;
  timeline: SessionStage['timeline'];
  /** null until a hist record carries them (older tracers never do) */
  busy: { calls: number; ns: number } | null;
  inside: Map<number, { calls: number; sum_ns: number }>;
}

export type SnapshotListener = (s: Session) => void;

const MAX_WARNINGS = 1000;

export class Recorder {
  private readonly opts: RecorderOptions;
  private readonly created: string;
  private hello: HelloRecord | null = null;
  private readyNs: number | null = null;
  private lastTickNs: number | null = null;
  private bye: RecordOf<'bye'> | null = null;
  private readonly stages = new Map<number, LiveStage>();
  private readonly frames = new Map<number, Frame>();
  private readonly intervals: IntervalInfo[] = [];
  private readonly stacks = new Map<string, StackSample>();
  private pendingHist: RecordOf<'hist'>[] = [];
  private pendingStacks: StackRecord[] = [];
  private samples = 0;
  private lostSamples = 0;
  private readonly drops: Record<string, number> = {};
  private readonly warnings: string[] = [];
  private suppressedWarnings = 0;
  private readonly errors: string[] = [];
  private fatalError: string | null = null;
  private partialReason: string | null = null;
  private finished: Session | null = null;
  private readonly listeners = new Set<SnapshotListener>();
  private readonly unknownStageWarned = new Set<number>();

  constructor(opts: RecorderOptions) {
    this.opts = opts;
    this.created = (opts.created ?? new Date()).toISOString();
  }

  /** Called with an immutable Session after every tick; returns an unsubscribe function. */
  onSnapshot(cb: SnapshotListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  get helloRecord(): HelloRecord | null {
    return this.hello;
  }
  get ready(): boolean {
    return this.readyNs !== null;
  }
  get byeRecord(): RecordOf<'bye'> | null {
    return this.bye;
  }
  get fatal(): string | null {
    return this.fatalError;
  }
  get errorMessages(): readonly string[] {
    return this.errors;
  }

  /** Feeds one decoder event (records, warnings, fatal errors alike). */
  event(ev: DecodeEvent): void {
    if (ev.kind === 'record') this.record(ev.record);
    else if (ev.kind === 'warning') this.warn(ev.error.toString());
    else {
      this.fatalError = ev.error.toString();
      this.errors.push(this.fatalError);
    }
  }

  /** An error seen outside the stream (tracer exit status, stderr, lost connection). */
  error(message: string): void {
    this.errors.push(message);
  }

  warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else this.suppressedWarnings++;
  }

  record(r: StreamRecord): void {
    if (this.finished) return;
    switch (r.type) {
      case 'hello':
        if (this.hello) this.warn('a second hello record was ignored');
        else this.hello = r;
        return;
      case 'stage': {
        if (this.stages.has(r.id)) {
          this.warn(`stage ${r.id} was announced twice; the second announcement was ignored`);
          return;
        }
        this.stages.set(r.id, {
          meta: {
            id: r.id,
            name: r.name,
            kind: r.kind,
            spec: r.spec,
            packets_from: r.packets,
            attach: {
              ok: r.ok,
              error: r.error,
              binary: r.binary,
              symbol: r.symbol,
              offset: r.offset,
              first_insn: r.first_insn,
              single_step: r.single_step,
              warning: r.warning,
              ...(r.first_bytes !== undefined ? { first_bytes: r.first_bytes } : {}),
              ...(r.entry_offset !== undefined ? { entry_offset: r.entry_offset } : {}),
              ...(r.entry_insn !== undefined ? { entry_insn: r.entry_insn } : {}),
              ...(r.untimed_insns !== undefined ? { untimed_insns: r.untimed_insns } : {}),
              ...(r.untimed_prefix !== undefined ? { untimed_prefix: r.untimed_prefix } : {}),
              ...(r.function !== undefined ? { function: r.function } : {}),
              ...(r.copies !== undefined ? { copies: r.copies.map(([symbol, address, size]) => ({ symbol, address, size, entry: !/\.cold(\.|$)/.test(symbol) })) } : {}),
            },
            ...(r.key !== undefined ? { latency_key: r.key } : {}),
          },
          calls: 0,
          timed: 0,
          packets: 0,
          sum_ns: 0,
          unmatched: 0,
          hist: new Histogram(this.layout()),
          calibration: null,
          cals: [],
          timedBySeq: new Map(),
          busy: null,
          inside: new Map(),
          timeline: [],
        });
        if (!r.ok) this.warn(`stage ${r.name}: not attached: ${r.error ?? 'no reason given'}`);
        if (r.warning) this.warn(`stage ${r.name}: ${r.warning}`);
        return;
      }
      case 'calibration': {
        const st = this.stage(r.stage, 'calibration');
        if (st) {
          const { type: _t, stage: _s, seq, during, ...cal } = r;
          st.cals.push({ seq: seq ?? 0, cal, ...(during !== undefined ? { during } : {}) });
          st.calibration = mixCalibrations(st.cals, st.timedBySeq);
        }
        return;
      }
      case 'ready':
        if (this.readyNs === null) this.readyNs = r.t_ns;
        return;
      case 'hist':
        this.pendingHist.push(r);
        return;
      case 'frame': {
        const { type: _t, ...f } = r;
        this.frames.set(r.id, f);
        return;
      }
      case 'stack':
        this.pendingStacks.push(r);
        return;
      case 'tick':
        this.tick(r);
        return;
      case 'drop':
        this.drops[r.what] = (this.drops[r.what] ?? 0) + r.count;
        return;
      case 'warning':
        this.warn(r.message);
        return;
      case 'error': {
        const msg = r.missing.length ? `${r.message} (missing: ${r.missing.join(', ')})` : r.message;
        this.errors.push(msg);
        if (r.fatal && this.fatalError === null) this.fatalError = msg;
        return;
      }
      case 'bye':
        this.bye = r;
        return;
    }
  }

  /** The session as of the last complete interval, immutable. */
  snapshot(): Session {
    return this.build(false);
  }

  /**
   * Ends the recording. Without a bye (or with reason "error") the session is partial; `reason`
   * says why the stream ended (connection lost, tracer exit status...). Data of an interval that
   * never got its tick is counted in; the duration still ends at the last tick.
   */
  finish(reason?: string): Session {
    if (this.finished) return this.finished;
    if (this.pendingHist.length || this.pendingStacks.length) {
      const n = this.pendingHist.length + this.pendingStacks.length;
      this.commit(this.bye ? this.bye.t_ns : null);
      if (!this.bye) this.warn(`${n} records of an interval the tracer never closed were counted; the duration ends at the last tick`);
    }
    if (!this.bye) this.partialReason = reason ?? 'the tracer stream ended without bye';
    else if (this.bye.reason === 'error') this.partialReason = reason ?? this.fatalError ?? 'the tracer stopped on an error';
    else if (this.bye.reason === 'target_exit' || this.bye.reason === 'target_invalid') {
      this.partialReason = this.bye.message ?? (this.bye.reason === 'target_exit' ? 'the target process exited during the recording' : 'the target is not a live user process');
    }
    if (this.fatalError && !this.partialReason && this.readyNs === null) this.partialReason = this.fatalError;
    this.finished = this.build(true);
    return this.finished;
  }

  private layout() {
    const h = this.hello?.hist;
    // a layout no tracer writes (a damaged hello) would size the histograms from garbage
    const sane = h !== undefined && h.sub_bits >= 1 && h.sub_bits <= 8 && h.max_pow >= h.sub_bits && h.max_pow <= 63;
    return sane ? { sub_bits: h.sub_bits, max_pow: h.max_pow } : { sub_bits: HIST_SUB_BITS, max_pow: HIST_MAX_POW };
  }

  private stage(id: number, what: string): LiveStage | undefined {
    const st = this.stages.get(id);
    if (!st && !this.unknownStageWarned.has(id)) {
      this.unknownStageWarned.add(id);
      this.warn(`${what} for stage ${id}, which was never announced: ignored`);
    }
    return st;
  }

  private tick(t: TickRecord): void {
    this.samples += t.samples;
    this.lostSamples += t.lost;
    this.commit(t.t_ns);
    this.intervals.push({
      t_s: this.readyNs === null ? 0 : Math.max(0, (t.t_ns - this.readyNs) / 1e9),
      dt_s: t.dt_ns / 1e9,
      samples: t.samples,
      coverage: t.coverage ?? 1,
      overhead_pct: t.overhead_pct ?? null,
    });
    this.lastTickNs = t.t_ns;
    if (this.listeners.size) {
      const s = this.snapshot();
      for (const cb of this.listeners) cb(s);
    }
  }

  /** Moves the held interval data into the totals; a timeline point per stage when `tNs` is known. */
  private commit(tNs: number | null): void {
    const per = new Map<number, { calls: number; packets: number; sum_ns: number; timed: number }>();
    for (const h of this.pendingHist) {
      const st = this.stage(h.stage, 'a histogram');
      if (!st) continue;
      // An older tracer does not send "timed": it is the buckets' sum by definition.
      const timed = h.timed ?? h.buckets.reduce((a, [, c]) => a + c, 0);
      st.calls += h.calls;
      st.timed += timed;
      st.packets += h.packets;
      st.sum_ns += h.sum_ns;
      st.unmatched += h.unmatched;
      st.hist.addSparse(h.buckets);
      if (h.busy_calls !== undefined && h.busy_ns !== undefined) {
        st.busy ??= { calls: 0, ns: 0 };
        st.busy.calls += h.busy_calls;
        st.busy.ns += h.busy_ns;
      }
      for (const [parent, calls, sumNs] of h.inside ?? []) {
        const n = st.inside.get(parent) ?? { calls: 0, sum_ns: 0 };
        n.calls += calls;
        n.sum_ns += sumNs;
        st.inside.set(parent, n);
      }
      st.timedBySeq.set(h.seq, (st.timedBySeq.get(h.seq) ?? 0) + timed);
      const p = per.get(h.stage) ?? { calls: 0, packets: 0, sum_ns: 0, timed: 0 };
      p.calls += h.calls;
      p.packets += h.packets;
      p.sum_ns += h.sum_ns;
      p.timed += timed;
      per.set(h.stage, p);
    }
    for (const s of this.pendingStacks) {
      // the same frames found another way (CFI, frame pointer, scan) are another stack
      const key = `${s.frames.join(',')}/${s.found ?? ''}`;
      const agg = this.stacks.get(key);
      if (agg) agg.count += s.count;
      else this.stacks.set(key, { frames: [...s.frames], count: s.count, ...(s.found !== undefined ? { found: s.found } : {}) });
    }
    this.pendingHist = [];
    this.pendingStacks = [];
    if (tNs === null) return;
    const t_s = this.readyNs === null ? 0 : Math.max(0, (tNs - this.readyNs) / 1e9);
    for (const [id, st] of this.stages) {
      const p = per.get(id) ?? { calls: 0, packets: 0, sum_ns: 0, timed: 0 };
      st.timeline.push({ t_s, ...p });
    }
  }

  private build(final: boolean): Session {
    const h = this.hello;
    const stages: SessionStage[] = [...this.stages.values()]
      .sort((a, b) => a.meta.id - b.meta.id)
      .map((st) => ({
        ...st.meta,
        attach: { ...st.meta.attach },
        calls: st.calls,
        timed: st.timed,
        packets: st.packets,
        sum_ns: st.sum_ns,
        unmatched: st.unmatched,
        buckets: st.hist.toSparse(),
        calibration: mixCalibrations(st.cals, st.timedBySeq) ?? (st.calibration ? { ...st.calibration } : null),
        timeline: st.timeline.map((p) => ({ ...p })),
        ...(st.busy ? { busy_calls: st.busy.calls, busy_ns: st.busy.ns } : {}),
        ...(st.busy ? { inside: [...st.inside].sort((a, b) => a[0] - b[0]).map(([parent, n]) => ({ parent, ...n })) } : {}),
      }));
    const binaryStage = stages.find((s) => s.attach.binary);
    const binary = binaryStage?.attach.binary ?? null;
    const target: SessionTarget = {
      host: this.opts.host,
      pid: h?.pid ?? this.opts.pid ?? null,
      kernel: h?.kernel_mode ?? this.opts.kernel ?? false,
      command: this.opts.command ?? null,
      binary,
      build_id: binary ? ([...this.frames.values()].find((f) => f.module === binary)?.build_id ?? null) : null,
    };
    const end = this.lastTickNs;
    const warnings = [...this.warnings];
    if (this.suppressedWarnings) warnings.push(`${this.suppressedWarnings} more warnings were not kept`);
    const s: Session = {
      format: SESSION_FORMAT,
      version: SESSION_VERSION,
      created: this.created,
      partial: final ? this.partialReason !== null : false,
      partial_reason: final ? this.partialReason : null,
      target,
      tracer: {
        stream_version: h?.version ?? 0,
        version: h?.tracer ?? 'unknown',
        kernel: h?.kernel ?? 'unknown',
        arch: h?.arch ?? 'unknown',
        // own boolean members only: a damaged hello's others (even one named __proto__) are not features
        features: Object.fromEntries(Object.entries(h?.features ?? {}).filter(([, v]) => typeof v === 'boolean')),
        missing: [...(h?.missing ?? [])],
      },
      duration_s: this.readyNs !== null && end !== null ? Math.max(0, (end - this.readyNs) / 1e9) : 0,
      interval_ms: h?.interval_ms ?? this.opts.intervalMs ?? 1000,
      sample_hz: this.opts.sampleHz ?? 0,
      hist: this.layout(),
      stages,
      frames: [...this.frames.values()].sort((a, b) => a.id - b.id).map((f) => ({ ...f })),
      stacks: [...this.stacks.values()].map((x) => ({ frames: [...x.frames], count: x.count })),
      samples: this.samples,
      lost_samples: this.lostSamples,
      drops: { ...this.drops },
      warnings,
      errors: [...this.errors],
      end_reason: this.bye?.reason ?? null,
      intervals: this.intervals.map((i) => ({ ...i })),
    };
    return deepFreeze(s);
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}
