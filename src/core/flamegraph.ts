// Session stacks → flame trees (columnar, preorder) with stage attribution.
// Frames are interned once by (function, module): a function sampled at many addresses is one
// node per call path, as a reader expects. The tree is built in one pass over the stacks (a trie
// with a child map per node) and then emitted in preorder with children sorted by name, so a node
// keeps its place from one live snapshot to the next.

import type { Frame, Session, SessionStage } from './session.ts';
import type { FlameData, FlameFrame, SourceFrame } from '../shared/view-types.ts';
import { PROBE_STAGE } from '../shared/view-types.ts';
import { isEntryGlue, isProbeFrame, PROBE_FRAME_NAME, probeStartBy } from './probe-frames.ts';
import { isCopyOf } from './gcc-clones.ts';

/** A frame while building: full strings; emit() turns used ones into the compact FlameFrame. */
interface BuildFrame {
  kind: FlameFrame['kind'];
  name: string;
  module: string;
  source: SourceFrame | null;
}

/** A frame as recorded; `elf_addr` is an additive member of the stream (docs/stream.md). */
type RecordedFrame = Frame & { elf_addr?: string | null };

export interface StageFunction {
  stage: number; // index into session.stages
  symbol: string;
  module: string | null; // basename of the probed binary; null: any module
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** GCC clones (`f.isra.0`, `f.constprop.0`, `f.cold`) are still `f`: the rule sampled.ts uses. */
function sameFunction(fn: string, symbol: string): boolean {
  return isCopyOf(fn, symbol);
}

/** The function each stage probes, when it probes one (uprobe/kprobe/fentry by symbol). */
export function stageFunctions(stages: readonly SessionStage[]): StageFunction[] {
  const out: StageFunction[] = [];
  stages.forEach((s, i) => {
    let symbol = s.attach.symbol;
    let binary = s.attach.binary;
    if (!symbol) {
      const parts = s.spec.split(':');
      if (s.kind === 'uprobe' && parts.length >= 3 && !/^0x/i.test(parts[2] ?? '')) {
        binary = binary ?? parts[1] ?? null;
        symbol = parts[2] ?? null;
      } else if ((s.kind === 'kprobe' || s.kind === 'fentry') && parts[1]) {
        symbol = parts[1];
        binary = null;
      }
    }
    if (!symbol) return;
    const module = s.kind === 'uprobe' && binary ? basename(binary) : s.kind === 'uprobe' ? null : '[kernel]';
    out.push({ stage: i, symbol, module });
  });
  return out;
}

/** Interning of session frames by (fn, module). Key 0 is reserved for the synthetic root. */
class FrameTable {
  readonly frames: BuildFrame[] = [];
  private readonly byName = new Map<string, number>();
  private readonly bySessionId = new Map<number, number>();
  readonly stageOfKey: number[] = [];
  /** Per key: 1 probe machinery, 2 entry glue or trampoline that leads into it, 0 neither. */
  readonly probeClass: number[] = [];
  /** The one folded "probe" frame. */
  readonly probeKey: number;

  constructor(session: Session, rootLabel: string, stageFns: readonly StageFunction[]) {
    this.frames.push({ kind: 'root', name: rootLabel, module: '', source: null });
    this.stageOfKey.push(-1);
    this.probeClass.push(0);
    for (const f of session.frames as RecordedFrame[]) {
      const key = this.intern(f.fn, f.module, () => sourceOf(f));
      this.bySessionId.set(f.id, key);
    }
    this.probeKey = this.frames.length;
    this.frames.push({ kind: 'probe', name: PROBE_FRAME_NAME, module: '', source: null });
    this.stageOfKey.push(-1);
    this.probeClass.push(0);
    for (const sf of stageFns) {
      for (let k = 1; k < this.frames.length; k++) {
        const fr = this.frames[k]!;
        if (sameFunction(fr.name, sf.symbol) && (sf.module === null || basename(fr.module) === sf.module)) {
          // The first stage that claims a function keeps it: two stages on one function would
          // make "the stage a frame belongs to" ambiguous.
          if (this.stageOfKey[k] === -1) this.stageOfKey[k] = sf.stage;
        }
      }
    }
  }

  intern(fn: string, module: string, source: () => SourceFrame | null): number {
    const name = `${fn}\u0000${module}`;
    let k = this.byName.get(name);
    if (k === undefined) {
      k = this.frames.length;
      this.frames.push({ kind: 'fn', name: fn, module, source: source() });
      this.stageOfKey.push(-1);
      const f = { fn, module };
      this.probeClass.push(isProbeFrame(f) ? 1 : isEntryGlue(f) ? 2 : 0);
      this.byName.set(name, k);
    }
    return k;
  }

