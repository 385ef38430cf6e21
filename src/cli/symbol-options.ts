// The symbol options `record`, `report` and `export` share: where debug files for stripped code
// are (src/symbols/), and symbolizing a session with them on this machine.
import { resolve } from 'node:path';
import type { Session } from '../core/session.ts';
import { locateTracer } from '../tracer/locate.ts';
import type { StreamedSession } from '../core/session-stream.ts';
import { describeSymbols, symbolizeSession, symbolizeStreamed, type SymbolizeOptions } from '../symbols/symbolize-session.ts';
import type { Io } from './common.ts';

export const SYMBOL_USAGE =
  '[--debug-file ELF]... (your -g build of a module that ran, or its .debug file: used when its build-id matches)\n' +
  '    [--debug-dir DIR]... (default /usr/lib/debug: DIR/.build-id/xx/rest.debug) [--no-debuginfod] [--no-symbolize]';

export const SYMBOL_OPTIONS = {
  'debug-file': { type: 'string', multiple: true },
  'debug-dir': { type: 'string', multiple: true },
  'no-debuginfod': { type: 'boolean' },
  'no-symbolize': { type: 'boolean' },
} as const;

export interface SymbolValues {
  'debug-file'?: string[];
  'debug-dir'?: string[];
  'no-debuginfod'?: boolean;
  'no-symbolize'?: boolean;
}

/**
 * The session named from the debug files found here (by build-id), or as it was when symbolizing
 * is off or impossible; what was found, refused or missing goes to stderr (`quiet`: only warnings).
 */
/** Whether symbolizeForCli would look for debug files at all (it may then rewrite frames and stacks). */
export function wouldSymbolize(s: Pick<Session, 'frames'>, v: SymbolValues): boolean {
  return !v['no-symbolize'] && s.frames.some((f) => !f.kernel && f.elf_addr);
}

export async function symbolizeForCli(s: Session, v: SymbolValues, io: Io, o: { tracer?: string; quiet?: boolean } = {}): Promise<Session> {
  if (!wouldSymbolize(s, v)) return s;
  const search = debugSearch(v, io, o.tracer);
  if (!search) return s;
  const r = await symbolizeSession(s, search);
  describe(r.session, io, o.quiet);
  return r.session;
}

/** symbolizeForCli for a streamed session: its stacks are read again (not held) and mapped one at a time. */
export async function symbolizeStreamedForCli(
  src: StreamedSession,
  v: SymbolValues,
  io: Io,
  o: { tracer?: string; quiet?: boolean } = {},
): Promise<StreamedSession> {
  if (!wouldSymbolize(src.session, v)) return src;
  const search = debugSearch(v, io, o.tracer);
  if (!search) return src;
  const r = await symbolizeStreamed(src, search);
  describe(r.session.session, io, o.quiet);
  return r.session;
}

function debugSearch(v: SymbolValues, io: Io, explicitTracer: string | undefined): SymbolizeOptions | null {
  let tracer: string;
  try {
    tracer = locateTracer(explicitTracer !== undefined ? { explicit: explicitTracer } : {});
  } catch (e) {
    io.err(`symbols: frames keep the tracer's names: ${(e as Error).message}`);
    return null;
  }
  return {
    tracer,
    localBuilds: (v['debug-file'] ?? []).map((p) => resolve(p)),
    ...(v['debug-dir'] ? { debugDirs: v['debug-dir'].map((d) => resolve(d)) } : {}),
    debuginfod: v['no-debuginfod'] !== true,
  };
}

function describe(s: Session, io: Io, quiet: boolean | undefined): void {
  for (const line of describeSymbols(s)) {
    if (!quiet || line.startsWith('warning:')) io.err(`symbols: ${line}`);
  }
}
