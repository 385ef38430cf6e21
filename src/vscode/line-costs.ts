// CPU samples → source lines of the workspace. Each sampled address of the profiled binary is
// resolved through DWARF (addr2line -i); code inlined from headers outside the workspace (DPDK's
// rte_* helpers) is walked out to its call site in a workspace file. Each stack's samples go to the
// first frame, leaf first, whose line is in the workspace, so time spent in library code is counted
// at the user's line that called it. No `vscode` here.
import type { Frame, Session } from '../core/session.ts';
import { addr2line, normalizeAddr, type InlineLocation } from './addr2line.ts';

export interface LineCosts {
  /** local file → 1-based line → samples */
  files: Map<string, Map<number, number>>;
  samples: number; // all samples of the session
  attributed: number; // samples that landed on a workspace line
  unresolvedModules: string[]; // modules with samples but no local binary to resolve them
}

type RecordedFrame = Frame & { elf_addr?: string | null };

export interface LineCostOptions {
  /** The local build (with DWARF) of a sampled module, or null when there is none. */
  localBinary: (module: string) => string | null;
  /** A DWARF file name → the workspace file, or null when it is not in the workspace. */
  mapFile: (path: string) => string | null;
}

/** The ELF address to look up: for a caller frame, one byte back lands in the call instruction. */
function lookupAddr(f: RecordedFrame, leaf: boolean): string | null {
  if (!f.elf_addr) return null;
  const a = BigInt(f.elf_addr);
  return normalizeAddr(`0x${(leaf || a === 0n ? a : a - 1n).toString(16)}`);
}

export async function computeLineCosts(session: Session, o: LineCostOptions): Promise<LineCosts> {
  const frames = new Map<number, RecordedFrame>();
  for (const f of session.frames as RecordedFrame[]) frames.set(f.id, f);
  const byBinary = new Map<string, Set<string>>();
  const unresolved = new Set<string>();
  const binOf = new Map<string, string | null>();
  const localFor = (module: string): string | null => {
    if (!binOf.has(module)) binOf.set(module, o.localBinary(module));
    return binOf.get(module) ?? null;
  };
  for (const st of session.stacks)
    st.frames.forEach((id, i) => {
      const f = frames.get(id);
      if (!f || f.kernel) return;
      const bin = localFor(f.module);
      const a = lookupAddr(f, i === 0);
      if (!bin || !a) {
        unresolved.add(f.module);
        return;
      }
      let set = byBinary.get(bin);
      if (!set) byBinary.set(bin, (set = new Set()));
      set.add(a);
    });
  const resolved = new Map<string, Map<string, InlineLocation[]>>();
  for (const [bin, addrs] of byBinary) resolved.set(bin, await addr2line(bin, [...addrs]));

  const mapped = new Map<string, string | null>();
  const mapFile = (p: string): string | null => {
    if (!mapped.has(p)) mapped.set(p, o.mapFile(p));
    return mapped.get(p) ?? null;
  };
  /** The innermost location of the chain that is in the workspace. */
  const userLine = (f: RecordedFrame, leaf: boolean): { file: string; line: number } | null => {
    const bin = localFor(f.module);
    const a = lookupAddr(f, leaf);
    if (!bin || !a) return null;
    for (const loc of resolved.get(bin)?.get(a) ?? []) {
      if (!loc.file || loc.line <= 0) continue;
      const local = mapFile(loc.file);
      if (local) return { file: local, line: loc.line };
    }
    return null;
  };

  const files = new Map<string, Map<number, number>>();
  let samples = 0;
  let attributed = 0;
  for (const st of session.stacks) {
    samples += st.count;
    for (let i = 0; i < st.frames.length; i++) {
      const f = frames.get(st.frames[i]!);
      if (!f || f.kernel) continue;
      const u = userLine(f, i === 0);
      if (!u) continue;
      let lines = files.get(u.file);
      if (!lines) files.set(u.file, (lines = new Map()));
      lines.set(u.line, (lines.get(u.line) ?? 0) + st.count);
      attributed += st.count;
      break;
    }
  }
  return { files, samples, attributed, unresolvedModules: [...unresolved].filter((m) => !localFor(m)) };
}
