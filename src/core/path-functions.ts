// The program's functions on a DPDK poller's rx→tx path, from a short CPU sample (no probes): the
// polling thread's stacks are the ones under the loop that calls the ethdev burst functions (the
// program's functions on a stack above a burst function's frame); what else of the program runs on
// those stacks, other than that loop and the burst functions, is on the path. `--auto-stages` adds
// them as stages when the process runs no rte_graph.
import type { Frame, Session } from './session.ts';
import { runningFunctions } from './running.ts';
import { cloneBase } from './gcc-clones.ts';

/** At most this many path functions become stages (each exact-mode probe costs every call). */
export const MAX_PATH_FUNCTIONS = 8;

/** A burst function of the target as the DPDK query found it (module path, ELF range, symbol). */
export interface BurstFn {
  module: string | null;
  lo: number | null;
  hi: number | null;
  fn: string | null;
}

export interface PathFunction {
  /** The function (GCC copies folded into their base name, as runningFunctions does). */
  fn: string;
  /** The ELF symbol the sample named (a uprobe takes it); null when no symbol named it. */
  symbol: string | null;
  samples: number;
  own: number;
}

export interface PathPick {
  /** Samples of the whole process. */
  samples: number;
  /** Samples on the polling thread(s): stacks holding a loop function (all stacks when no burst frame was seen). */
  pollSamples: number;
  /** How the polling thread was told: by the burst functions' callers, or (none sampled) by runningFunctions' loop share. */
  by: 'burst-callers' | 'loop-share';
  /** The loop(s) around the path: never stages. */
  loops: string[];
  /** On the path, most samples first, at most MAX_PATH_FUNCTIONS. */
  functions: PathFunction[];
  /** Path functions left out by MAX_PATH_FUNCTIONS. */
  dropped: PathFunction[];
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function inBurst(f: Frame, bursts: readonly BurstFn[]): boolean {
  if (f.kernel) return false;
  const ea = f.elf_addr ? parseInt(f.elf_addr, 16) : NaN;
  return bursts.some((b) => {
    if (b.module === null || basename(b.module) !== basename(f.module)) return false;
    if (b.lo !== null && b.hi !== null && ea >= b.lo && ea < b.hi) return true;
    return b.fn !== null && cloneBase(f.fn) === cloneBase(b.fn);
  });
}

/** Picks the program's (`exe`'s) functions on the rx→tx path from a sample of the whole process. */
export function pathFunctions(s: Session, exe: string, bursts: readonly BurstFn[]): PathPick {
  const mod = basename(exe);
  const byId = new Map(s.frames.map((f) => [f.id, f] as const));
  const ours = (f: Frame | undefined): f is Frame => !!f && !f.kernel && !f.inline && basename(f.module) === mod;
  // the program's callers of a burst function: the loop that polls (and main etc. above it)
  const loops = new Set<string>();
  for (const st of s.stacks) {
    if (!(st.count > 0)) continue;
    const at = st.frames.findIndex((id) => { const f = byId.get(id); return !!f && inBurst(f, bursts); });
    if (at < 0) continue;
    for (const id of st.frames.slice(at + 1)) {
      const f = byId.get(id);
      if (ours(f)) loops.add(cloneBase(f.fn));
    }
  }
  const by: PathPick['by'] = loops.size > 0 ? 'burst-callers' : 'loop-share';
  // the polling thread's stacks: under one of those loops (a stats or interrupt thread is not)
  const poll = loops.size === 0 ? s.stacks : s.stacks.filter((st) => st.frames.some((id) => { const f = byId.get(id); return ours(f) && loops.has(cloneBase(f.fn)); }));
  const sub: Session = { ...s, stacks: poll };
  const running = runningFunctions(sub, exe);
  for (const r of running) if (r.loop) loops.add(r.fn);
  const symbolOf = new Map<string, string>();
  for (const f of s.frames) {
    if (!ours(f) || f.named_by === 'eh_frame' || /\+0x[0-9a-f]+$/i.test(f.fn)) continue;
    const sym = f.symbol ?? (f.named_by === 'debug' ? null : f.fn);
    if (sym && !symbolOf.has(cloneBase(f.fn))) symbolOf.set(cloneBase(f.fn), sym);
  }
  const burstNames = new Set(bursts.flatMap((b) => (b.fn ? [cloneBase(b.fn)] : [])));
  const path: PathFunction[] = running
    .filter((r) => !loops.has(r.fn) && !burstNames.has(r.fn) && !/\+0x[0-9a-f]+$/i.test(r.fn))
    .map((r) => ({ fn: r.fn, symbol: symbolOf.get(r.fn) ?? null, samples: r.samples, own: r.own }));
  return {
    samples: s.stacks.reduce((a, st) => a + (st.count > 0 ? st.count : 0), 0),
    pollSamples: poll.reduce((a, st) => a + (st.count > 0 ? st.count : 0), 0),
    by, loops: [...loops].sort(), functions: path.slice(0, MAX_PATH_FUNCTIONS), dropped: path.slice(MAX_PATH_FUNCTIONS),
  };
}
