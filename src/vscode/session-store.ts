// The sessions of the workspace (`.pktpath/*.pktpath.json`) and the one whose numbers annotate the
// editor (the "current" session: the last one recorded or opened). Hover, CodeLens, line heat and
// the views all follow `onDidChangeCurrent`.
import * as vscode from 'vscode';
import { stat } from 'node:fs/promises';
import type { Session } from '../core/session.ts';
import { loadSession } from '../core/session-io.ts';
import { sessionsFolder } from './settings.ts';
import type { EditorSelection } from '../shared/messages.ts';

const BASELINE_KEY = 'pktpath.baseline';
// "Compare with…" of a session, kept for a window reload: the views' own saved state can predate it
// (VS Code persists a webview's state with the editors, not when the page sets it)
const COMPARE_KEY = 'pktpath.compare';

/** The session the current one is compared against, and why. */
export interface Comparison {
  uri: vscode.Uri;
  session: Session;
  /** baseline: the workspace's baseline; chosen: "Compare with…" for this session. */
  kind: 'baseline' | 'chosen';
}

export interface CurrentSession {
  uri: vscode.Uri | null; // null while recording, before the first save
  session: Session;
  live: boolean;
}

export interface SessionEntry {
  uri: vscode.Uri;
  session: Session | null;
  error: string | null; // why it could not be read
}

export class SessionStore implements vscode.Disposable {
  private current: CurrentSession | null = null;
  private chosenBase: vscode.Uri | null = null;
  private selection: EditorSelection | null = null;
  private readonly changeSelection = new vscode.EventEmitter<EditorSelection | null>();
  private readonly changeComparison = new vscode.EventEmitter<void>();
  /** The views' selection changed (the editor filters line heat, CodeLens and hover to it). */
  readonly onDidChangeSelection = this.changeSelection.event;
  /** The baseline or the chosen comparison changed. */
  readonly onDidChangeComparison = this.changeComparison.event;
  private readonly cache = new Map<string, { mtimeMs: number; entry: SessionEntry }>();
  private readonly changeCurrent = new vscode.EventEmitter<CurrentSession | null>();
  private readonly changeList = new vscode.EventEmitter<void>();
  readonly onDidChangeCurrent = this.changeCurrent.event;
  readonly onDidChangeList = this.changeList.event;
  private readonly watcher: vscode.FileSystemWatcher | null;
  private triedDefault = false;
  /** Applied to a session the user opens (names from debug files found here: symbols.ts). */
  symbolize: (s: Session) => Promise<Session> = async (s) => s;

