// Reading and writing session files: `*.pktpath.json`, or gzip-compressed `*.pktpath.json.gz`
// (recognised by content, not by name). Writes are atomic (temp file + rename) so a crash never
// leaves half a session where a good one was. Loading validates the shape and turns every way a
// file can be wrong into a SessionFileError that says what is wrong, never a raw SyntaxError.
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFile, rename, unlink, writeFile, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SESSION_FORMAT, SESSION_VERSION, type Session } from './session.ts';

export class SessionFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SessionFileError';
    this.file = file;
  }
}

export function serializeSession(s: Session, gzip = false): Buffer {
  const json = Buffer.from(JSON.stringify(s) + '\n', 'utf8');
  return gzip ? gzipSync(json) : json;
}

/** Writes `s` to `path` atomically; gzip when the name ends in `.gz`. */
export async function saveSession(path: string, s: Session): Promise<void> {
  const data = serializeSession(s, path.endsWith('.gz'));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

export async function loadSession(path: string): Promise<Session> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new SessionFileError(path, `cannot read: ${why}`);
  }
  return parseSession(raw, path);
}

/** Parses file contents (plain or gzip JSON); `name` only labels the errors. */
export function parseSession(raw: Buffer, name = 'session'): Session {
  let buf = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      buf = gunzipSync(raw);
    } catch (e) {
      throw new SessionFileError(name, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length === 0) throw new SessionFileError(name, 'the file is empty');
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    const msg = (e as Error).message;
    const truncated = /end of (JSON )?input|Unterminated/i.test(msg);
    throw new SessionFileError(name, truncated ? 'the file is truncated (JSON ends early)' : `not a pktpath session: not valid JSON (${msg})`);
  }
  return validateSession(v, name);
}

// ---- validation -------------------------------------------------------------------------------

class Invalid extends Error {}

type O = Record<string, unknown>;

