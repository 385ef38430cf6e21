// Reading a large session without holding its parsed stacks: the file's bytes are scanned once for
// the top-level "stacks" array; everything else is parsed and validated as usual (small), and the
// stacks are parsed one element at a time when iterated. A 1M-stack session then costs its raw
// bytes plus one stack, not a million objects (docs/hostile-files.md has the numbers).
//
// No streaming JSON library: the session's one big member is an array of small objects, and
// finding where each element ends needs only a bracket count outside strings.
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

/** Index just past the JSON value starting at i (after whitespace); -1 when malformed or cut. */
function skipValue(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i]!)) i++;
  if (i >= b.length) return -1;
  const c = b[i]!;
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (; i < b.length; i++) {
      const d = b[i]!;
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
  while (i < b.length && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && !isWs(b[i]!)) i++;
  return i;
}

function skipString(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    if (b[i] === 0x5c) i++;
    else if (b[i] === 0x22) return i + 1;
  }
  return -1;
}

/** [start, end) of the top-level member `key`'s value, or null when it is not there or the file is not a plain object. */
export function findTopLevelMember(b: Buffer, key: string): { start: number; end: number } | null {
  let i = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
  while (i < b.length && isWs(b[i]!)) i++;
  if (b[i] !== 0x7b) return null;
  i++;
  for (;;) {
    while (i < b.length && isWs(b[i]!)) i++;
    if (b[i] !== 0x22) return null;
    const kEnd = skipString(b, i);
    if (kEnd < 0) return null;
    let name: unknown;
    try {
      name = JSON.parse(b.toString('utf8', i, kEnd));
    } catch {
      return null;
    }
    i = kEnd;
    while (i < b.length && isWs(b[i]!)) i++;
    if (b[i] !== 0x3a) return null;
    i++;
    while (i < b.length && isWs(b[i]!)) i++;
    const start = i;
    const end = skipValue(b, i);
    if (end < 0) return null;
    if (name === key) return { start, end };
    i = end;
    while (i < b.length && isWs(b[i]!)) i++;
    if (b[i] !== 0x2c) return null;
    i++;
  }
}

/** Reads a session file (plain or gzip) keeping its stacks unparsed until iterated. */
export async function openSessionStreaming(path: string): Promise<StreamedSession> {
  return streamSession(await readSessionBytes(path), path);
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
  const data = buf;
  function* stacks(): Generator<StackSample> {
    let i = at!.start + 1;
    const end = at!.end - 1; // the closing bracket
    for (let n = 0; ; n++) {
      while (i < end && (isWs(data[i]!) || (n > 0 && data[i] === 0x2c))) i++;
      if (i >= end) return;
      const e = skipValue(data, i);
      if (e < 0 || e > end) throw new SessionFileError(name, `stacks[${n}]: expected a stack, got damaged JSON`);
      let v: unknown;
      try {
        v = JSON.parse(data.toString('utf8', i, e));
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
  return { session, stacks };
}

/** An already parsed session as a streamed one (small files, or ones the scanner could not split). */
export function whole(s: Session): StreamedSession {
  const all = s.stacks;
  return { session: { ...s, stacks: [] }, stacks: () => all[Symbol.iterator]() as Generator<StackSample> };
}
