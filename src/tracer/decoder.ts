// Validating, incremental decoder of the tracer stream (docs/stream.md). Feed it chunks as they
// arrive; it splits lines (LF or CRLF, partial lines kept until complete), parses each one and
// checks it against its record type's schema (stream-schema.ts). A bad line becomes a DecodeError
// warning with its line number and never costs the valid lines around it. Fatal: a hello of
// another stream version (everything after it would be misread) and, in strict mode (the tests'),
// a record type or member the schema does not name. Otherwise those are said once and ignored, so
// an older pktpath reads a newer tracer.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { STREAM_VERSION } from './protocol.ts';
import { RECORD_SCHEMAS, type RecordType, type StreamRecord } from './stream-schema.ts';

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
  /** A record type or member the schema does not name is fatal. Default: PKTPATH_STREAM_STRICT=1 in the
   * environment, which the test runs set, so a tracer that writes something the schema lacks fails them. */
  strict?: boolean;
}

const DEFAULT_MAX_LINE = 8 * 1024 * 1024;

export class StreamDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false; // inside an over-long line, dropping until its newline
  private lineNo = 0;
  private fatal = false;
  private readonly unknownSaid = new Set<string>();
  private readonly maxLine: number;
  private readonly strict: boolean;

  constructor(opts: DecoderOptions = {}) {
    this.maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
    this.strict = opts.strict ?? process.env.PKTPATH_STREAM_STRICT === '1';
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
    let res: ReturnType<typeof checkRecord>;
    try {
      res = checkRecord(value);
    } catch (e) {
      // the schema library recurses into a member nested beyond the JS stack: a malformed line
      if (!(e instanceof RangeError)) throw e;
      res = `nested too deeply to check (${e.message})`;
    }
    if (typeof res === 'string') {
      out.push({ kind: 'warning', error: new DecodeError(this.lineNo, res, text) });
      return;
    }
    if ('version' in res) {
      const which = res.version > STREAM_VERSION ? 'newer than this pktpath reads: update pktpath' : 'older than this pktpath reads: update the tracer';
      this.fail(out, `tracer stream version ${res.version} is ${which} (expected version ${STREAM_VERSION})`);
      return;
    }
    if ('unknownType' in res) {
      if (this.strict) this.fail(out, `unknown record type ${JSON.stringify(res.unknownType)} (strict decoding: the schema in src/tracer/stream-schema.ts lacks it)`);
      else this.sayOnce(out, res.unknownType, `unknown record type ${JSON.stringify(res.unknownType)}, ignored (said once)`);
      return;
    }
    if (res.unknown.length) {
      const t = res.record.type;
      const names = res.unknown.map((m) => JSON.stringify(m)).join(', ');
      if (this.strict) {
        this.fail(out, `${t}: unknown member ${names} (strict decoding: the schema in src/tracer/stream-schema.ts lacks it)`);
        return;
      }
      for (const m of res.unknown) this.sayOnce(out, `${t}.${m}`, `${t}: member ${JSON.stringify(m)} is not known to this pktpath, ignored (said once)`);
    }
    out.push({ kind: 'record', line: this.lineNo, record: res.record });
  }

  private fail(out: DecodeEvent[], reason: string): void {
    this.fatal = true;
    out.push({ kind: 'fatal', error: new DecodeError(this.lineNo, reason, '') });
  }

  /** A newer tracer's additions: said once per kind, not once per interval, and not without end. */
  private sayOnce(out: DecodeEvent[], key: string, reason: string): void {
    if (this.unknownSaid.has(key) || this.unknownSaid.size >= 100) return;
    this.unknownSaid.add(key);
    out.push({ kind: 'warning', error: new DecodeError(this.lineNo, reason, '') });
  }
}
// ---- validation against the schema ---------------------------------------------------------------

const CHECKS = Object.fromEntries(
  Object.entries(RECORD_SCHEMAS).map(([t, s]) => [t, TypeCompiler.Compile(s as TSchema)]),
) as Record<RecordType, TypeCheck<TSchema>>;

function isRecordType(t: string): t is RecordType {
  return Object.hasOwn(RECORD_SCHEMAS, t);
}

/** A JSON pointer ("/buckets/3/1") as a member name ("buckets[3][1]"). */
function fieldName(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i ? `.${p}` : p))
    .join('');
}

/** The members of value that schema does not name, nested ones as "hist.x". */
function unknownMembers(schema: TSchema, value: unknown, prefix = ''): string[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const s = props[k];
    if (!s) out.push(prefix + k);
    else out.push(...unknownMembers(s, v, `${prefix}${k}.`));
  }
  return out;
}

export type CheckResult =
  | { record: StreamRecord; unknown: string[] }
  | { unknownType: string }
  | { version: number };

/**
 * Checks one parsed line against its record type's schema, filling in the defaults of members older
 * tracers did not write. Returns the record (members the schema does not name are listed in
 * `unknown` and removed), a reason string when it is malformed, the record type when the schema
 * has none of that name, or the version of a hello of another stream version.
 */
export function checkRecord(v: unknown): CheckResult | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'a record must be a JSON object';
  const o = v as Record<string, unknown>;
  const t = o.type;
  if (typeof t !== 'string') return 'record has no string "type"';
  if (!isRecordType(t)) return { unknownType: t };
  if (t === 'hello' && typeof o.version === 'number' && o.version !== STREAM_VERSION) return { version: o.version };
  const schema = RECORD_SCHEMAS[t];
  const check = CHECKS[t];
  // valid records (all a current tracer writes) take the compiled check alone; the defaults of
  // members older tracers did not write are filled in only when it fails
  const e = check.Check(o) ? undefined : (Value.Default(schema, o), check.Errors(o).First());
  if (e) {
    const got = e.value === undefined ? 'missing' : JSON.stringify(e.value)?.slice(0, 40) ?? String(e.value);
    const want = e.schema.description ?? e.message.toLowerCase();
    return `${t}: "${fieldName(e.path)}" must be ${want}, got ${got}`;
  }
  if (t === 'stack' && typeof o.scanned === 'number' && Array.isArray(o.frames) && o.scanned >= o.frames.length) {
    return `stack: "scanned" must be fewer than the frames, got ${o.scanned}`;
  }
  if (t === 'stack' && typeof o.found === 'string' && Array.isArray(o.frames) && o.found.length !== o.frames.length) {
    return `stack: "found" must have one letter per frame (${o.frames.length}), got ${o.found.length}`;
  }
  const unknown = unknownMembers(schema, o);
  if (unknown.length) Value.Clean(schema, o);
  return { record: o as StreamRecord, unknown };
}

/**
 * Checks one parsed line. Returns the record with exactly its known members, a reason string when
 * it is malformed, or null for a well-formed object of an unknown type (a newer tracer's addition).
 */
export function validateRecord(v: unknown): StreamRecord | string | null {
  const r = checkRecord(v);
  if (typeof r === 'string') return r;
  if ('record' in r) return r.record;
  if ('version' in r) return `hello: stream version ${r.version}, expected ${STREAM_VERSION}`;
  return null;
}
