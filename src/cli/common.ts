// What every command shares: usage errors (exit 2) versus failures (exit 1), and output helpers.
import { sanitizeTerminal } from '../core/sanitize.ts';

export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
/** record: ended early, the target died or was no live user process (a partial session is saved). */
export const EXIT_ENDED = 3;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

/** A whole number from a flag, or a UsageError naming the flag. */
export function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} expects a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function numFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Io whose every write goes through the terminal sanitizer: names and messages from targets and
 * files never reach the terminal as escapes. A write may start with a carriage return (a live
 * line redrawn in place); any other control is replaced.
 */
export function sanitizingIo(io: Io): Io {
  const clean = (t: string): string => (t.startsWith('\r') ? '\r' + sanitizeTerminal(t.slice(1)) : sanitizeTerminal(t));
  return { out: (t) => io.out(clean(t)), err: (t) => io.err(clean(t)) };
}
