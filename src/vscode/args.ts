// Commands take an optional argument object so tests, keybindings and other extensions can skip the
// pickers. These read it without trusting its shape.
import * as vscode from 'vscode';

export type Args = Record<string, unknown>;

export function asArgs(v: unknown): Args {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Args) : {};
}

export function argString(a: Args, key: string): string | undefined {
  const v = a[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function argNumber(a: Args, key: string): number | undefined {
  const v = a[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function argStrings(a: Args, key: string): string[] | undefined {
  const v = a[key];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** A session file named by `uri` (Uri or string), `path`, or a tree item carrying an entry. */
export function argUri(a: Args): vscode.Uri | undefined {
  const u = a.uri ?? (a.entry as { uri?: unknown } | undefined)?.uri ?? a.resourceUri;
  if (u instanceof vscode.Uri) return u;
  if (typeof u === 'string') return u.includes('://') ? vscode.Uri.parse(u) : vscode.Uri.file(u);
  const p = argString(a, 'path');
  return p ? vscode.Uri.file(p) : undefined;
}
