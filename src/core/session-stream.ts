// Reading a large session without holding its parsed stacks: the file is scanned once for the
// top-level "stacks" array; everything else is parsed and validated as usual (small), and the
// stacks are parsed one element at a time when iterated. A plain file is read through a window of
// WINDOW bytes, again on each iteration, so a 1M-stack session costs one stack and the window,
// not its 100 MB of bytes nor a million objects (docs/hostile-files.md has the numbers); a gzip
// file is decompressed into memory first (zlib has no synchronous streaming inflate).
//
// No streaming JSON library: the session's one big member is an array of small objects, and
// finding where each element ends needs only a bracket count outside strings.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Session, StackSample } from './session.ts';
import { parseSession, readSessionBytes, SessionFileError } from './session-io.ts';
import { memberPath, preview, SessionSchema } from './session-schema.ts';

export interface StreamedSession {
  /** Everything but the stacks (its `stacks` is empty), validated. */
  session: Session;
  /** Parses and validates the stacks one by one, in file order; may be iterated more than once. */
  stacks(): Generator<StackSample>;
}

const STACK = TypeCompiler.Compile(SessionSchema.properties.stacks.items);

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Bytes read forward by index: a Buffer, or a file through a window (see the header). */
interface Bytes {
  readonly length: number;
  /** The byte at i (0 <= i < length). */
  at(i: number): number;
  /** Bytes [i, j) as UTF-8 text. */
  text(i: number, j: number): string;
}

function bufferBytes(b: Buffer): Bytes {
  return { length: b.length, at: (i) => b[i]!, text: (i, j) => b.toString('utf8', i, j) };
}

const WINDOW = 1 << 20;

/** A file's bytes through one window that moves forward as they are read. */
class FileBytes implements Bytes {
  private win = Buffer.alloc(0);
  private from = 0;
  constructor(private readonly fd: number, readonly length: number) {}

  private fill(i: number): void {
    this.win = Buffer.allocUnsafe(Math.min(WINDOW, this.length - i));
    this.from = i;
    let got = 0;
    while (got < this.win.length) {
      const n = readSync(this.fd, this.win, got, this.win.length - got, i + got);
      if (n === 0) break; // the file shrank: what is missing reads as the end
      got += n;
    }
    this.win = this.win.subarray(0, got);
  }

  at(i: number): number {
    if (i < this.from || i >= this.from + this.win.length) this.fill(i);
    return this.win[i - this.from] ?? 0;
  }

  text(i: number, j: number): string {
    if (i >= this.from && j <= this.from + this.win.length) return this.win.toString('utf8', i - this.from, j - this.from);
    const b = Buffer.allocUnsafe(j - i);
    let got = 0;
    while (got < b.length) {
      const n = readSync(this.fd, b, got, b.length - got, i + got);
      if (n === 0) break;
      got += n;
    }
    return b.toString('utf8', 0, got);
  }
}

