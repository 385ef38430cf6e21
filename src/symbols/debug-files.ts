// Where the debug information of a module that ran is on this machine, found the way gdb and perf
// find it: a binary is known by its GNU build-id, not its path. In order: the user's own build (a
// file they named: their -g build of the same code), the very file that ran (a local recording),
// DIR/.build-id/xx/rest.debug under each debug directory (/usr/lib/debug), the file its
// .gnu_debuglink names (beside it, in .debug/, under DIR/<its directory>), a debuginfod server.
// A file whose build-id differs is never used to name what ran: it is refused with a warning.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileInfo, type FileInfo } from './dwarf-helper.ts';
import { fetchDebuginfo } from './debuginfod.ts';

export type DebugSource = 'local-build' | 'module' | 'build-id-dir' | 'debuglink' | 'debuginfod';

export interface DebugSearch {
  /** the tracer binary (its --dwarf mode reads the files) */
  tracer: string;
  /** the user's own builds: ELF files with symbols or DWARF (CLI --debug-file, pktpath.localBinary, the workspace) */
  localBuilds?: readonly string[];
  /** roots holding .build-id/ and mirrored paths; default ["/usr/lib/debug"] */
  debugDirs?: readonly string[];
  /** ask DEBUGINFOD_URLS servers; default true */
  debuginfod?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface DebugFile {
  path: string;
  source: DebugSource;
  info: FileInfo;
}

export interface SearchResult {
  found: DebugFile | null;
  /** files of the right name or place but another build: refused, with the reason */
  refused: string[];
  /** why nothing was found (what was tried) */
  notes: string[];
}

/** Caches FileInfo by path for one search run (each costs a helper process). */
export class InfoCache {
  private readonly m = new Map<string, Promise<FileInfo | null>>();
  constructor(private readonly tracer: string) {}
  get(path: string): Promise<FileInfo | null> {
    let p = this.m.get(path);
    if (!p) {
      p = existsSync(path) ? fileInfo(this.tracer, path).catch(() => null) : Promise.resolve(null);
      this.m.set(path, p);
    }
    return p;
  }
}

const usable = (i: FileInfo): boolean => i.dwarf || i.symtab;

function short(id: string | null): string {
  return id ? `${id.slice(0, 12)}…` : 'none';
}

export function buildIdPath(dir: string, buildId: string): string {
  return join(dir, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
}

/** Looks for the debug information of `module` (its path where it ran) with GNU build-id `buildId`. */
export async function findDebugFile(module: string, buildId: string | null, o: DebugSearch, cache = new InfoCache(o.tracer)): Promise<SearchResult> {
  const refused: string[] = [];
  const notes: string[] = [];
  const dirs = o.debugDirs ?? ['/usr/lib/debug'];
  const accept = async (path: string, source: DebugSource, needDebug = true): Promise<DebugFile | null> => {
    const info = await cache.get(path);
    if (!info) return null;
    if (buildId === null || info.build_id !== buildId) {
      if (buildId === null) refused.push(`${path}: the module that ran has no build-id, so no file can be shown to be its build`);
      else refused.push(`${path} (build-id ${short(info.build_id)}) is not the build that ran as ${module} (build-id ${short(buildId)}): not used for naming`);
      return null;
    }
    if (needDebug && !usable(info)) return null;
    return { path, source, info };
  };

  // the user's own builds: only those meant for this module (its name) are refused loudly
  for (const p of o.localBuilds ?? []) {
    const info = await cache.get(p);
    if (!info) {
      notes.push(`${p}: not a readable ELF file`);
      continue;
    }
    if (buildId !== null && info.build_id === buildId) {
      if (usable(info)) return { found: { path: p, source: 'local-build', info }, refused, notes };
      notes.push(`${p} is the build that ran but has no symbols or DWARF (stripped)`);
    } else if (basename(p) === basename(module)) {
      await accept(p, 'local-build');
    }
  }
  if (buildId === null) {
    notes.push(`${module} has no GNU build-id: its debug files cannot be told apart from another build's`);
    return { found: null, refused, notes };
  }
  // the file that ran, when this is the machine it ran on (or the same build sits at that path)
  const self = await cache.get(module);
  if (self && self.build_id === buildId && usable(self)) return { found: { path: module, source: 'module', info: self }, refused, notes };
  for (const d of dirs) {
    const p = buildIdPath(d, buildId);
    const f = await accept(p, 'build-id-dir');
    if (f) return { found: f, refused, notes };
  }
  // .gnu_debuglink needs a copy of the stripped file itself: the module here, or a local build
  const linkers: Array<{ path: string; info: FileInfo }> = [];
  if (self && self.build_id === buildId) linkers.push({ path: module, info: self });
  for (const p of o.localBuilds ?? []) {
    const info = await cache.get(p);
    if (info && info.build_id === buildId) linkers.push({ path: p, info });
  }
  for (const l of linkers) {
    const name = l.info.debuglink;
    if (!name || name.includes('/')) continue;
    const d = dirname(l.path);
    for (const cand of [join(d, name), join(d, '.debug', name), ...dirs.map((r) => join(r, d, name))]) {
      if (cand === l.path) continue;
      const f = await accept(cand, 'debuglink');
      if (f) return { found: f, refused, notes };
    }
  }
  if (o.debuginfod !== false) {
    const r = await fetchDebuginfo(buildId, { env: o.env ?? process.env });
    if (r.path) {
      const f = await accept(r.path, 'debuginfod');
      if (f) return { found: f, refused, notes };
    } else {
      notes.push(`debuginfod: ${r.from}`);
    }
  }
  return { found: null, refused, notes };
}