function isObj(v: unknown): v is O {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function need(cond: boolean, where: string, what: string): void {
  if (!cond) throw new Invalid(`${where} ${what}`);
}
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStrOrNull = (v: unknown) => v === null || typeof v === 'string';

function validateSession(v: unknown, name: string): Session {
  if (!isObj(v) || v.format !== SESSION_FORMAT) {
    throw new SessionFileError(name, `not a pktpath session file (no "format": "${SESSION_FORMAT}")`);
  }
  if (!isNum(v.version) || !Number.isInteger(v.version) || v.version < 1) {
    throw new SessionFileError(name, 'the session has no valid "version"');
  }
  if (v.version > SESSION_VERSION) {
    throw new SessionFileError(name, `session format version ${v.version} is newer than this pktpath reads (${SESSION_VERSION}): update pktpath`);
  }
  try {
    checkShape(v);
  } catch (e) {
    if (e instanceof Invalid) throw new SessionFileError(name, `damaged session: ${e.message}`);
    throw e;
  }
  // Additive members of later writers of version 1 may be absent in older files.
  const s = v as unknown as Session;
  s.errors ??= [];
  s.end_reason ??= null;
  return s;
}

function checkShape(v: O): void {
  need(typeof v.created === 'string', '"created"', 'must be a string');
  need(typeof v.partial === 'boolean', '"partial"', 'must be true or false');
  need(isStrOrNull(v.partial_reason ?? null), '"partial_reason"', 'must be a string or null');
  need(isObj(v.target), '"target"', 'must be an object');
  const t = v.target as O;
  need(typeof t.host === 'string', '"target.host"', 'must be a string');
  need(t.pid === null || isNum(t.pid), '"target.pid"', 'must be a number or null');
  need(isObj(v.tracer), '"tracer"', 'must be an object');
  for (const k of ['duration_s', 'interval_ms', 'sample_hz', 'samples', 'lost_samples']) need(isNum(v[k]) && (v[k] as number) >= 0, `"${k}"`, 'must be a non-negative number');
  need(isObj(v.hist) && isNum((v.hist as O).sub_bits) && isNum((v.hist as O).max_pow), '"hist"', 'must give sub_bits and max_pow');
  const hist = v.hist as O;
  need((hist.sub_bits as number) >= 1 && (hist.sub_bits as number) <= 8 && (hist.max_pow as number) <= 63, '"hist"', 'has an impossible layout');
  need(Array.isArray(v.stages), '"stages"', 'must be an array');
  (v.stages as unknown[]).forEach((st, i) => checkStage(st, `stages[${i}]`));
  need(Array.isArray(v.frames), '"frames"', 'must be an array');
  (v.frames as unknown[]).forEach((f, i) => {
    const w = `frames[${i}]`;
    need(isObj(f), w, 'must be an object');
    const o = f as O;
    need(isNum(o.id) && typeof o.fn === 'string' && typeof o.module === 'string' && typeof o.addr === 'string', w, 'needs id, fn, module and addr');
  });
  need(Array.isArray(v.stacks), '"stacks"', 'must be an array');
  (v.stacks as unknown[]).forEach((s, i) => {
    const w = `stacks[${i}]`;
    need(isObj(s) && Array.isArray((s as O).frames) && ((s as O).frames as unknown[]).every(isNum) && isNum((s as O).count), w, 'needs frames (ids) and count');
  });
  need(isObj(v.drops) && Object.values(v.drops as O).every(isNum), '"drops"', 'must map names to numbers');
  need(Array.isArray(v.warnings) && (v.warnings as unknown[]).every((w) => typeof w === 'string'), '"warnings"', 'must be an array of strings');
  if (v.intervals !== undefined) {
    need(
      Array.isArray(v.intervals) && (v.intervals as unknown[]).every((i) => isObj(i) && isNum(i.t_s) && isNum(i.dt_s) && isNum(i.coverage) && (i.overhead_pct === null || isNum(i.overhead_pct))),
      '"intervals"',
      'must be points of t_s, dt_s, coverage, overhead_pct',
    );
  }
  if (v.errors !== undefined) need(Array.isArray(v.errors) && (v.errors as unknown[]).every((w) => typeof w === 'string'), '"errors"', 'must be an array of strings');
}

function checkStage(st: unknown, w: string): void {
  need(isObj(st), w, 'must be an object');
  const o = st as O;
  need(typeof o.name === 'string', `${w}.name`, 'must be a string');
  need(typeof o.kind === 'string' && typeof o.spec === 'string' && typeof o.packets_from === 'string', w, 'needs kind, spec and packets_from');
  for (const k of ['id', 'calls', 'packets', 'sum_ns', 'unmatched']) need(isNum(o[k]) && (o[k] as number) >= 0, `${w}.${k}`, 'must be a non-negative number');
  need(isObj(o.attach) && typeof (o.attach as O).ok === 'boolean', `${w}.attach`, 'must be an object with "ok"');
  need(
    Array.isArray(o.buckets) &&
      (o.buckets as unknown[]).every((p) => Array.isArray(p) && p.length === 2 && isNum(p[0]) && isNum(p[1]) && p[0] >= 0 && p[1] >= 0),
    `${w}.buckets`,
    'must be [index, count] pairs',
  );
  if (o.calibration !== null) {
    const c = o.calibration;
    need(isObj(c) && isNum(c.inner_ns) && isNum(c.inner_spread_ns) && isNum(c.outer_ns), `${w}.calibration`, 'must be null or give inner_ns, inner_spread_ns, outer_ns');
  }
  need(
    Array.isArray(o.timeline) && (o.timeline as unknown[]).every((p) => isObj(p) && isNum(p.t_s) && isNum(p.calls) && isNum(p.packets) && isNum(p.sum_ns)),
    `${w}.timeline`,
    'must be points of t_s, calls, packets, sum_ns',
  );
}
