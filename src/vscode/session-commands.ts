// The Sessions view's context menu beyond open and export: compare with another session or the
// baseline, set the baseline, rename, delete (to the trash). Each takes a tree item or {uri|path}.
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { asArgs, argString, argUri } from './args.ts';
import type { SessionStore } from './session-store.ts';
import type { Log } from './log.ts';
import { processLabel } from './stage-costs.ts';

async function pickOther(store: SessionStore, not: vscode.Uri, title: string): Promise<vscode.Uri | undefined> {
  type Item = vscode.QuickPickItem & { uri: vscode.Uri };
  const items: Item[] = (await store.list())
    .filter((e) => e.session && e.uri.toString() !== not.toString())
    .map((e) => ({
      label: `${processLabel(e.session!)} @ ${e.session!.target.host}`,
      description: `${new Date(e.session!.created).toLocaleString()} · ${e.session!.duration_s.toFixed(1)} s`,
      detail: vscode.workspace.asRelativePath(e.uri),
      uri: e.uri,
    }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: no other session to compare with. Record another one first.'));
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('The baseline (A): this session (B) is compared against it') }))?.uri;
}

export function registerSessionCommands(context: vscode.ExtensionContext, store: SessionStore, log: Log, showViews: () => Promise<void>): void {
  const target = (arg: unknown): vscode.Uri | undefined => argUri(asArgs(arg)) ?? store.getCurrent()?.uri ?? undefined;
  const compare = async (b: vscode.Uri, a: vscode.Uri): Promise<string> => {
    await store.open(b);
    store.compareWith(a);
    await showViews();
    return a.fsPath;
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('pktpath.compareWith', async (arg?: unknown) => {
      const b = target(arg);
      if (!b) return undefined;
      const a = argUri({ uri: asArgs(arg).base }) ?? (await pickOther(store, b, vscode.l10n.t('Packet Path: compare {0} with…', basename(b.fsPath))));
      return a ? compare(b, a) : undefined;
    }),
    vscode.commands.registerCommand('pktpath.compareWithBaseline', async (arg?: unknown) => {
      const b = target(arg);
      const a = store.baselineUri;
      if (!b) return undefined;
      if (!a) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: no baseline yet. Right-click a session and choose "Set as Baseline".'));
        return undefined;
      }
      if (a.toString() === b.toString()) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: this session is the baseline.'));
        return undefined;
      }
      await store.open(b);
      store.compareWith(null); // the baseline is what the current session is compared against
      await showViews();
      return a.fsPath;
    }),
    vscode.commands.registerCommand('pktpath.stopComparing', async () => {
      store.compareWith(null);
      await store.setBaseline(null);
      return true;
    }),
    vscode.commands.registerCommand('pktpath.setBaseline', async (arg?: unknown) => {
      const u = target(arg);
      if (!u) return undefined;
      await store.setBaseline(u);
      void vscode.window.setStatusBarMessage(vscode.l10n.t('Packet Path: {0} is the baseline', basename(u.fsPath)), 4000);
      return u.fsPath;
    }),
    vscode.commands.registerCommand('pktpath.renameSession', async (arg?: unknown) => {
      const a = asArgs(arg);
      const u = argUri(a);
      if (!u) return undefined;
      const old = basename(u.fsPath).replace(/\.pktpath\.json(\.gz)?$/, '');
      const ext = u.fsPath.endsWith('.gz') ? '.pktpath.json.gz' : '.pktpath.json';
      const name = argString(a, 'name') ?? (await vscode.window.showInputBox({
        title: vscode.l10n.t('Rename session'), value: old,
        validateInput: (v) => (/^[^/\\\0]+$/.test(v.trim()) && !v.trim().startsWith('.') ? null : vscode.l10n.t('a file name without slashes')),
      }));
      if (!name || name.trim() === old) return undefined;
      const to = vscode.Uri.joinPath(u, '..', `${name.trim()}${ext}`);
      try {
        await vscode.workspace.fs.rename(u, to, { overwrite: false });
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: cannot rename {0}: {1}', basename(u.fsPath), (e as Error).message));
        return undefined;
      }
      if (store.baselineUri?.toString() === u.toString()) await store.setBaseline(to);
      if (store.getCurrent()?.uri?.toString() === u.toString()) await store.open(to);
      store.refresh();
      return to.fsPath;
    }),
    vscode.commands.registerCommand('pktpath.deleteSession', async (arg?: unknown) => {
      const a = asArgs(arg);
      const u = argUri(a);
      if (!u) return undefined;
      if (a.confirm !== false) {
        const ok = vscode.l10n.t('Move to Trash');
        const pick = await vscode.window.showWarningMessage(vscode.l10n.t('Delete the session {0}?', basename(u.fsPath)), { modal: true }, ok);
        if (pick !== ok) return undefined;
      }
      try {
        if (a.permanent === true) await vscode.workspace.fs.delete(u, { useTrash: false });
        else await vscode.workspace.fs.delete(u, { useTrash: true });
      } catch (e) {
        // Some file systems have no trash (a remote or web host): say so, and delete for good only when asked.
        const why = (e as Error).message;
        log.appendLine(`delete ${u.fsPath}: the trash is not available: ${why}`);
        const forGood = vscode.l10n.t('Delete Permanently');
        const pick = a.confirm === false ? undefined : await vscode.window.showWarningMessage(
          vscode.l10n.t('Packet Path: cannot move {0} to the trash ({1}). Delete it permanently?', basename(u.fsPath), why), { modal: true }, forGood);
        if (pick !== forGood) return undefined;
        try {
          await vscode.workspace.fs.delete(u, { useTrash: false });
        } catch (e2) {
          void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: cannot delete {0}: {1}', basename(u.fsPath), (e2 as Error).message));
          return undefined;
        }
      }
      if (store.baselineUri?.toString() === u.toString()) await store.setBaseline(null);
      if (store.getCurrent()?.uri?.toString() === u.toString()) store.setCurrent(null);
      store.refresh();
      return u.fsPath;
    }),
  );
}
