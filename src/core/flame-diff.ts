// Differential flamegraphs: the tree of recording B, each node coloured by how it changed against
// recording A (grew / shrank), as Brendan Gregg's differential flame graphs and Pyroscope's diff
// view do. Nodes are matched by their path of function names from the root (modules by basename,
// so two checkouts of one program match). A node's samples are compared as Poisson counts over
// each recording's exposure (packets, else seconds): the colour says "changed" only beyond noise
// (p < 0.01, src/core/stats.ts), and its depth grows with the ratio.
import { DIFF_LEVELS, type FlameData, type FlameDiff } from '../shared/view-types.ts';
import { normalTwoSidedP, poissonRatesP } from './stats.ts';
import { DELTA_ALPHA } from './noise.ts';

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** Path key of every node: frame names (and module basenames) from the root. */
function pathKeys(d: FlameData): string[] {
  const keys: string[] = new Array<string>(d.frame.length);
  const stack: string[] = [];
  for (let i = 0; i < d.frame.length; i++) {
    const f = d.frames[d.frame[i]!]!;
    const own = f.kind === 'root' ? '' : `${f.kind}\u0001${f.name}\u0001${basename(d.modules[f.module] ?? '')}`;
    stack.length = d.depth[i]!;
    stack.push(own);
    keys[i] = stack.join('\u0000');
  }
  return keys;
}

/** p-value of two counts at their exposures; cheap where no decision can come of it. */
function countsP(ka: number, ea: number, kb: number, eb: number): number {
  const n = ka + kb;
  if (n < 8) return 1; // even 8–0 at equal exposure is p ≈ 0.008: fewer samples decide nothing
  if (n > 200) {
    const p = ea / (ea + eb);
    return normalTwoSidedP((ka - n * p) / Math.sqrt(n * p * (1 - p)));
  }
  return poissonRatesP(ka, ea, kb, eb);
}

/** Change level from a rate ratio: ±1 for up to ~19%, ±4 at 2× and beyond. */
export function changeLevel(ratio: number): number {
  if (!(ratio > 0) || ratio === Infinity) return ratio === 0 ? -DIFF_LEVELS : DIFF_LEVELS;
  const l = Math.log2(ratio);
  return Math.sign(l) * Math.min(DIFF_LEVELS, Math.max(1, Math.ceil(Math.abs(l) * DIFF_LEVELS)));
}

export interface FlameDiffOptions {
  /** Exposure of each recording: what samples are per (packets, else seconds). */
  exposureA: number;
  exposureB: number;
  /** A level decided elsewhere for some nodes (stage nodes: the stage's own noise test); undefined: by samples. */
  levelOf?: (bNode: number) => number | undefined;
}

/**
 * B's tree with A's values and change levels per node. For a flame in samples, A's value is scaled
 * to B's exposure; in ns per packet it is already comparable.
 */
export function diffFlame(b: FlameData, a: FlameData, o: FlameDiffOptions): FlameDiff {
  const ka = pathKeys(a);
  const ia = new Map<string, number>();
  ka.forEach((k, i) => ia.set(k, i));
  const kb = pathKeys(b);
  const sa = a.samples ?? a.total;
  const sb = b.samples ?? b.total;
  const scale = b.unit === 'samples' && o.exposureA > 0 ? o.exposureB / o.exposureA : 1;
  const base: number[] = new Array<number>(kb.length);
  const level: number[] = new Array<number>(kb.length);
  const matched = new Set<number>();
  for (let i = 0; i < kb.length; i++) {
    const j = ia.get(kb[i]!);
    if (j !== undefined) matched.add(j);
    base[i] = j === undefined ? -1 : a.total[j]! * scale;
    const fixed = o.levelOf?.(i);
    if (fixed !== undefined) {
      level[i] = fixed;
      continue;
    }
    const cA = j === undefined ? 0 : sa[j]!;
    const cB = sb[i]!;
    const p = countsP(cA, o.exposureA, cB, o.exposureB);
    level[i] = p < DELTA_ALPHA ? changeLevel(cA > 0 ? (cB / o.exposureB) / (cA / o.exposureA) : Infinity) : 0;
  }
  // What vanished: A's nodes with no match whose parent matched (their subtree is gone with them).
  let vanished = 0;
  const parentMatched: boolean[] = [];
  for (let j = 0; j < ka.length; j++) {
    const d = a.depth[j]!;
    parentMatched.length = d;
    const m = matched.has(j);
    if (!m && (d === 0 || parentMatched[d - 1])) vanished += a.total[j]! * scale;
    parentMatched.push(m);
  }
  return { base, level, vanished };
}
