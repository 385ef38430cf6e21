// Wires the features together; each lives in its own file with its own register function.
import * as vscode from 'vscode';
import { SessionStore } from './session-store.ts';
import { symbolizeInEditor } from './symbols.ts';
import { SessionsTree } from './sessions-tree.ts';
import { registerOpenSession } from './open-session.ts';
import { Annotations } from './annotations.ts';
import { registerHover } from './hover.ts';
import { registerCodeLens } from './codelens.ts';
import { SessionEditorProvider, ViewsPanel } from './views.ts';
import { registerExportSession } from './export-session.ts';
import { Recording } from './recording.ts';
import { registerAttach } from './attach.ts';
import { registerProfileSelection } from './profile-selection.ts';
import { LineHeat, registerLineHeat } from './line-heat.ts';
import { createLog } from './log.ts';
import { checkBuildId } from './local-binary.ts';
import { findAddressLine } from './source-locate.ts';
import { VerdictStatus } from './verdict-status.ts';
import { registerSessionCommands } from './session-commands.ts';

/** What activate() returns: used by the extension-host tests, and by other extensions if they wish. */
export interface PktpathApi {
  store: SessionStore;
  sessionsTree: SessionsTree;
  views: ViewsPanel;
  recording: Recording;
  lineHeat: LineHeat;
  annotations: Annotations;
  verdictStatus: VerdictStatus;
  /** The last lines of the Packet Path output channel. */
  logLines(): string[];
  /** The build-id warning for the current session's binary, or null when the local build matches. */
  buildIdWarning(): Promise<string | null>;
  /** Where a sampled frame's code is in the workspace (what "open source" in the views opens). */
  sourceOf: typeof findAddressLine;
}

export function activate(context: vscode.ExtensionContext): PktpathApi {
  const log = createLog();
  const store = new SessionStore(context.workspaceState);
  store.symbolize = (s) => symbolizeInEditor(s, log);
  const sessionsTree = new SessionsTree(store);
  const annotations = new Annotations(store);
  const views = new ViewsPanel(context.extensionUri, store, log);
  const recording = new Recording(context, store, log, (on, msg) => views.postStatus(on, msg));
  const lineHeat = new LineHeat(store, log);
  const verdictStatus = new VerdictStatus(annotations);
  context.subscriptions.push(log, store, sessionsTree, annotations, views, recording, verdictStatus,
    vscode.window.registerWebviewPanelSerializer('pktpath.views', {
      deserializeWebviewPanel: (panel, state: unknown) => views.revive(panel, state),
    }),
    vscode.window.registerTreeDataProvider('pktpath.sessions', sessionsTree),
    vscode.window.registerCustomEditorProvider('pktpath.session', new SessionEditorProvider(context.extensionUri, store, log), {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    vscode.commands.registerCommand('pktpath.showViews', (arg?: unknown) => {
      const fn = typeof arg === 'object' && arg !== null ? (arg as { function?: unknown }).function : undefined;
      return views.show(typeof fn === 'string' ? fn : undefined);
    }),
    vscode.commands.registerCommand('pktpath.refreshSessions', () => store.refresh()),
    vscode.commands.registerCommand('pktpath.stop', () => {
      if (!recording.stop()) void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: no recording is running.'));
    }),
  );
  registerOpenSession(context, store, async () => void (await views.show()));
  registerExportSession(context, store);
  registerSessionCommands(context, store, log, async () => void (await views.show()));
  registerHover(context, annotations);
  registerCodeLens(context, annotations);
  registerLineHeat(context, lineHeat);
  registerAttach(context, recording, log);
  registerProfileSelection(context, recording, log);
  const buildIdWarning = async (): Promise<string | null> => {
    const cur = await store.ensureCurrent();
    return cur ? checkBuildId(cur.session, log) : null;
  };
  return { store, sessionsTree, views, recording, lineHeat, annotations, verdictStatus, logLines: () => log.recent(), buildIdWarning, sourceOf: findAddressLine };
}

export function deactivate(): void {}
