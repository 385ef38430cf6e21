// The views (packet path table, latency and CPU flamegraphs) in a webview: one panel following the
// current session (live while recording), and a custom editor for `*.pktpath.json` files. The HTML
// comes from src/shared/webview-html.ts and the numbers from src/core/view-model.ts.
import * as vscode from 'vscode';
import type { Log } from './log.ts';
import { buildCompareViewModel, buildViewModel } from '../core/view-model.ts';
import type { Session } from '../core/session.ts';
import { buildWebviewHtml, makeNonce } from '../shared/webview-html.ts';
import { isFromWebview, type ToWebview, type ViewModel } from '../shared/messages.ts';
import type { CurrentSession, SessionStore } from './session-store.ts';
import { openFunctionSource } from './source-locate.ts';

/** The model of the current session: compared against the store's comparison when there is one. */
async function modelFor(store: SessionStore, cur: CurrentSession): Promise<ViewModel> {
  const key = cur.uri?.toString() ?? 'live';
  const cmp = cur.live ? null : await store.comparison();
  return cmp
    ? buildCompareViewModel(cur.session, cmp.session, { key, recording: cur.live, baseKey: cmp.uri.toString() })
    : buildViewModel(cur.session, { key, recording: cur.live });
}

function setup(webview: vscode.Webview, ext: vscode.Uri, model: ViewModel, log: Log, store: SessionStore | null): vscode.Disposable {
  webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ext, 'dist'), vscode.Uri.joinPath(ext, 'media')] };
  webview.html = buildWebviewHtml({
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'media', 'webview.css')).toString(),
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    model,
  });
  return webview.onDidReceiveMessage((m: unknown) => {
    if (!isFromWebview(m)) return;
    if (m.type === 'error') log.appendLine(`webview: ${m.message}`);
    else if (m.type === 'openSource') void openFunctionSource(m.frame.fn, m.frame).catch((e: Error) => log.appendLine(e.message));
    else if (m.type === 'select') store?.setSelection(m.selection);
  });
}

/** What the page saved with setState that the host needs after a window reload. */
interface SavedPage {
  session_key?: unknown;
  base_key?: unknown;
}

export class ViewsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private panelSubs: vscode.Disposable[] = [];
  private shown: { session: Session; base: string | null } | null = null;
  private readonly subs: vscode.Disposable[];
  private seq = 0;
  /** The model the panel shows now (for the tests). */
  lastModel: ViewModel | null = null;

  constructor(private readonly ext: vscode.Uri, private readonly store: SessionStore, private readonly log: Log) {
    this.subs = [
      store.onDidChangeCurrent((c) => {
        if (this.panel && c) void this.update(c);
      }),
      store.onDidChangeComparison(() => {
        const c = store.getCurrent();
        if (this.panel && c) void this.update(c, true);
      }),
    ];
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    this.panel?.dispose();
  }

  get visiblePanel(): vscode.WebviewPanel | null {
    return this.panel;
  }

  private adopt(panel: vscode.WebviewPanel, model: ViewModel, cur: CurrentSession, base: string | null): void {
    this.panel = panel;
    this.panel.iconPath = vscode.Uri.joinPath(this.ext, 'media', 'icon.png');
    this.panel.onDidDispose(() => {
      this.panel = null;
      this.shown = null;
      this.lastModel = null;
      for (const d of this.panelSubs) d.dispose();
      this.panelSubs = [];
    });
    this.shown = { session: cur.session, base };
    this.lastModel = model;
    this.panelSubs.push(setup(this.panel.webview, this.ext, model, this.log, this.store));
  }

  /** Opens (or reveals) the panel on the current session, searching `focus` (a function) in its
   * CPU flamegraph; asks for a session when there is none. */
  async show(focus?: string): Promise<boolean> {
    const cur = await this.store.ensureCurrent();
    if (!cur) {
      const attach = vscode.l10n.t('Attach to Process…');
      const open = vscode.l10n.t('Open Session…');
      const pick = await vscode.window.showInformationMessage(
        vscode.l10n.t('Packet Path: no session to show. Record one (Attach to Process…) or open a saved one.'), attach, open);
      if (pick === attach) await vscode.commands.executeCommand('pktpath.attach');
      else if (pick === open) await vscode.commands.executeCommand('pktpath.openSession');
      return false;
    }
    if (!this.panel) {
      const model = await modelFor(this.store, cur);
      const panel = vscode.window.createWebviewPanel('pktpath.views', vscode.l10n.t('Packet Path'), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true, retainContextWhenHidden: true,
      });
      this.adopt(panel, model, cur, model.compare?.base_key ?? null);
    } else {
      await this.update(cur);
      this.panel.reveal(undefined, true);
    }
    if (focus) {
      const msg: ToWebview = { type: 'search', query: focus };
      void this.panel?.webview.postMessage(msg);
    }
    return true;
  }

  /** After a window reload: the panel VS Code kept, on the session (and comparison) its page saved. */
  async revive(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const st = (typeof state === 'object' && state !== null ? state : {}) as SavedPage;
    const parse = (k: unknown): vscode.Uri | null => (typeof k === 'string' && /^[a-z][\w+.-]*:\//i.test(k) ? vscode.Uri.parse(k) : null);
    const uri = parse(st.session_key);
    // the page's state can predate its last "Compare with…" (see the store): the store remembers it too
    const base = parse(st.base_key) ?? (uri ? this.store.rememberedBase(uri) : null);
    try {
      if (uri) await this.store.open(uri);
      if (base) this.store.compareWith(base);
    } catch (e) {
      this.log.appendLine(`restoring the views: ${(e as Error).message}`);
    }
    const cur = await this.store.ensureCurrent();
    if (!cur) {
      panel.webview.html = '<!DOCTYPE html><html><body><p>Packet Path: the session these views showed is gone.</p></body></html>';
      return;
    }
    this.adopt(panel, await modelFor(this.store, cur), cur, base?.toString() ?? null);
  }

  private async update(cur: CurrentSession, force = false): Promise<void> {
    if (!this.panel) return;
    const seq = ++this.seq;
    const model = await modelFor(this.store, cur);
    const base = model.compare?.base_key ?? null;
    if (seq !== this.seq || !this.panel) return; // a newer update is on its way
    if (!force && this.shown?.session === cur.session && this.shown.base === base) return;
    this.shown = { session: cur.session, base };
    this.lastModel = model;
    const msg: ToWebview = { type: 'snapshot', model };
    void this.panel.webview.postMessage(msg);
  }

  postStatus(recording: boolean, message: string | null): void {
    const msg: ToWebview = { type: 'status', recording, message };
    void this.panel?.webview.postMessage(msg);
  }
}

/** `*.pktpath.json` opens as the views; opening one also makes it the session the editor annotates. */
export class SessionEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly ext: vscode.Uri, private readonly store: SessionStore, private readonly log: Log) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(doc: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    try {
      const cur = await this.store.open(doc.uri);
      const sub = setup(panel.webview, this.ext, buildViewModel(cur.session, { key: doc.uri.toString() }), this.log, this.store);
      panel.onDidDispose(() => sub.dispose());
    } catch (e) {
      const text = (e as Error).message.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
      panel.webview.html = `<!DOCTYPE html><html><body><h3>Packet Path cannot open this file</h3><p>${text}</p>
<p>Open it as text with "Reopen Editor With… Text Editor".</p></body></html>`;
    }
  }
}
