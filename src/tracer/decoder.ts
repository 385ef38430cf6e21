// Validating, incremental decoder of the tracer stream (protocol.ts). Feed it chunks as they
// arrive; it splits lines (LF or CRLF, partial lines kept until complete), parses each one and
// checks it against its record type with hand-written guards. A bad line becomes a DecodeError
// warning with its line number and never costs the valid lines around it. Only a hello of
// another stream version is fatal: everything after it would be misread.
import {
  BYE_REASONS,
  CALIBRATION_CLASSES,
  DROP_KINDS,
  LATENCY_KEYS,
  STAGE_KINDS,
  STREAM_VERSION,
  type StreamRecord,
  type PacketsSpec,
} from './protocol.ts';

export class DecodeError {
  readonly line: number;
  readonly reason: string;
  /** The offending text, shortened: enough to recognise, never megabytes in a log. */
  readonly excerpt: string;
  constructor(line: number, reason: string, text: string) {
    this.line = line;
    this.reason = reason;
    this.excerpt = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  }
  toString(): string {
    return `tracer stream line ${this.line}: ${this.reason}${this.excerpt ? ` (${this.excerpt})` : ''}`;
  }
}

export type DecodeEvent =
  | { kind: 'record'; line: number; record: StreamRecord }
  | { kind: 'warning'; error: DecodeError }
  | { kind: 'fatal'; error: DecodeError };

export interface DecoderOptions {
  /** Longer lines are skipped with a warning (a runaway writer must not exhaust memory). */
  maxLineBytes?: number;
}

const DEFAULT_MAX_LINE = 8 * 1024 * 1024;

export class StreamDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false; // inside an over-long line, dropping until its newline
  private lineNo = 0;
  private fatal = false;
  private readonly unknownTypes = new Set<string>();
  private readonly maxLine: number;

  constructor(opts: DecoderOptions = {}) {
    this.maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
  }

  /** True once a fatal error was reported; later input is ignored. */
  get failed(): boolean {
    return this.fatal;
  }

  push(chunk: Buffer | string): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    if (this.fatal) return out;
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        this.keep(buf, out);
        return out;
      }
      const head = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      this.lineNo++;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.pendingBytes + head.length > this.maxLine) {
        this.tooLong(this.lineNo, out);
        this.pending = [];
        this.pendingBytes = 0;
        continue;
      }
      const whole = this.pending.length ? Buffer.concat([...this.pending, head]) : head;
      this.pending = [];
      this.pendingBytes = 0;
      this.line(whole, out, false);
      if (this.fatal) return out;
    }
  }

  /** End of stream: a final line without its newline is decoded if it is complete JSON. */
  end(): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    if (this.fatal || this.skipping) return out;
    if (this.pendingBytes > 0) {
      this.lineNo++;
      const whole = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.line(whole, out, true);
    }
    return out;
  }

  private keep(buf: Buffer, out: DecodeEvent[]): void {
    if (buf.length === 0 || this.skipping) return;
    if (this.pendingBytes + buf.length > this.maxLine) {
      // The line is not complete yet; it is counted when its newline arrives.
      this.tooLong(this.lineNo + 1, out);
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = true;
      return;
    }
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private tooLong(line: number, out: DecodeEvent[]): void {
    out.push({ kind: 'warning', error: new DecodeError(line, `line longer than ${this.maxLine} bytes, skipped`, '') });
  }

  private line(raw: Buffer, out: DecodeEvent[], final: boolean): void {
    let text = raw.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const why = final ? 'truncated final line (the stream ended mid-record)' : `not JSON: ${(e as Error).message}`;
      out.push({ kind: 'warning', error: new DecodeError(this.lineNo, why, text) });
      return;
    }
    const res = validateRecord(value);
    if (typeof res === 'string') {
      out.push({ kind: 'warning', error: new DecodeError(this.lineNo, res, text) });
      return;
    }
    if (res === null) {
      // A newer tracer's record: said once per type, not once per interval.
      const t = (value as { type: string }).type;
      if (!this.unknownTypes.has(t) && this.unknownTypes.size < 100) {
        this.unknownTypes.add(t);
        out.push({ kind: 'warning', error: new DecodeError(this.lineNo, `unknown record type ${JSON.stringify(t)}, ignored (said once)`, '') });
      }
      return;
    }
    if (res.type === 'hello' && res.version !== STREAM_VERSION) {
      const which = res.version > STREAM_VERSION ? 'newer than this pktpath reads: update pktpath' : 'older than this pktpath reads: update the tracer';
      this.fatal = true;
      out.push({
        kind: 'fatal',
        error: new DecodeError(this.lineNo, `tracer stream version ${res.version} is ${which} (expected version ${STREAM_VERSION})`, ''),
      });
      return;
    }
    out.push({ kind: 'record', line: this.lineNo, record: res });
  }
}

