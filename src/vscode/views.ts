// The views (packet path table, latency and CPU flamegraphs) in a webview: one panel following the
// current session (live while recording), and a custom editor for `*.pktpath.json` files. The HTML
// comes from src/shared/webview-html.ts and the numbers from src/core/view-model.ts.
import * as vscode from 'vscode';
import type { Log } from './log.ts';
import { buildViewModel } from '../core/view-model.ts';
import type { Session } from '../core/session.ts';
import { buildWebviewHtml, makeNonce } from '../shared/webview-html.ts';
import { isFromWebview, type ToWebview } from '../shared/messages.ts';
import type { SessionStore } from './session-store.ts';
import { openFunctionSource } from './source-locate.ts';

function setup(webview: vscode.Webview, ext: vscode.Uri, session: Session, recording: boolean, log: Log): vscode.Disposable {
  webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ext, 'dist'), vscode.Uri.joinPath(ext, 'media')] };
  webview.html = buildWebviewHtml({
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'media', 'webview.css')).toString(),
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    model: buildViewModel(session, { recording }),
  });
  return webview.onDidReceiveMessage((m: unknown) => {
    if (!isFromWebview(m)) return;
    if (m.type === 'error') log.appendLine(`webview: ${m.message}`);
    else if (m.type === 'openSource') void openFunctionSource(m.frame.fn, m.frame).catch((e: Error) => log.appendLine(e.message));
  });
}

export class ViewsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private panelSubs: vscode.Disposable[] = [];
  private shown: Session | null = null;
  private readonly sub: vscode.Disposable;

  constructor(private readonly ext: vscode.Uri, private readonly store: SessionStore, private readonly log: Log) {
    this.sub = store.onDidChangeCurrent((c) => {
      if (this.panel && c) this.update(c.session, c.live);
    });
  }

  dispose(): void {
    this.sub.dispose();
    this.panel?.dispose();
  }

  get visiblePanel(): vscode.WebviewPanel | null {
    return this.panel;
  }

  /** Opens (or reveals) the panel on the current session, searching `focus` (a function) in its
   * CPU flamegraph; asks for a session when there is none. */
  async show(focus?: string): Promise<boolean> {
    const cur = await this.store.ensureCurrent();
    if (!cur) {
      const pick = await vscode.window.showInformationMessage(
        'Packet Path: no session to show. Record one (Attach to Process…) or open a saved one.', 'Attach to Process…', 'Open Session…');
      if (pick === 'Attach to Process…') await vscode.commands.executeCommand('pktpath.attach');
      else if (pick === 'Open Session…') await vscode.commands.executeCommand('pktpath.openSession');
      return false;
    }
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('pktpath.views', 'Packet Path', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true, retainContextWhenHidden: true,
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.ext, 'media', 'icon.png');
      this.panel.onDidDispose(() => {
        this.panel = null;
        this.shown = null;
        for (const d of this.panelSubs) d.dispose();
        this.panelSubs = [];
      });
      this.shown = cur.session;
      this.panelSubs.push(setup(this.panel.webview, this.ext, cur.session, cur.live, this.log));
    } else {
      this.update(cur.session, cur.live);
      this.panel.reveal(undefined, true);
    }
    if (focus) {
      const msg: ToWebview = { type: 'search', query: focus };
      void this.panel.webview.postMessage(msg);
    }
    return true;
  }

  private update(session: Session, live: boolean): void {
    if (!this.panel || this.shown === session) return;
    this.shown = session;
    const msg: ToWebview = { type: 'snapshot', model: buildViewModel(session, { recording: live }) };
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
      const sub = setup(panel.webview, this.ext, cur.session, false, this.log);
      panel.onDidDispose(() => sub.dispose());
    } catch (e) {
      const text = (e as Error).message.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
      panel.webview.html = `<!DOCTYPE html><html><body><h3>Packet Path cannot open this file</h3><p>${text}</p>
<p>Open it as text with "Reopen Editor With… Text Editor".</p></body></html>`;
    }
  }
}
