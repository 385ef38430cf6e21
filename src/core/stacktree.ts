// The call tree of a session's CPU samples, for exports and text views. Functions are interned
// once by (name, module): a function sampled at several addresses is one node per call path.
// Built in one pass over the stacks (a trie with a child map per node), never by re-walking.
import type { Frame, StackSample } from './session.ts';

export interface FunctionInfo {
  id: number; // index into StackTree.functions
  name: string;
  module: string;
  kernel: boolean;
  build_id: string | null;
}

export interface StackNode {
  fn: number; // FunctionInfo id; -1 for the root
  self: number; // samples with this node as the leaf
  total: number; // samples through this node
  children: Map<number, StackNode>;
}

export interface StackTree {
  root: StackNode;
  functions: FunctionInfo[];
  /** Frame id → function id, for every frame a stack used (unknown ids get a placeholder). */
  frameFunction: Map<number, number>;
  total: number;
}

export function frameName(f: Pick<Frame, 'fn'>): string {
  return f.fn;
}

/** Interns functions: one id per (name, module) pair. */
export class FunctionTable {
  readonly functions: FunctionInfo[] = [];
  private readonly byKey = new Map<string, number>();

  intern(name: string, module: string, kernel: boolean, buildId: string | null): number {
    const key = `${module}\u0000${name}`;
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.functions.length;
      this.functions.push({ id, name, module, kernel, build_id: buildId });
      this.byKey.set(key, id);
    }
    return id;
  }
}

export function buildStackTree(frames: readonly Frame[], stacks: readonly StackSample[]): StackTree {
  const byId = new Map<number, Frame>();
  for (const f of frames) byId.set(f.id, f);
  const table = new FunctionTable();
  const frameFunction = new Map<number, number>();
  const fnOf = (frameId: number): number => {
    let id = frameFunction.get(frameId);
    if (id === undefined) {
      const f = byId.get(frameId);
      // A stack may name a frame whose definition line was lost (a malformed stream line): keep
      // the sample, label the frame honestly.
      id = f ? table.intern(f.fn, f.module, f.kernel, f.build_id) : table.intern(`[unknown frame ${frameId}]`, '[unknown]', false, null);
      frameFunction.set(frameId, id);
    }
    return id;
  };
  const root: StackNode = { fn: -1, self: 0, total: 0, children: new Map() };
  let total = 0;
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    total += s.count;
    root.total += s.count;
    let node = root;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const fn = fnOf(s.frames[i]!);
      let child = node.children.get(fn);
      if (!child) {
        child = { fn, self: 0, total: 0, children: new Map() };
        node.children.set(fn, child);
      }
      child.total += s.count;
      node = child;
    }
    node.self += s.count;
  }
  return { root, functions: table.functions, frameFunction, total };
}

/** Every root-to-leaf path with its self count (depth first), e.g. for folded output. Iterative:
 * a stack may be tens of thousands of frames deep, deeper than the JS call stack. */
export function* walkPaths(tree: StackTree): Generator<{ path: number[]; count: number }> {
  const path: number[] = [];
  // one iterator over each open node's children; the path holds the open nodes' functions
  const open: Array<Iterator<StackNode>> = [];
  let node: StackNode | undefined = tree.root;
  for (;;) {
    if (node) {
      if (node.fn >= 0) path.push(node.fn);
      if (node.self > 0 && path.length) yield { path: [...path], count: node.self };
      open.push(node.children.values());
    }
    const top = open[open.length - 1];
    if (!top) return;
    const next = top.next();
    if (next.done) {
      open.pop();
      if (open.length) path.pop();
      node = undefined;
    } else {
      node = next.value;
    }
  }
}
