// Where `record -o FILE` saves: checked before anything attaches, and a fallback when saving still
// fails at the end, so a recording is never thrown away.
//
// The check writes and syncs a small probe file beside the target: that is what finds a read-only
// mount (EROFS), a full disk (ENOSPC), a directory the user may not write (EACCES) or a pseudo file
// system, in milliseconds instead of after the whole recording.
import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { saveSession } from '../core/session-io.ts';
import type { Session } from '../core/session.ts';
import { UsageError, type Io } from './common.ts';

/** Bytes the probe writes: one file-system block, enough that a full disk refuses it. */
const PROBE_BYTES = 4096;
const PSEUDO_FS = ['/proc', '/sys', '/dev'];

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT': return 'no such directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    default: return err.message ?? String(e);
  }
}

/** Throws a UsageError saying why FILE cannot take the session; returns its absolute path. */
export function checkOutputFile(file: string): string {
  const path = resolve(file);
  const refuse = (what: string): never => {
    throw new UsageError(`-o ${file}: ${what}`);
  };
  if (file.endsWith('/') || basename(path) === '') refuse('names a directory, not a file');
  let dir: string;
  try {
    dir = realpathSync(dirname(path));
    if (!statSync(dir).isDirectory()) refuse(`${dirname(path)} is not a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return refuse(`directory ${dirname(path)}: ${why(e)}`);
  }
  if (PSEUDO_FS.some((p) => dir === p || dir.startsWith(`${p}/`))) refuse(`${dir} is a kernel pseudo file system, not storage`);
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) refuse('is a directory');
    if (!st.isFile() && !st.isSymbolicLink()) refuse('exists and is not a regular file');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') refuse(why(e));
  }
  const probe = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.probe`);
  let fd = -1;
  try {
    fd = openSync(probe, 'wx', 0o600);
    writeSync(fd, Buffer.alloc(PROBE_BYTES));
    fsyncSync(fd);
  } catch (e) {
    refuse(`cannot write in ${dir}: ${why(e)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(probe);
    } catch {
      // never created
    }
  }
  return path;
}

/** Where a session goes when its own path fails: the temp directory, then the working directory. */
export function fallbackPaths(file: string, now = new Date()): string[] {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const name = `pktpath-rescued-${stamp}-${basename(file).replace(/\.gz$/, '')}`;
  return [join(process.env.TMPDIR || tmpdir(), name), join(process.cwd(), name)];
}

/**
 * Saves the session to FILE, or, when that fails, to the first fallback that works (said on
 * stderr). Returns the path written and whether it is a fallback; throws only when every place failed.
 */
export async function saveOrRescue(file: string, s: Session, io: Io, places = fallbackPaths(file)): Promise<{ path: string; fallback: boolean }> {
  let first: unknown;
  try {
    await saveSession(file, s);
    return { path: file, fallback: false };
  } catch (e) {
    first = e;
  }
  for (const p of places) {
    try {
      await saveSession(p, s);
      io.err(`error: could not save to ${file} (${why(first)}); the session is saved to ${p} instead`);
      return { path: p, fallback: true };
    } catch {
      // try the next place
    }
  }
  throw new Error(`could not save the session to ${file} (${why(first)}) nor to ${places.join(' or ')}`);
}
