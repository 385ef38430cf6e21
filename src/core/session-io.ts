// Reading and writing session files: `*.pktpath.json`, or gzip-compressed `*.pktpath.json.gz`
// (recognised by content, not by name). Writes are atomic (temp file + rename) so a crash never
// leaves half a session where a good one was. Loading validates the shape and turns every way a
// file can be wrong into a SessionFileError that says what is wrong, never a raw SyntaxError.
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFile, rename, unlink, writeFile, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SESSION_FORMAT, SESSION_VERSION, type Session } from './session.ts';
import { sessionProblem } from './session-schema.ts';

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

/** A session file's bytes; a file that cannot be read is a SessionFileError naming it. */
export async function readSessionBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new SessionFileError(path, `cannot read: ${why}`);
  }
}

export async function loadSession(path: string): Promise<Session> {
  return parseSession(await readSessionBytes(path), path);
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

function validateSession(v: unknown, name: string): Session {
  const o = v as { format?: unknown; version?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o.format !== SESSION_FORMAT) {
    throw new SessionFileError(name, `not a pktpath session file (no "format": "${SESSION_FORMAT}")`);
  }
  if (typeof o.version === 'number' && Number.isInteger(o.version) && o.version > SESSION_VERSION) {
    throw new SessionFileError(name, `session format version ${o.version} is newer than this pktpath reads (${SESSION_VERSION}): update pktpath`);
  }
  const problem = sessionProblem(v);
  if (problem) throw new SessionFileError(name, problem);
  // Additive members of later writers of version 1 may be absent in older files.
  const s = v as Session;
  s.errors ??= [];
  s.end_reason ??= null;
  s.partial_reason ??= null;
  return s;
}
