// Maps a path as it was on the build host (DWARF file names, the remote binary's path) to a file in
// the workspace: first the user's prefix pairs (`pktpath.sourceMap`), then the workspace file that
// shares the longest path suffix with it (at least the file name). No `vscode` here.

export interface SourceIndex {
  /** basename → workspace paths with that basename */
  byName: Map<string, string[]>;
}

export function buildSourceIndex(paths: readonly string[]): SourceIndex {
  const byName = new Map<string, string[]>();
  for (const p of paths) {
    const n = baseName(p);
    const l = byName.get(n);
    if (l) l.push(p);
    else byName.set(n, [p]);
  }
  return { byName };
}

function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function normalize(p: string): string[] {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function commonSuffix(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/**
 * `prefixes`: remote prefix → local prefix (already expanded). `exists` says whether a mapped path
 * is a real local file. Returns the local path, or null when nothing matches.
 */
export function mapSourcePath(
  remote: string,
  prefixes: Record<string, string>,
  index: SourceIndex,
  exists: (p: string) => boolean,
): string | null {
  // Longest prefix first, on whole path components.
  const pairs = Object.entries(prefixes).sort((x, y) => y[0].length - x[0].length);
  for (const [from, to] of pairs) {
    const f = from.replace(/\/+$/, '');
    if (remote === f || remote.startsWith(`${f}/`)) {
      const local = `${to.replace(/\/+$/, '')}${remote.slice(f.length)}`;
      if (exists(local)) return local;
    }
  }
  const cands = index.byName.get(baseName(remote));
  if (!cands || cands.length === 0) return null;
  const r = normalize(remote);
  let best: string | null = null;
  let bestLen = 0;
  let tie = false;
  for (const c of cands) {
    const n = commonSuffix(r, normalize(c));
    if (n > bestLen) {
      best = c;
      bestLen = n;
      tie = false;
    } else if (n === bestLen) {
      tie = true;
    }
  }
  // Two equally good matches (two fwd.c in different folders, one component in common): refuse
  // to guess rather than annotate the wrong file.
  return tie && bestLen <= 1 ? null : best;
}

/** `${workspaceFolder}` and `~` in a sourceMap value. */
export function expandLocal(p: string, workspaceFolder: string | undefined, home: string): string {
  let s = p;
  if (workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (s === '~' || s.startsWith('~/')) s = home + s.slice(1);
  return s;
}