// ---- guards -------------------------------------------------------------------------------------

class Bad extends Error {}

type Obj = Record<string, unknown>;

function fail(rec: string, field: string, want: string, got: unknown): never {
  const shown = got === undefined ? 'missing' : JSON.stringify(got)?.slice(0, 40) ?? String(got);
  throw new Bad(`${rec}: "${field}" must be ${want}, got ${shown}`);
}

function str(o: Obj, rec: string, f: string): string {
  const v = o[f];
  if (typeof v !== 'string') fail(rec, f, 'a string', v);
  return v;
}
function strOrNull(o: Obj, rec: string, f: string): string | null {
  const v = o[f];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') fail(rec, f, 'a string or null', v);
  return v;
}
function bool(o: Obj, rec: string, f: string): boolean {
  const v = o[f];
  if (typeof v !== 'boolean') fail(rec, f, 'true or false', v);
  return v;
}
function num(o: Obj, rec: string, f: string): number {
  const v = o[f];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(rec, f, 'a finite number', v);
  return v;
}
function fraction(o: Obj, rec: string, f: string): number {
  const v = o[f];
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(rec, f, 'a number in 0..1', v);
  return v;
}
function count(o: Obj, rec: string, f: string): number {
  const v = o[f];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(rec, f, 'a non-negative integer', v);
  return v;
}
function intOrNull(o: Obj, rec: string, f: string): number | null {
  const v = o[f];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(rec, f, 'a non-negative integer or null', v);
  return v;
}
function oneOf<T extends string>(o: Obj, rec: string, f: string, allowed: readonly T[]): T {
  const v = o[f];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(rec, f, `one of ${allowed.join('|')}`, v);
  return v as T;
}
function strings(o: Obj, rec: string, f: string, optional = false): string[] {
  const v = o[f];
  if (v === undefined && optional) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(rec, f, 'an array of strings', v);
  return v as string[];
}
function obj(o: Obj, rec: string, f: string): Obj {
  const v = o[f];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(rec, f, 'an object', v);
  return v as Obj;
}

const PACKETS_RE = /^(one|ret|arg\d{1,2})$/;

/**
 * Checks one parsed line. Returns the record with exactly its known members, a reason string when
 * it is malformed, or null for a well-formed object of an unknown type (a newer tracer's addition).
 */
export function validateRecord(v: unknown): StreamRecord | string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'a record must be a JSON object';
  const o = v as Obj;
  if (typeof o.type !== 'string') return 'record has no string "type"';
  try {
    return build(o);
  } catch (e) {
    if (e instanceof Bad) return e.message;
    throw e;
  }
}

