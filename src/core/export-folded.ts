// Brendan Gregg's folded stacks, as read by flamegraph.pl, inferno and speedscope:
//   root;child;leaf COUNT
// one line per distinct call path, root first, COUNT the number of CPU samples.
// A frame is written as `fn` (default) or, with `modules`, as `fn [module]` where module is the
// basename of the binary (kernel frames say `[kernel]`). Names are data from the target: `;` (the
// separator) becomes `:`, and line breaks and other control characters become spaces, so every
// line parses back to the same path and count.
import type { Session } from './session.ts';
import { buildStackTree, walkPaths, type FunctionInfo } from './stacktree.ts';

export interface FoldedOptions {
  modules?: boolean;
}

export function sanitizeFoldedName(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/;/g, ':').replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
}

function basename(p: string): string {
  if (p.startsWith('[')) return p;
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

export function foldedFrameName(f: FunctionInfo, opts: FoldedOptions = {}): string {
  const name = sanitizeFoldedName(f.name);
  return opts.modules ? `${name} [${sanitizeFoldedName(basename(f.module))}]` : name;
}

export function exportFolded(s: Session, opts: FoldedOptions = {}): string {
  const tree = buildStackTree(s.frames, s.stacks);
  const names = tree.functions.map((f) => foldedFrameName(f, opts));
  // Two functions may print alike (same name, other module, without `modules`): merge their lines.
  const lines = new Map<string, number>();
  for (const { path, count } of walkPaths(tree)) {
    const key = path.map((id) => names[id]!).join(';');
    lines.set(key, (lines.get(key) ?? 0) + count);
  }
  let out = '';
  for (const [k, n] of lines) out += `${k} ${n}\n`;
  return out;
}

/** Parses folded text back: path → count (for tests and importers). */
export function parseFolded(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    const n = Number(line.slice(sp + 1));
    if (sp <= 0 || !Number.isFinite(n)) throw new Error(`not a folded line: ${line.slice(0, 80)}`);
    const k = line.slice(0, sp);
    m.set(k, (m.get(k) ?? 0) + n);
  }
  return m;
}
