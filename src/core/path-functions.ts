// The program's functions on a DPDK poller's rx→tx path, from a short CPU sample (no probes): the
// polling thread's stacks are the ones under the program's callers of the ethdev burst functions
// (its functions on a stack above a burst function's frame); what of the program runs on those
// stacks, other than the loop around it all and the burst functions, is on the path. `--auto-stages` adds
// them as stages when the process runs no rte_graph.
import type { Frame, Session, StackSample } from './session.ts';
import { LOOP_SHARE, runningFunctions } from './running.ts';
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

export interface FunctionCopy {
  symbol: string;
  /** ELF address of its first byte (the sampled address less the offset in the symbol); null when the frame had none. */
  start: number | null;
  samples: number;
}

export interface PathFunction {
  /** The function (GCC copies folded into their base name, as runningFunctions does). */
  fn: string;
  /** The ELF symbol the sample named (a uprobe takes it); null when no symbol named it. */
  symbol: string | null;
  /** Each copy of it that ran (by its start in the ELF), most samples first; empty when no symbol named it. */
  copies: FunctionCopy[];
  /** Seen only as code inlined into another function (DWARF inline frames): no symbol, no call to probe. */
  inlined: boolean;
  samples: number;
  own: number;
}

export interface PathPick {
  /** Samples of the whole process. */
  samples: number;
  /** Samples on the polling thread(s): stacks under a burst function's caller (all stacks when no burst frame was seen). */
  pollSamples: number;
  /** How the polling thread was told: by the burst functions' callers, or (none sampled) by runningFunctions' loop share. */
  by: 'burst-callers' | 'loop-share';
  /** The program's functions seen calling a burst function. */
  callers: string[];
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
  // the program's callers of a burst function: the poll loop (and main etc. above it), or a
  // wrapper the loop calls (l3fwd's send_burst)
  const callers = new Set<string>();
  for (const st of s.stacks) {
    if (!(st.count > 0)) continue;
    const at = st.frames.findIndex((id) => { const f = byId.get(id); return !!f && inBurst(f, bursts); });
    if (at < 0) continue;
    for (const id of st.frames.slice(at + 1)) {
      const f = byId.get(id);
      if (ours(f)) callers.add(cloneBase(f.fn));
    }
  }
  // inlined into a caller above a burst frame: the burst call itself (rte_eth_rx_burst), not a stage
  const wrappers = new Set<string>();
  for (const st of s.stacks) {
    const at = st.count > 0 ? st.frames.findIndex((id) => { const f = byId.get(id); return !!f && inBurst(f, bursts); }) : -1;
    for (const id of at < 0 ? [] : st.frames.slice(at + 1)) {
      const f = byId.get(id);
      if (f?.inline && basename(f.module) === mod) wrappers.add(cloneBase(f.fn));
    }
  }
  const inlinedOnly = new Set<string>();
  const outOfLine = new Set<string>();
  for (const f of s.frames) if (!f.kernel && basename(f.module) === mod) (f.inline ? inlinedOnly : outOfLine).add(cloneBase(f.fn));
  const by: PathPick['by'] = callers.size > 0 ? 'burst-callers' : 'loop-share';
  // the polling thread's stacks: under one of those callers (a stats or interrupt thread is not)
  const under = (st: StackSample): boolean => st.frames.some((id) => { const f = byId.get(id); return ours(f) && callers.has(cloneBase(f.fn)); });
  const poll = callers.size === 0 ? s.stacks : s.stacks.filter(under);
  const running = runningFunctions({ ...s, stacks: poll }, exe);
  const reached = poll.reduce((a, st) => a + (st.count > 0 && st.frames.some((id) => ours(byId.get(id))) ? st.count : 0), 0);
  // the loop: runningFunctions' (main, a loop mostly calling others), or a burst caller on nearly
  // every polling stack (a loop with its work inlined is the innermost of the program's frames there)
  const loops = new Set(running.filter((r) => r.loop || (callers.has(r.fn) && r.samples >= LOOP_SHARE * reached)).map((r) => r.fn));
  // each copy that ran, by its start: a static function of one name can be in several objects
  // (l3fwd's send_burst.isra.0 in its lpm, em and fib files), and a uprobe by name cannot tell them apart
  const copies = new Map<string, Map<string, FunctionCopy>>();
  for (const st of poll) {
    if (!(st.count > 0)) continue;
    const seen = new Set<string>();
    for (const id of st.frames) {
      const f = byId.get(id);
      if (!ours(f) || f.named_by === 'eh_frame' || /\+0x[0-9a-f]+$/i.test(f.fn)) continue;
      // an out-of-line frame is at a symbol: the tracer's (kept when a debug file renamed the frame),
      // else `symbol` when a debug file renamed it, else its name; the offset is from that start
      const byTracer = f.tracer && (f.tracer.named_by === 'symtab' || f.tracer.named_by === 'dynsym') ? f.tracer : null;
      const symbol = byTracer?.fn ?? f.symbol ?? f.fn;
      const off = byTracer?.off ?? f.off;
      const ea = f.elf_addr ? parseInt(f.elf_addr, 16) : NaN;
      const at = Number.isFinite(ea) && off >= 0 && ea >= off ? ea - off : null;
      const key = `${symbol}@${at ?? '?'}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const base = cloneBase(f.fn);
      let m = copies.get(base);
      if (!m) copies.set(base, (m = new Map()));
      let c = m.get(key);
      if (!c) m.set(key, (c = { symbol, start: at, samples: 0 }));
      c.samples += st.count;
    }
  }
  const burstNames = new Set(bursts.flatMap((b) => (b.fn ? [cloneBase(b.fn)] : [])));
  const path: PathFunction[] = running
    .filter((r) => !loops.has(r.fn) && !burstNames.has(r.fn) && !wrappers.has(r.fn) && !/\+0x[0-9a-f]+$/i.test(r.fn))
    .map((r) => {
      const cs = [...(copies.get(r.fn)?.values() ?? [])].sort((a, b) => b.samples - a.samples || (a.start ?? 0) - (b.start ?? 0));
      return { fn: r.fn, symbol: cs[0]?.symbol ?? null, copies: cs, inlined: cs.length === 0 && inlinedOnly.has(r.fn) && !outOfLine.has(r.fn), samples: r.samples, own: r.own };
    });
  return {
    samples: s.stacks.reduce((a, st) => a + (st.count > 0 ? st.count : 0), 0),
    pollSamples: poll.reduce((a, st) => a + (st.count > 0 ? st.count : 0), 0),
    by, callers: [...callers].sort(), loops: [...loops].sort(), functions: path.slice(0, MAX_PATH_FUNCTIONS), dropped: path.slice(MAX_PATH_FUNCTIONS),
  };
}
