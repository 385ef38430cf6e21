// Wires the features together; each lives in its own file with its own register function.
import * as vscode from 'vscode';
import { SessionStore } from './session-store.ts';
import { SessionsTree } from './sessions-tree.ts';
import { registerOpenSession } from './open-session.ts';
import { Annotations } from './annotations.ts';
import { registerHover } from './hover.ts';
import { registerCodeLens } from './codelens.ts';
import { SessionEditorProvider, ViewsPanel } from './views.ts';
import { registerExportSession } from './export-session.ts';

/** What activate() returns: used by the extension-host tests, and by other extensions if they wish. */
export interface PktpathApi {
  store: SessionStore;
  sessionsTree: SessionsTree;
  views: ViewsPanel;
}

export function activate(context: vscode.ExtensionContext): PktpathApi {
  const log = vscode.window.createOutputChannel('Packet Path');
  const store = new SessionStore();
  const sessionsTree = new SessionsTree(store);
  const annotations = new Annotations(store);
  const views = new ViewsPanel(context.extensionUri, store, log);
  context.subscriptions.push(log, store, sessionsTree, annotations, views,
    vscode.window.registerTreeDataProvider('pktpath.sessions', sessionsTree),
    vscode.window.registerCustomEditorProvider('pktpath.session', new SessionEditorProvider(context.extensionUri, store, log), {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    vscode.commands.registerCommand('pktpath.showViews', () => views.show()),
    vscode.commands.registerCommand('pktpath.refreshSessions', () => store.refresh()),
  );
  registerOpenSession(context, store, async () => void (await views.show()));
  registerExportSession(context, store);
  registerHover(context, annotations);
  registerCodeLens(context, annotations);
  return { store, sessionsTree, views };
}

export function deactivate(): void {}
