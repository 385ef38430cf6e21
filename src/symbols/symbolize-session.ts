// Symbolizes a session where the debug files are (this machine): for every module on the stacks,
// its debug file by build-id (debug-files.ts), then each sampled address's function and inline
// chain from it (dwarf-helper.ts), applied to the frames (src/core/symbolic-frames.ts). Modules
// without a debug file keep the tracer's names (`lib+0xSTART` for code without symbols).
import type { Frame, ModuleSymbols, Session, StackSample } from '../core/session.ts';
import type { StreamedSession } from '../core/session-stream.ts';
import {
  applySymbols,
  distinctRoles,
  lookupAddress,
  moduleKey,
  stackSymbolizer,
  stripSymbols,
  tracerFrames,
  type AddrAnswer,
  type FrameRole,
  type ModuleAnswers,
} from '../core/symbolic-frames.ts';
import { askDwarf } from './dwarf-helper.ts';
import { findDebugFile, InfoCache, type DebugSearch } from './debug-files.ts';

export type SymbolizeOptions = DebugSearch;

const BATCH = 20000; // addresses per helper process

/** The tracer found no symbol for the frame: it is named `lib+0x…` after its address or function range. */
export function tracerUnnamed(f: Pick<Frame, 'fn' | 'module' | 'named_by'>): boolean {
  if (f.named_by !== undefined && f.named_by !== null) return f.named_by === 'eh_frame';
  const base = f.module.slice(f.module.lastIndexOf('/') + 1);
  return f.fn.startsWith(`${base}+0x`) && /^[0-9a-f]+$/.test(f.fn.slice(base.length + 3));
}

export interface ModuleAddresses {
  module: string;
  build_id: string | null;
  addrs: Set<string>;
  /** frames the tracer named `lib+0x…` after their .eh_frame range */
  eh_named: number;
}

/** Modules on the stacks and the addresses to ask about in each (leaf: as sampled; caller: - 1). */
export function addressesByModule(frames: readonly Frame[], stacks: Iterable<StackSample>): Map<string, ModuleAddresses> {
  return addressesOfRoles(frames, distinctRoles(frames, stacks));
}

/** addressesByModule from the stacks' distinct (frame, role) pairs (what one streamed pass collects). */
export function addressesOfRoles(frames: readonly Frame[], roles: Iterable<FrameRole>): Map<string, ModuleAddresses> {
  const byId = new Map(frames.map((f) => [f.id, f]));
  const out = new Map<string, ModuleAddresses>();
  const counted = new Set<number>();
  for (const { id, caller } of roles) {
    const f = byId.get(id);
    if (!f || f.kernel || f.module.startsWith('[')) continue;
    const a = lookupAddress(f, caller);
    if (!a) continue;
    const k = moduleKey(f.module, f.build_id);
    let m = out.get(k);
    if (!m) out.set(k, (m = { module: f.module, build_id: f.build_id, addrs: new Set(), eh_named: 0 }));
    m.addrs.add(a);
    if (!counted.has(id) && tracerUnnamed(f)) m.eh_named++;
    counted.add(id);
  }
  return out;
}

export interface FoundAnswers {
  answers: Map<string, ModuleAnswers>;
  missing: ModuleSymbols[];
  warnings: string[];
}

/** Where the answers for the modules' addresses come from: the debug files here (debugFileAnswers), or given (tests, bench). */
export type AnswerSource = (modules: ReadonlyMap<string, ModuleAddresses>) => Promise<FoundAnswers>;

/** Each module's debug file by build-id, asked about its addresses; modules without one are `missing`. */
export function debugFileAnswers(o: SymbolizeOptions): AnswerSource {
  return async (modules) => {
    const cache = new InfoCache(o.tracer);
    const answers = new Map<string, ModuleAnswers>();
    const missing: ModuleSymbols[] = [];
    const warnings: string[] = [];
    for (const [k, m] of modules) {
      const r = await findDebugFile(m.module, m.build_id, o, cache);
      warnings.push(...r.refused);
      if (!r.found) {
        missing.push({ module: m.module, build_id: m.build_id, source: null, debug_file: null, named: 0, inlined: 0 });
        if (m.eh_named > 0) {
          warnings.push(
            `${m.module}: no debug file for build-id ${m.build_id ?? '(none)'}; ${m.eh_named} frames are named ` +
              'lib+0xSTART after their function\'s range (.eh_frame). Give its -g build (--debug-file / pktpath.localBinary), ' +
              'install its debug package (/usr/lib/debug/.build-id) or set DEBUGINFOD_URLS.',
          );
        }
        continue;
      }
      const addrs = [...m.addrs];
      const map = new Map<string, AddrAnswer>();
      for (let i = 0; i < addrs.length; i += BATCH) {
        const part = addrs.slice(i, i + BATCH);
        const got = await askDwarf(o.tracer, r.found.path, part.map((addr) => ({ kind: 'addr' as const, addr })));
        got.forEach((a, j) => {
          if (a.kind === 'addr') map.set(part[j]!, a.answer);
        });
      }
      answers.set(k, { source: r.found.source, debug_file: r.found.path, answers: map });
    }
    return { answers, missing, warnings };
  };
}

export interface SymbolizeResult {
  session: Session;
  warnings: string[];
}

/** The session with names and inline frames from every debug file found; warnings say what was refused or missing. */
export async function symbolizeSession(session: Session, o: SymbolizeOptions | AnswerSource): Promise<SymbolizeResult> {
  const s = stripSymbols(session);
  const found = await (typeof o === 'function' ? o : debugFileAnswers(o))(addressesByModule(s.frames, s.stacks));
  return { session: applySymbols(s, found.answers, found), warnings: found.warnings };
}

/**
 * symbolizeSession without holding the stacks: one pass over them collects the distinct
 * (frame, role) pairs, whose addresses are asked about and whose expansions, made in that order,
 * give the whole frame table; each later pass maps the stacks one by one (see StackSymbolizer).
 * The result's stacks equal symbolizeSession's, ids included.
 */
export async function symbolizeStreamed(src: StreamedSession, o: SymbolizeOptions | AnswerSource): Promise<{ session: StreamedSession; warnings: string[] }> {
  const t = tracerFrames(src.session.frames);
  const tracerStacks = function* (): Generator<StackSample> {
    for (const st of src.stacks()) yield t.stack(st);
  };
  const roles = distinctRoles(t.frames, tracerStacks());
  const found = await (typeof o === 'function' ? o : debugFileAnswers(o))(addressesOfRoles(t.frames, roles));
  const z = stackSymbolizer(t.frames, found.answers);
  for (const r of roles) z.expand(r.id, r.caller);
  const { symbols: _symbols, ...head } = src.session;
  const session: Session = { ...head, frames: z.frames(), symbols: z.symbols(found) };
  const stacks = function* (): Generator<StackSample> {
    for (const st of tracerStacks()) yield z.stack(st);
  };
  return { session: { session, stacks }, warnings: found.warnings };
}

/** One line per module for a text report: where its names came from. */
export function describeSymbols(s: Session): string[] {
  if (!s.symbols) return [];
  const lines = s.symbols.modules.map((m) =>
    m.source
      ? `${m.module}: ${m.named} frames named${m.inlined ? `, ${m.inlined} inlined frames added` : ''} from ${m.debug_file} (${m.source})`
      : `${m.module}: no debug file (build-id ${m.build_id ?? 'none'})`,
  );
  return [...lines, ...s.symbols.warnings.map((w) => `warning: ${w}`)];
}