  /** Frame key for a session frame id; an id the session never defined becomes its own frame. */
  key(id: number): number {
    const k = this.bySessionId.get(id);
    if (k !== undefined) return k;
    const nk = this.intern(`[unknown frame ${id}]`, '', () => null);
    this.bySessionId.set(id, nk);
    return nk;
  }

  addSynthetic(kind: 'stage', name: string, source: SourceFrame | null): number {
    this.frames.push({ kind, name, module: '', source });
    this.stageOfKey.push(-1);
    this.probeClass.push(0);
    return this.frames.length - 1;
  }

  /** Index (leaf = 0) where the probe machinery starts in a stack of keys, or -1 (see probe-frames.ts). */
  probeStart(keys: readonly number[]): number {
    return probeStartBy(keys.length, (i) => this.probeClass[keys[i]!] === 1,
      (i) => this.probeClass[keys[i]!] === 2 || this.frames[keys[i]!]!.module === '[uprobes]');
  }
}

function sourceOf(f: RecordedFrame): SourceFrame {
  return {
    fn: f.fn, module: f.module, addr: f.addr, off: f.off,
    elf_addr: f.elf_addr ?? null, build_id: f.build_id, kernel: f.kernel,
  };
}

/** A trie of frame keys; node 0 is the root. */
class Trie {
  key: number[] = [0];
  stage: number[] = [-1];
  total: number[] = [0];
  self: number[] = [0];
  children: Array<Map<number, number> | undefined> = [undefined];

  add(parent: number, key: number, stage: number): number {
    let m = this.children[parent];
    if (!m) this.children[parent] = m = new Map();
    let c = m.get(key);
    if (c === undefined) {
      c = this.key.length;
      this.key.push(key);
      this.stage.push(stage);
      this.total.push(0);
      this.self.push(0);
      this.children.push(undefined);
      m.set(key, c);
    }
    return c;
  }

  /** Preorder emission; `value(n)` scales sample counts into the output unit. */
  emit(
    frames: BuildFrame[], unit: FlameData['unit'], scale: (node: number, samples: number, self: boolean) => number,
    order: (a: number, b: number) => number,
  ): FlameData {
    const samples: number[] = [];
    const out: FlameData = { unit, modules: [''], frames: [], frame: [], depth: [], total: [], self: [], samples, stage: [] };
    // Only frames some node uses go out, each module path once: the webview gets megabytes less.
    const compact = new Int32Array(frames.length).fill(-1);
    const moduleIdx = new Map<string, number>([['', 0]]);
    const use = (k: number): number => {
      if (compact[k]! >= 0) return compact[k]!;
      const f = frames[k]!;
      let m = moduleIdx.get(f.module);
      if (m === undefined) {
        m = out.modules.length;
        out.modules.push(f.module);
        moduleIdx.set(f.module, m);
      }
      const src = f.source;
      const ff: FlameFrame = {
        kind: f.kind, name: f.name, module: m,
        loc: src ? { addr: src.addr, off: src.off, elf_addr: src.elf_addr, build_id: src.build_id, kernel: src.kernel } : null,
      };
      if (f.kind === 'stage' && src) {
        ff.fn = src.fn;
        // A stage node opens its function: point at the function's module, not "".
        let sm = moduleIdx.get(src.module);
        if (sm === undefined) {
          sm = out.modules.length;
          out.modules.push(src.module);
          moduleIdx.set(src.module, sm);
        }
        ff.module = sm;
      }
      compact[k] = out.frames.length;
      out.frames.push(ff);
      return compact[k]!;
    };
    const stack: Array<[number, number]> = [[0, 0]];
    while (stack.length) {
      const [n, d] = stack.pop()!;
      out.frame.push(use(this.key[n]!));
      out.depth.push(d);
      out.total.push(scale(n, this.total[n]!, false));
      out.self.push(scale(n, this.self[n]!, true));
      samples.push(this.total[n]!);
      out.stage.push(this.stage[n]!);
      const m = this.children[n];
      if (m) {
        const kids = [...m.values()].sort(order);
        for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, d + 1]);
      }
    }
    if (unit === 'samples') out.samples = null; // the same numbers as total
    return out;
  }
}

function byName(frames: BuildFrame[], trie: Trie): (a: number, b: number) => number {
  return (a, b) => {
    const fa = frames[trie.key[a]!]!;
    const fb = frames[trie.key[b]!]!;
    return fa.name < fb.name ? -1 : fa.name > fb.name ? 1 : fa.module < fb.module ? -1 : fa.module > fb.module ? 1 : 0;
  };
}