/** Index just past the JSON value starting at i (after whitespace); -1 when malformed or cut. */
function skipValue(b: Bytes, i: number): number {
  while (i < b.length && isWs(b.at(i))) i++;
  if (i >= b.length) return -1;
  const c = b.at(i);
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (; i < b.length; i++) {
      const d = b.at(i);
      if (d === 0x22) {
        i = skipString(b, i) - 1;
        if (i < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  while (i < b.length) {
    const d = b.at(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isWs(d)) break;
    i++;
  }
  return i;
}

function skipString(b: Bytes, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b.at(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** [start, end) of the top-level member `key`'s value, or null when it is not there or the file is not a plain object. */
export function findTopLevelMember(buf: Buffer, key: string): { start: number; end: number } | null {
  return findMember(bufferBytes(buf), key);
}

function findMember(b: Bytes, key: string): { start: number; end: number } | null {
  let i = 0;
  if (b.length >= 3 && b.at(0) === 0xef && b.at(1) === 0xbb && b.at(2) === 0xbf) i = 3;
  while (i < b.length && isWs(b.at(i))) i++;
  if (i >= b.length || b.at(i) !== 0x7b) return null;
  i++;
  for (;;) {
    while (i < b.length && isWs(b.at(i))) i++;
    if (i >= b.length || b.at(i) !== 0x22) return null;
    const kEnd = skipString(b, i);
    if (kEnd < 0) return null;
    let name: unknown;
    try {
      name = JSON.parse(b.text(i, kEnd));
    } catch {
      return null;
    }
    i = kEnd;
    while (i < b.length && isWs(b.at(i))) i++;
    if (i >= b.length || b.at(i) !== 0x3a) return null;
    i++;
    while (i < b.length && isWs(b.at(i))) i++;
    const start = i;
    const end = skipValue(b, i);
    if (end < 0) return null;
    if (name === key) return { start, end };
    i = end;
    while (i < b.length && isWs(b.at(i))) i++;
    if (i >= b.length || b.at(i) !== 0x2c) return null;
    i++;
  }
}

/** Reads a session file (plain or gzip) keeping its stacks unparsed until iterated. */
export async function openSessionStreaming(path: string): Promise<StreamedSession> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return streamSession(await readSessionBytes(path), path); // says why, as every reader does
  }
  try {
    const st = fstatSync(fd);
    const b = new FileBytes(fd, st.size);
    // gzip, directories and the like: read whole, as before
    if (!st.isFile() || st.size < 2 || (b.at(0) === 0x1f && b.at(1) === 0x8b)) return streamSession(await readSessionBytes(path), path);
    const at = findMember(b, 'stacks');
    if (!at || b.at(at.start) !== 0x5b) return streamSession(await readSessionBytes(path), path);
    const head = Buffer.concat([Buffer.from(b.text(0, at.start)), Buffer.from('[]'), Buffer.from(b.text(at.end, st.size))]);
    const session = parseSession(head, path);
    function* stacks(): Generator<StackSample> {
      const f = openSync(path, 'r');
      try {
        yield* stackElements(new FileBytes(f, st.size), at!, path);
      } finally {
        closeSync(f);
      }
    }
    return { session, stacks };
  } finally {
    closeSync(fd);
  }
}

export function streamSession(raw: Buffer, name: string): StreamedSession {
  let buf = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      buf = gunzipSync(raw);
    } catch {
      return whole(parseSession(raw, name)); // names the damage
    }
  }
  const at = findTopLevelMember(buf, 'stacks');
  if (!at || buf[at.start] !== 0x5b) return whole(parseSession(buf, name));
  const head = Buffer.concat([buf.subarray(0, at.start), Buffer.from('[]'), buf.subarray(at.end)]);
  const session = parseSession(head, name);
  const data = bufferBytes(buf);
  return { session, stacks: () => stackElements(data, at, name) };
}

/** The elements of the stacks array at [start, end), parsed and validated one by one. */
function* stackElements(data: Bytes, at: { start: number; end: number }, name: string): Generator<StackSample> {
  let i = at.start + 1;
  const end = at.end - 1; // the closing bracket
  for (let n = 0; ; n++) {
    while (i < end && (isWs(data.at(i)) || (n > 0 && data.at(i) === 0x2c))) i++;
    if (i >= end) return;
    const e = skipValue(data, i);
    if (e < 0 || e > end) throw new SessionFileError(name, `stacks[${n}]: expected a stack, got damaged JSON`);
    let v: unknown;
    try {
      v = JSON.parse(data.text(i, e));
    } catch (err) {
      throw new SessionFileError(name, `stacks[${n}]: not valid JSON (${(err as Error).message})`);
    }
    if (!STACK.Check(v)) {
      const first = STACK.Errors(v).First();
      const path = `stacks[${n}]${first ? memberPath(first.path).replace(/^(?!\[)(.)/, '.$1') : ''}`;
      throw new SessionFileError(name, `${path}: expected ${first?.schema.description ?? 'a stack'}, got ${preview(first?.value)}`);
    }
    if (v.found !== undefined && v.found.length !== v.frames.length) {
      throw new SessionFileError(name, `stacks[${n}].found: expected one letter per frame (${v.frames.length}), got ${v.found.length}`);
    }
    yield v;
    i = e;
  }
}

/** An already parsed session as a streamed one (small files, or ones the scanner could not split). */
export function whole(s: Session): StreamedSession {
  const all = s.stacks;
  return { session: { ...s, stacks: [] }, stacks: () => all[Symbol.iterator]() as Generator<StackSample> };
}
