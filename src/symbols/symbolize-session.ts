// Symbolizes a session where the debug files are (this machine): for every module on the stacks,
// its debug file by build-id (debug-files.ts), then each sampled address's function and inline
// chain from it (dwarf-helper.ts), applied to the frames (src/core/symbolic-frames.ts). Modules
// without a debug file keep the tracer's names (`lib+0xSTART` for code without symbols).
import type { Frame, ModuleSymbols, Session } from '../core/session.ts';
import { applySymbols, framesWithRoles, lookupAddress, moduleKey, stripSymbols, type ModuleAnswers, type AddrAnswer } from '../core/symbolic-frames.ts';
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

/** Modules on the stacks and the addresses to ask about in each (leaf: as sampled; caller: - 1). */
export function addressesByModule(s: Session): Map<string, { module: string; build_id: string | null; addrs: Set<string>; eh_named: number }> {
  const byId = new Map(s.frames.map((f) => [f.id, f]));
  const out = new Map<string, { module: string; build_id: string | null; addrs: Set<string>; eh_named: number }>();
  const counted = new Set<number>();
  for (const st of s.stacks) {
    for (const { id, caller } of framesWithRoles(byId, st)) {
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
  }
  return out;
}

export interface SymbolizeResult {
  session: Session;
  warnings: string[];
}

/** The session with names and inline frames from every debug file found; warnings say what was refused or missing. */
export async function symbolizeSession(session: Session, o: SymbolizeOptions): Promise<SymbolizeResult> {
  const s = stripSymbols(session);
  const cache = new InfoCache(o.tracer);
  const answers = new Map<string, ModuleAnswers>();
  const missing: ModuleSymbols[] = [];
  const warnings: string[] = [];
  for (const [k, m] of addressesByModule(s)) {
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
  return { session: applySymbols(s, answers, { missing, warnings }), warnings };
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