function build(o: Obj): StreamRecord | null {
  const t = o.type as string;
  switch (t) {
    case 'hello': {
      const h = obj(o, t, 'hist');
      const feats = obj(o, t, 'features');
      const features: Record<string, boolean> = {};
      for (const [k, fv] of Object.entries(feats)) {
        if (typeof fv !== 'boolean') fail(t, `features.${k}`, 'true or false', fv);
        features[k] = fv;
      }
      return {
        type: t,
        version: count(o, t, 'version'),
        tracer: str(o, t, 'tracer'),
        kernel: str(o, t, 'kernel'),
        arch: str(o, t, 'arch'),
        pid: intOrNull(o, t, 'pid'),
        kernel_mode: bool(o, t, 'kernel_mode'),
        clock: str(o, t, 'clock'),
        interval_ms: count(o, t, 'interval_ms'),
        hist: { sub_bits: count(h, 'hello.hist', 'sub_bits'), buckets: count(h, 'hello.hist', 'buckets'), max_pow: count(h, 'hello.hist', 'max_pow') },
        features,
        missing: strings(o, t, 'missing', true),
      };
    }
    case 'stage': {
      const packets = str(o, t, 'packets');
      if (!PACKETS_RE.test(packets)) fail(t, 'packets', 'one|ret|argN', packets);
      return {
        type: t,
        id: count(o, t, 'id'),
        name: str(o, t, 'name'),
        kind: oneOf(o, t, 'kind', STAGE_KINDS),
        spec: str(o, t, 'spec'),
        packets: packets as PacketsSpec,
        ok: bool(o, t, 'ok'),
        error: strOrNull(o, t, 'error'),
        binary: strOrNull(o, t, 'binary'),
        symbol: strOrNull(o, t, 'symbol'),
        offset: intOrNull(o, t, 'offset'),
        first_insn: strOrNull(o, t, 'first_insn'),
        single_step: o.single_step === undefined ? false : bool(o, t, 'single_step'),
        warning: strOrNull(o, t, 'warning'),
        ...(o.first_bytes !== undefined ? { first_bytes: strOrNull(o, t, 'first_bytes') } : {}),
        ...(o.key !== undefined ? { key: oneOf(o, t, 'key', LATENCY_KEYS) } : {}),
        ...(o.entry_offset !== undefined ? { entry_offset: count(o, t, 'entry_offset') } : {}),
        ...(o.entry_insn !== undefined ? { entry_insn: strOrNull(o, t, 'entry_insn') } : {}),
        ...(o.untimed_insns !== undefined ? { untimed_insns: count(o, t, 'untimed_insns') } : {}),
        ...(o.untimed_prefix !== undefined ? { untimed_prefix: strOrNull(o, t, 'untimed_prefix') } : {}),
      };
    }
    case 'ready':
      return { type: t, t_ns: count(o, t, 't_ns') };
    case 'hist': {
      const b = o.buckets;
      if (!Array.isArray(b)) fail(t, 'buckets', 'an array of [index, count]', b);
      const buckets: Array<[number, number]> = [];
      for (let i = 0; i < b.length; i++) {
        const p: unknown = b[i];
        if (
          !Array.isArray(p) ||
          p.length !== 2 ||
          !Number.isSafeInteger(p[0]) ||
          !Number.isSafeInteger(p[1]) ||
          (p[0] as number) < 0 ||
          (p[1] as number) < 0
        ) {
          fail(t, `buckets[${i}]`, '[index, count] of non-negative integers', p);
        }
        buckets.push([p[0] as number, p[1] as number]);
      }
      return {
        type: t,
        seq: count(o, t, 'seq'),
        stage: count(o, t, 'stage'),
        calls: count(o, t, 'calls'),
        packets: count(o, t, 'packets'),
        sum_ns: count(o, t, 'sum_ns'),
        unmatched: o.unmatched === undefined ? 0 : count(o, t, 'unmatched'),
        ...(o.timed !== undefined ? { timed: count(o, t, 'timed') } : {}),
        buckets,
      };
    }
    case 'frame':
      return {
        type: t,
        id: count(o, t, 'id'),
        fn: str(o, t, 'fn'),
        off: count(o, t, 'off'),
        module: str(o, t, 'module'),
        build_id: strOrNull(o, t, 'build_id'),
        addr: str(o, t, 'addr'),
        kernel: bool(o, t, 'kernel'),
        elf_addr: strOrNull(o, t, 'elf_addr'),
      };
    case 'stack': {
      const f = o.frames;
      if (!Array.isArray(f) || f.length === 0 || !f.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
        fail(t, 'frames', 'a non-empty array of frame ids', f);
      }
      const frames = f as number[];
      const scanned = o.scanned === undefined ? undefined : count(o, t, 'scanned');
      if (scanned !== undefined && scanned >= frames.length) fail(t, 'scanned', 'fewer than the frames', scanned);
      return {
        type: t,
        seq: count(o, t, 'seq'),
        count: count(o, t, 'count'),
        tid: count(o, t, 'tid'),
        frames,
        ...(scanned !== undefined ? { scanned } : {}),
      };
    }
    case 'tick':
      return {
        type: t,
        seq: count(o, t, 'seq'),
        t_ns: count(o, t, 't_ns'),
        dt_ns: count(o, t, 'dt_ns'),
        samples: o.samples === undefined ? 0 : count(o, t, 'samples'),
        lost: o.lost === undefined ? 0 : count(o, t, 'lost'),
        ...(o.coverage !== undefined ? { coverage: fraction(o, t, 'coverage') } : {}),
        ...(o.overhead_pct !== undefined ? { overhead_pct: o.overhead_pct === null ? null : num(o, t, 'overhead_pct') } : {}),
        ...(o.live !== undefined ? { live: fraction(o, t, 'live') } : {}),
        ...(o.cpu_ns !== undefined ? { cpu_ns: count(o, t, 'cpu_ns') } : {}),
        ...(o.sched_ns !== undefined ? { sched_ns: count(o, t, 'sched_ns') } : {}),
        ...(o.slices !== undefined ? { slices: count(o, t, 'slices') } : {}),
        ...(o.timer_late_ns !== undefined ? { timer_late_ns: count(o, t, 'timer_late_ns') } : {}),
        ...(o.sample_run_ns !== undefined ? { sample_run_ns: count(o, t, 'sample_run_ns') } : {}),
      };
    case 'calibration':
      return {
        type: t,
        stage: count(o, t, 'stage'),
        class: oneOf(o, t, 'class', CALIBRATION_CLASSES),
        method: str(o, t, 'method'),
        runs: count(o, t, 'runs'),
        inner_ns: num(o, t, 'inner_ns'),
        inner_spread_ns: num(o, t, 'inner_spread_ns'),
        outer_ns: num(o, t, 'outer_ns'),
        outer_spread_ns: num(o, t, 'outer_spread_ns'),
        ...(o.inner_mean_ns !== undefined ? { inner_mean_ns: o.inner_mean_ns === null ? null : num(o, t, 'inner_mean_ns') } : {}),
        ...(o.inner_mean_spread_ns !== undefined
          ? { inner_mean_spread_ns: o.inner_mean_spread_ns === null ? null : num(o, t, 'inner_mean_spread_ns') }
          : {}),
        ...(o.sched !== undefined ? { sched: str(o, t, 'sched') } : {}),
        ...(o.seq !== undefined ? { seq: count(o, t, 'seq') } : {}),
        ...(o.during !== undefined ? { during: count(o, t, 'during') } : {}),
        ...(o.placement !== undefined ? { placement: oneOf(o, t, 'placement', ['target-cpu', 'other-cpu', 'mixed'] as const) } : {}),
      };
    case 'drop':
      return { type: t, what: oneOf(o, t, 'what', DROP_KINDS), count: count(o, t, 'count') };
    case 'warning':
      return { type: t, message: str(o, t, 'message') };
    case 'error':
      return {
        type: t,
        message: str(o, t, 'message'),
        missing: strings(o, t, 'missing', true),
        fatal: o.fatal === undefined ? true : bool(o, t, 'fatal'),
      };
    case 'bye':
      return {
        type: t,
        reason: oneOf(o, t, 'reason', BYE_REASONS),
        t_ns: count(o, t, 't_ns'),
        detached: o.detached === undefined ? true : bool(o, t, 'detached'),
      };
    default:
      return null;
  }
}