  constructor(private readonly memento?: vscode.Memento) {
    const folder = sessionsFolder();
    this.watcher = folder
      ? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '*.pktpath.json'))
      : null;
    const changed = (): void => this.changeList.fire();
    this.watcher?.onDidCreate(changed);
    this.watcher?.onDidDelete(changed);
    this.watcher?.onDidChange(changed);
  }

  dispose(): void {
    this.watcher?.dispose();
    this.changeCurrent.dispose();
    this.changeList.dispose();
    this.changeSelection.dispose();
    this.changeComparison.dispose();
  }

  getCurrent(): CurrentSession | null {
    return this.current;
  }

  setCurrent(c: CurrentSession | null): void {
    const id = (x: CurrentSession | null): string => (x ? (x.uri?.toString() ?? 'live') : '');
    if (id(this.current) !== id(c)) {
      // Another recording: the selection and a "Compare with…" belonged to the old one.
      this.chosenBase = null;
      if (this.selection) this.setSelection(null);
    }
    this.current = c;
    this.changeCurrent.fire(c);
  }

  getSelection(): EditorSelection | null {
    return this.selection;
  }

  setSelection(sel: EditorSelection | null): void {
    if (JSON.stringify(sel) === JSON.stringify(this.selection)) return;
    this.selection = sel;
    this.changeSelection.fire(sel);
  }

  get baselineUri(): vscode.Uri | null {
    const u = this.memento?.get<string>(BASELINE_KEY);
    return u ? vscode.Uri.parse(u) : null;
  }

  async setBaseline(uri: vscode.Uri | null): Promise<void> {
    await this.memento?.update(BASELINE_KEY, uri?.toString());
    this.changeComparison.fire();
    this.changeList.fire();
  }

  /** Compares the current session against `uri` ("Compare with…"); null: back to the baseline, if any. */
  compareWith(uri: vscode.Uri | null): void {
    this.chosenBase = uri;
    const cur = this.current?.uri?.toString();
    if (cur) void this.memento?.update(COMPARE_KEY, uri ? { session: cur, base: uri.toString() } : undefined);
    this.changeComparison.fire();
  }

  /** The "Compare with…" last chosen for `session`, or null. */
  rememberedBase(session: vscode.Uri): vscode.Uri | null {
    const c = this.memento?.get<unknown>(COMPARE_KEY);
    if (typeof c !== 'object' || c === null) return null;
    const { session: s, base } = c as { session?: unknown; base?: unknown };
    return s === session.toString() && typeof base === 'string' ? vscode.Uri.parse(base) : null;
  }

  /** What the current session is compared against: the chosen one, else the baseline (never itself). */
  async comparison(): Promise<Comparison | null> {
    const cur = this.current;
    if (!cur) return null;
    const pick = this.chosenBase ? { uri: this.chosenBase, kind: 'chosen' as const } : this.baselineUri ? { uri: this.baselineUri, kind: 'baseline' as const } : null;
    if (!pick || pick.uri.toString() === cur.uri?.toString()) return null;
    try {
      return { uri: pick.uri, session: await this.load(pick.uri), kind: pick.kind };
    } catch {
      return null; // a baseline deleted or damaged since: no comparison
    }
  }

  refresh(): void {
    this.changeList.fire();
  }

  /** Reads a session file (cached by mtime); throws SessionFileError with a readable message. */
  async load(uri: vscode.Uri): Promise<Session> {
    const e = await this.entry(uri);
    if (!e.session) throw new Error(e.error ?? `cannot read ${uri.fsPath}`);
    return e.session;
  }

  async open(uri: vscode.Uri): Promise<CurrentSession> {
    const session = await this.symbolize(await this.load(uri));
    const c = { uri, session, live: false };
    this.setCurrent(c);
    return c;
  }

  private async entry(uri: vscode.Uri): Promise<SessionEntry> {
    let mtimeMs = -1;
    try {
      mtimeMs = (await stat(uri.fsPath)).mtimeMs;
    } catch (e) {
      return { uri, session: null, error: `${uri.fsPath}: ${(e as Error).message}` };
    }
    const hit = this.cache.get(uri.fsPath);
    if (hit && hit.mtimeMs === mtimeMs) return hit.entry;
    let entry: SessionEntry;
    try {
      entry = { uri, session: await loadSession(uri.fsPath), error: null };
    } catch (e) {
      entry = { uri, session: null, error: (e as Error).message };
    }
    this.cache.set(uri.fsPath, { mtimeMs, entry });
    return entry;
  }

  /** Sessions in the workspace's sessions folder, newest first. */
  async list(): Promise<SessionEntry[]> {
    const folder = sessionsFolder();
    if (!folder) return [];
    let names: [string, vscode.FileType][];
    try {
      names = await vscode.workspace.fs.readDirectory(folder);
    } catch {
      return [];
    }
    const files = names
      .filter(([n, t]) => t === vscode.FileType.File && n.endsWith('.pktpath.json'))
      .map(([n]) => vscode.Uri.joinPath(folder, n));
    const entries = await Promise.all(files.map((u) => this.entry(u)));
    const key = (e: SessionEntry): string => e.session?.created ?? '';
    return entries.sort((a, b) => key(b).localeCompare(key(a)) || b.uri.fsPath.localeCompare(a.uri.fsPath));
  }

  /** Without an explicit choice, the annotations show the newest session of the workspace. */
  async ensureCurrent(): Promise<CurrentSession | null> {
    if (this.current || this.triedDefault) return this.current;
    this.triedDefault = true;
    const newest = (await this.list()).find((e) => e.session);
    if (newest?.session && !this.current) this.setCurrent({ uri: newest.uri, session: newest.session, live: false });
    return this.current;
  }
}
