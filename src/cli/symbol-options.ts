// The symbol options `record`, `report` and `export` share: where debug files for stripped code
// are (src/symbols/), and symbolizing a session with them on this machine.
import { resolve } from 'node:path';
import type { Session } from '../core/session.ts';
import { locateTracer } from '../tracer/locate.ts';
import { describeSymbols, symbolizeSession } from '../symbols/symbolize-session.ts';
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
  let tracer: string;
  try {
    tracer = locateTracer(o.tracer !== undefined ? { explicit: o.tracer } : {});
  } catch (e) {
    io.err(`symbols: frames keep the tracer's names: ${(e as Error).message}`);
    return s;
  }
  const r = await symbolizeSession(s, {
    tracer,
    localBuilds: (v['debug-file'] ?? []).map((p) => resolve(p)),
    ...(v['debug-dir'] ? { debugDirs: v['debug-dir'].map((d) => resolve(d)) } : {}),
    debuginfod: v['no-debuginfod'] !== true,
  });
  for (const line of describeSymbols(r.session)) {
    if (!o.quiet || line.startsWith('warning:')) io.err(`symbols: ${line}`);
  }
  return r.session;
}
