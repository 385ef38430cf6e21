// Stripped code named in the editor, where the debug files are: a session's frames are symbolized
// by build-id (src/symbols/) when it is recorded or opened, from the user's own build
// (pktpath.localBinary, or a file of the workspace with the module's name), the debug directories
// (pktpath.debugDirectories), .gnu_debuglink and debuginfod (DEBUGINFOD_URLS, pktpath.debuginfod).
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { Session } from '../core/session.ts';
import { locateTracer } from '../tracer/locate.ts';
import { describeSymbols, symbolizeSession } from '../symbols/symbolize-session.ts';
import { localBinaryFor } from './local-binary.ts';
import type { Log } from './log.ts';
import { settings } from './settings.ts';

const warned = new Set<string>();

/** The session with the names the debug files found here give; as it was when none is found. */
export async function symbolizeInEditor(session: Session, log: Log): Promise<Session> {
  if (!session.frames.some((f) => !f.kernel && f.elf_addr)) return session;
  const c = vscode.workspace.getConfiguration('pktpath');
  let tracer: string;
  try {
    const explicit = settings().tracerPath;
    tracer = locateTracer(explicit ? { explicit } : {});
  } catch (e) {
    log.appendLine(`symbols: frames keep the tracer's names: ${(e as Error).message}`);
    return session;
  }
  const modules = [...new Set(session.frames.filter((f) => !f.kernel && f.module.startsWith('/')).map((f) => f.module))];
  const local = new Set<string>();
  for (const m of modules) {
    const p = await localBinaryFor(m, session.target.binary).catch(() => null);
    if (p && basename(p) === basename(m)) local.add(p);
  }
  const dirs = c.get<unknown>('debugDirectories');
  try {
    const r = await symbolizeSession(session, {
      tracer,
      localBuilds: [...local],
      ...(Array.isArray(dirs) ? { debugDirs: dirs.filter((d): d is string => typeof d === 'string') } : {}),
      debuginfod: c.get<boolean>('debuginfod') ?? true,
    });
    for (const line of describeSymbols(r.session)) log.appendLine(`symbols: ${line}`);
    for (const w of r.warnings.filter((x) => / is not the build that ran /.test(x))) {
      if (warned.has(w)) continue;
      warned.add(w);
      void vscode.window.showWarningMessage(`Packet Path: ${w}`);
    }
    return r.session;
  } catch (e) {
    log.appendLine(`symbols: ${(e as Error).message}`);
    return session;
  }
}
