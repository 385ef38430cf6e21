// Typed access to the `pktpath.*` settings (declared in package.json contributes.configuration).
import * as vscode from 'vscode';

export interface Settings {
  sampleHz: number;
  durationSeconds: number;
  intervalMs: number;
  maxOverheadPercent: number;
  sourceMap: Record<string, string>;
  tracerPath: string;
  localBinary: string;
  lineHeat: boolean;
  codeLens: boolean;
  sessionsFolder: string;
  sshConfig: string;
  acceptNewHostKeys: boolean;
  rememberPassphrases: boolean;
  stageSets: Record<string, string[]>;
}

function num(c: vscode.WorkspaceConfiguration, key: string, dflt: number): number {
  const v = c.get<unknown>(key);
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

function strRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export function settings(): Settings {
  const c = vscode.workspace.getConfiguration('pktpath');
  const sets: Record<string, string[]> = {};
  const raw = c.get<unknown>('stageSets');
  if (typeof raw === 'object' && raw !== null)
    for (const [k, v] of Object.entries(raw))
      if (Array.isArray(v)) sets[k] = v.filter((x): x is string => typeof x === 'string');
  return {
    sampleHz: num(c, 'sampleHz', 99),
    durationSeconds: num(c, 'durationSeconds', 10),
    intervalMs: Math.max(100, num(c, 'intervalMs', 1000)),
    maxOverheadPercent: num(c, 'maxOverheadPercent', 0),
    sourceMap: strRecord(c.get<unknown>('sourceMap')),
    tracerPath: c.get<string>('tracerPath') ?? '',
    localBinary: c.get<string>('localBinary') ?? '',
    lineHeat: c.get<boolean>('lineHeat') ?? true,
    codeLens: c.get<boolean>('codeLens') ?? true,
    sessionsFolder: c.get<string>('sessionsFolder') || '.pktpath',
    sshConfig: c.get<string>('sshConfig') ?? '',
    acceptNewHostKeys: c.get<boolean>('acceptNewHostKeys') ?? false,
    rememberPassphrases: c.get<boolean>('rememberPassphrases') ?? false,
    stageSets: sets,
  };
}

export function workspaceRoot(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

export function sessionsFolder(): vscode.Uri | undefined {
  const root = workspaceRoot();
  return root && vscode.Uri.joinPath(root, settings().sessionsFolder);
}
