// SSH key passphrases: asked each time, or kept in SecretStorage (the OS keychain) when the user
// turned pktpath.rememberPassphrases on. Never in settings, globalState or logs.
import * as vscode from 'vscode';
import { settings } from './settings.ts';

export function passphraseAsker(secrets: vscode.SecretStorage): (keyPath: string) => Promise<string | undefined> {
  return async (keyPath: string) => {
    const key = `pktpath.passphrase:${keyPath}`;
    const remember = settings().rememberPassphrases;
    if (remember) {
      const kept = await secrets.get(key);
      if (kept !== undefined) return kept;
    }
    const p = await vscode.window.showInputBox({
      title: vscode.l10n.t('Packet Path: SSH key passphrase'),
      prompt: `Passphrase for ${keyPath}${remember ? ' (kept in the OS keychain)' : ''}`,
      password: true,
      ignoreFocusOut: true,
    });
    if (p !== undefined && remember) await secrets.store(key, p);
    return p;
  };
}
