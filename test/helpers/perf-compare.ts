// Comparing pktpath's sampled stacks with `perf record --call-graph dwarf` (Debian's linux-perf), the
// reference for unwinding code without frame pointers: both recordings are turned into call chains
// of function names, leaf first, inlined functions included (perf script --inline; our sessions
// symbolized from the same debug files), and compared.
import { execFileSync, spawn } from 'node:child_process';
import type { Frame, Session } from '../../src/core/session.ts';

/** One sampled user call chain: function names, leaf first, inlined functions as their own entries. */
export interface Chain {
  names: string[];
  count: number;
}

/** GCC's clones and split parts are the same function to a reader (and to perf --inline, which names them from DWARF). */
export function canonicalName(fn: string): string {
  return fn.replace(/(\.(cold|isra|constprop|part|lto_priv)(\.\d+)?)+$/, '');
}

function base(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Records `pid` with perf for `seconds` at `hz` (task-clock, dwarf unwinding, 8 KiB of stack) into `out`;
 * `signal` stops perf early (the promise then rejects). */
export function perfRecord(pid: number, hz: number, seconds: number, out: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('perf', ['record', '-q', '-o', out, '-e', 'task-clock', '-F', String(hz), '--call-graph', 'dwarf,8192',
      '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${code}: ${err.trim()}`))));
  });
}

/**
 * perf's samples as chains: `perf script -F ip,sym,dso --inline`, user frames only. An address perf
 * expanded into inlined functions prints one line per function ("NAME (inlined)", the function it
 * was compiled into last); an address it could not name prints "[unknown] (DSO)", kept as
 * "[unknown]@DSO".
 */
export function perfChains(file: string): Chain[] {
  const text = execFileSync('perf', ['script', '-i', file, '-F', 'ip,sym,dso', '--inline'], { maxBuffer: 1 << 30 }).toString();
  const out = new Map<string, Chain>();
  for (const block of text.split(/\n\s*\n/)) {
    const names: string[] = [];
    for (const line of block.split('\n')) {
      const m = /^\s*([0-9a-f]+) (.*) \((.*)\)\s*$/.exec(line);
      if (!m) continue;
      const [, , sym, where] = m;
      if (where === '[kernel.kallsyms]' || where?.startsWith('[kernel')) continue;
      if (sym === '[unknown]') names.push(`[unknown]@${base(where ?? '')}`);
      else names.push(canonicalName((sym ?? '').replace(/\+0x[0-9a-f]+$/, '')));
    }
    if (!names.length) continue;
    const key = names.join(';');
    const c = out.get(key);
    if (c) c.count++;
    else out.set(key, { names, count: 1 });
  }
  return [...out.values()];
}

/** Whether the tracer could not name a frame (no symbol here: `lib+0x…`) and no debug file renamed it. */
function unnamed(f: Frame): boolean {
  if (f.named_by === 'eh_frame') return true;
  return f.named_by === undefined && f.fn.startsWith(`${base(f.module)}+0x`);
}

/** A symbolized session's samples as chains, the way perfChains names them. */
export function sessionChains(s: Session): Chain[] {
  const byId = new Map(s.frames.map((f) => [f.id, f]));
  const out = new Map<string, Chain>();
  for (const st of s.stacks) {
    const names: string[] = [];
    for (const id of st.frames) {
      const f = byId.get(id);
      if (!f || f.kernel) continue;
      names.push(unnamed(f) ? `[unknown]@${base(f.module)}` : canonicalName(f.fn));
    }
    if (!names.length) continue;
    const key = names.join(';');
    const c = out.get(key);
    if (c) c.count += st.count;
    else out.set(key, { names, count: st.count });
  }
  return [...out.values()];
}

// glibc functions under two symbols at one address, both local in its debug file: which of the two a
// symbolizer shows is arbitrary (perf: __memcpy_*, clone3; libdw: __memmove_*, __clone3)
const ALIASES: Array<[RegExp, string]> = [
  [/^__memcpy_(\w+_unaligned\w*)$/, '__memmove_$1'],
  [/^__clone3$/, 'clone3'],
];

/** One name for a function that has two (ALIASES). */
export function aliasName(n: string): string {
  for (const [re, to] of ALIASES) if (re.test(n)) return n.replace(re, to);
  return n;
}

/** Chains with aliases named alike and direct recursion folded: f;f;f → f (compare its depth apart). */
export function foldRecursion(cs: readonly Chain[]): Chain[] {
  const m = new Map<string, Chain>();
  for (const c of cs) {
    const names = c.names.map(aliasName).filter((n, i, v) => n !== v[i - 1]);
    const k = names.join(';');
    const have = m.get(k);
    if (have) have.count += c.count;
    else m.set(k, { names, count: c.count });
  }
  return [...m.values()];
}

export interface Agreement {
  /** Σ over chains of min(our share, perf's share): 1 when both saw the same chains equally often */
  overlap: number;
  /** The same per leaf function (the leaf's inline chain included), weighted by our samples at the leaves perf also
   * saw: how often our callers match perf's for the same leaf. Sampling noise of where samples land cancels. */
  callers: number;
  /** share of our samples whose leaf perf also sampled */
  covered: number;
  ours: number;
  perf: number;
}

const leafOf = (c: Chain): string => c.names[0]!;

export function agreement(ours: readonly Chain[], ref: readonly Chain[]): Agreement {
  const total = (v: readonly Chain[]): number => v.reduce((a, c) => a + c.count, 0);
  const no = total(ours);
  const nr = total(ref);
  const share = (v: readonly Chain[], n: number): Map<string, number> => new Map(v.map((c) => [c.names.join(';'), c.count / n]));
  const po = share(ours, no);
  const pr = share(ref, nr);
  let overlap = 0;
  for (const [k, p] of po) overlap += Math.min(p, pr.get(k) ?? 0);
  // per leaf: the conditional distributions of the whole chain
  const byLeaf = (v: readonly Chain[]): Map<string, Chain[]> => {
    const m = new Map<string, Chain[]>();
    for (const c of v) m.set(leafOf(c), [...(m.get(leafOf(c)) ?? []), c]);
    return m;
  };
  const lo = byLeaf(ours);
  const lr = byLeaf(ref);
  let agreeW = 0;
  let coveredN = 0;
  for (const [leaf, cs] of lo) {
    const rs = lr.get(leaf);
    if (!rs) continue;
    const n1 = total(cs);
    const n2 = total(rs);
    coveredN += n1;
    const q = new Map(rs.map((c) => [c.names.join(';'), c.count / n2]));
    let ov = 0;
    for (const c of cs) ov += Math.min(c.count / n1, q.get(c.names.join(';')) ?? 0);
    agreeW += ov * n1;
  }
  return { overlap, callers: coveredN ? agreeW / coveredN : 0, covered: no ? coveredN / no : 0, ours: no, perf: nr };
}

/** The chains where the two disagree most (for a test's diagnostics): our share minus perf's. */
export function largestDifferences(ours: readonly Chain[], ref: readonly Chain[], n = 8): Array<{ chain: string; ours: number; perf: number }> {
  const tot = (v: readonly Chain[]): number => v.reduce((a, c) => a + c.count, 0);
  const a = new Map(ours.map((c) => [c.names.join(';'), c.count / tot(ours)]));
  const b = new Map(ref.map((c) => [c.names.join(';'), c.count / tot(ref)]));
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys]
    .map((k) => ({ chain: k, ours: a.get(k) ?? 0, perf: b.get(k) ?? 0 }))
    .sort((x, y) => Math.abs(y.ours - y.perf) - Math.abs(x.ours - x.perf))
    .slice(0, n);
}