/** All CPU samples; each node coloured by the nearest stage function at or above it. */
export function buildCpuFlame(session: Session, stageFns = stageFunctions(session.stages)): FlameData {
  const table = new FrameTable(session, 'all samples', stageFns);
  const trie = new Trie();
  for (const st of session.stacks) {
    const count = st.count;
    if (!(count > 0)) continue;
    let node = 0;
    let stage = -1;
    trie.total[0]! += count;
    const keys = st.frames.map((id) => table.key(id));
    const probe = table.probeStart(keys);
    for (let i = keys.length - 1; i > probe; i--) {
      const key = keys[i]!;
      const s = table.stageOfKey[key]!;
      if (s >= 0) stage = s;
      node = trie.add(node, key, stage);
      trie.total[node]! += count;
    }
    if (probe >= 0) {
      // The probe's own machinery: one frame, in the probe colour, whatever stage it interrupted.
      node = trie.add(node, table.probeKey, PROBE_STAGE);
      trie.total[node]! += count;
    }
    trie.self[node]! += count;
  }
  return trie.emit(table.frames, 'samples', (_n, v) => v, byName(table.frames, trie));
}

/**
 * Root = the path; children = stages in path order, width = ns per packet (`nsPerPacket[i]`,
 * null or ≤ 0 leaves the stage out); each stage split by its CPU samples: the functions below the
 * outermost frame of its function in every stack that has it. A stage without samples is one
 * undivided block.
 */
export function buildLatencyFlame(
  session: Session, nsPerPacket: ReadonlyArray<number | null>, stageFns = stageFunctions(session.stages),
  stageNames: readonly string[] = session.stages.map((s) => s.name), // sampled mode has no session.stages
): FlameData {
  const table = new FrameTable(session, 'packet path', stageFns);
  const trie = new Trie();
  const fnKeyOfStage = new Map<number, number>();
  for (let k = 1; k < table.frames.length; k++) {
    const s = table.stageOfKey[k]!;
    if (s >= 0 && !fnKeyOfStage.has(s)) fnKeyOfStage.set(s, k);
  }
  const stageNode = new Map<number, number>();
  stageNames.forEach((name, i) => {
    const ns = nsPerPacket[i];
    if (ns === null || ns === undefined || !(ns > 0)) return;
    const fk = fnKeyOfStage.get(i);
    const key = table.addSynthetic('stage', name, fk === undefined ? null : table.frames[fk]!.source);
    stageNode.set(i, trie.add(0, key, i));
  });
  for (const st of session.stacks) {
    if (!(st.count > 0)) continue;
    const keys = st.frames.map((id) => table.key(id)); // leaf first
    const probe = table.probeStart(keys);
    for (const [stage, node0] of stageNode) {
      const fk = fnKeyOfStage.get(stage);
      if (fk === undefined) continue;
      const at = keys.lastIndexOf(fk); // outermost occurrence (root is last)
      if (at < 0) continue;
      // Probe machinery under the stage: probe cost, which the corrected width already excludes.
      if (probe >= 0 && probe < at) continue;
      let node = node0;
      let colour = stage;
      trie.total[node]! += st.count;
      for (let i = at - 1; i >= 0; i--) {
        const s = table.stageOfKey[keys[i]!]!;
        if (s >= 0) colour = s;
        node = trie.add(node, keys[i]!, colour);
        trie.total[node]! += st.count;
      }
      trie.self[node]! += st.count;
    }
  }
  // Scale each stage's samples so the stage is exactly its ns/packet wide.
  const factorOfNode = new Float64Array(trie.key.length);
  const nsOfNode = new Map<number, number>();
  for (const [stage, node] of stageNode) {
    const ns = nsPerPacket[stage]!;
    nsOfNode.set(node, ns);
    const samples = trie.total[node]!;
    if (samples === 0) trie.self[node] = 0;
  }
  let rootNs = 0;
  for (const ns of nsOfNode.values()) rootNs += ns;
  // Propagate each stage's factor to its subtree (children were created after their parent).
  const parentOf = new Int32Array(trie.key.length).fill(-1);
  trie.children.forEach((m, p) => m?.forEach((c) => { parentOf[c] = p; }));
  for (let n = 1; n < trie.key.length; n++) {
    const ns = nsOfNode.get(n);
    if (ns !== undefined) factorOfNode[n] = trie.total[n]! > 0 ? ns / trie.total[n]! : 0;
    else factorOfNode[n] = factorOfNode[parentOf[n]!]!;
  }
  const names = byName(table.frames, trie);
  return trie.emit(table.frames, 'ns', (n, v, self) => {
    if (n === 0) return self ? 0 : rootNs;
    const ns = nsOfNode.get(n);
    if (ns !== undefined && (trie.total[n] === 0 || !self)) return ns; // exact; without samples self is all of it
    return Math.round(v * factorOfNode[n]! * 1e4) / 1e4; // 0.1 ps: exact enough, far shorter JSON
  }, (a, b) => {
    // Stages stay in path order (their nodes were created in that order); functions by name.
    const stageA = table.frames[trie.key[a]!]!.kind === 'stage';
    return stageA && table.frames[trie.key[b]!]!.kind === 'stage' ? a - b : names(a, b);
  });
}
