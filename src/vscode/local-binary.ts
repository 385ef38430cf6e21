// The local build of a profiled binary (for DWARF line info), and the warning when it is not the
// build that ran: a different GNU build-id means line numbers may point at the wrong code.
import * as vscode from 'vscode';
import type { Log } from './log.ts';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename } from 'node:path';
import type { Session } from '../core/session.ts';
import { readElfBuildId } from '../core/elf-build-id.ts';
import { isFixedAddress } from './addr2line.ts';
import { settings, workspaceRoot } from './settings.ts';
import { buildSourceIndex, expandLocal, mapSourcePath } from './source-map.ts';

export function sourcePrefixes(): Record<string, string> {
  const ws = workspaceRoot()?.fsPath;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings().sourceMap)) out[k] = expandLocal(v, ws, homedir());
  return out;
}

async function isElf(p: string): Promise<boolean> {
  try {
    return (await readElfBuildId(p)) !== null || (await isFixedAddress(p));
  } catch {
    return false;
  }
}

/** Where the build of `module` (a path on the profiled host) is on this machine, or null. */
export async function localBinaryFor(module: string, targetBinary: string | null): Promise<string | null> {
  const cfg = settings();
  if (cfg.localBinary && (module === targetBinary || basename(module) === basename(cfg.localBinary)) && existsSync(cfg.localBinary))
    return cfg.localBinary;
  const files = await vscode.workspace.findFiles(`**/${basename(module)}`, '{**/node_modules/**,**/.git/**}', 50);
  const index = buildSourceIndex(files.map((f) => f.fsPath));
  const mapped = mapSourcePath(module, sourcePrefixes(), index, existsSync);
  if (mapped && (await isElf(mapped))) return mapped;
  // Same path here: a local recording, or a remote host built in the same place.
  if (existsSync(module) && (await isElf(module))) return module;
  return null;
}

const warned = new Set<string>();

/** Warns (once per pair) when the local build of the target differs from the one that ran. */
export async function checkBuildId(session: Session, log: Log): Promise<string | null> {
  const t = session.target;
  if (!t.binary || !t.build_id) return null;
  const local = await localBinaryFor(t.binary, t.binary);
  if (!local) return null;
  const id = await readElfBuildId(local).catch(() => null);
  if (!id || id === t.build_id) return null;
  const msg = `the binary that ran on ${t.host} (${t.binary}, build-id ${t.build_id.slice(0, 12)}…) is not the local build ${vscode.workspace.asRelativePath(local)} (build-id ${id.slice(0, 12)}…): line heat and source lines may not match what ran. Profile the same build, or set pktpath.localBinary to a copy of it.`;
  log.appendLine(`warning: ${msg}`);
  const key = `${t.build_id}:${local}:${id}`;
  if (!warned.has(key)) {
    warned.add(key);
    void vscode.window.showWarningMessage(`Packet Path: ${msg}`);
  }
  return msg;
}
