// "Open Session…": pick a saved recording (from the workspace or anywhere on disk) and make it the one
// the editor annotates; its views open too.
import * as vscode from 'vscode';
import { asArgs, argUri } from './args.ts';
import type { SessionStore } from './session-store.ts';
import { processLabel } from './stage-costs.ts';
import { sessionsFolder } from './settings.ts';

export function registerOpenSession(context: vscode.ExtensionContext, store: SessionStore, showViews: () => Promise<void>): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('pktpath.openSession', async (arg?: unknown) => {
      const a = asArgs(arg);
      const uri = argUri(a) ?? (await pickSession(store));
      if (!uri) return undefined;
      try {
        await store.open(uri);
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: cannot open {0}: {1}', uri.fsPath, (e as Error).message));
        return undefined;
      }
      if (a.views !== false) await showViews();
      return uri.fsPath;
    }),
  );
}

async function pickSession(store: SessionStore): Promise<vscode.Uri | undefined> {
  type Item = vscode.QuickPickItem & { uri?: vscode.Uri };
  const items: Item[] = (await store.list())
    .filter((e) => e.session)
    .map((e) => ({
      label: `${processLabel(e.session!)} @ ${e.session!.target.host}`,
      description: new Date(e.session!.created).toLocaleString(),
      detail: e.uri.fsPath,
      uri: e.uri,
    }));
  items.push({ label: '$(folder-opened) Browse…', alwaysShow: true });
  const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Packet Path: Open Session'), placeHolder: vscode.l10n.t('A recorded session') });
  if (!pick) return undefined;
  if (pick.uri) return pick.uri;
  const chosen = await vscode.window.showOpenDialog({
    canSelectMany: false,
    defaultUri: sessionsFolder(),
    filters: { 'pktpath sessions': ['json', 'gz'] },
    title: vscode.l10n.t('Open a pktpath session'),
  });
  return chosen?.[0];
}
