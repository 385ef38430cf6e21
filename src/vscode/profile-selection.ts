// "Profile Selection as a Stage": the selected lines, or the inlined function under the cursor,
// recorded in sampled mode as one stage (`lines:BIN:FILE:FIRST-LAST` / `inline:BIN:FUNC`, resolved
// from the target binary's DWARF). Pick a host and a process as Attach does, say where packets are
// counted, and the same recording flow runs. The argument object ({host, pid, packetsFrom,
// durationSeconds, sampleHz}) skips the pickers.
import * as vscode from 'vscode';
import type { Transport } from '../remote/transport.ts';
import { openTransport } from '../remote/open.ts';
import { selectionStage } from '../core/selection-stage.ts';
import { asArgs, argNumber, argString } from './args.ts';
import { pickHost, pickProcess, rememberHost } from './attach.ts';
import type { Recording } from './recording.ts';
import { passphraseAsker } from './secrets.ts';
import { settings } from './settings.ts';
import { workspaceCFunctions } from './workspace-functions.ts';
import { errorReporter, type Log } from './log.ts';
import { askPacketsFrom } from './packets-from.ts';

export function registerProfileSelection(context: vscode.ExtensionContext, recording: Recording, log: Log): void {
  const fail = errorReporter(log);
  context.subscriptions.push(
    vscode.commands.registerCommand('pktpath.profileSelection', async (arg?: unknown): Promise<string | undefined> => {
      const a = asArgs(arg);
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        fail(vscode.l10n.t('open a source file and select lines (or put the cursor on an inlined function) first'));
        return undefined;
      }
      const sel = editor.selection;
      const wordRange = sel.isEmpty || sel.isSingleLine ? editor.document.getWordRangeAtPosition(sel.active) : undefined;
      const word = wordRange && (sel.isEmpty || wordRange.isEqual(sel)) ? editor.document.getText(wordRange) : null;
      const fns = word ? await workspaceCFunctions() : [];
      const cfg = settings();
      const host = argString(a, 'host') ?? (await pickHost(context));
      if (!host) return undefined;
      let transport: Transport;
      try {
        transport = await openTransport({ host, ...(cfg.sshConfig ? { sshConfig: cfg.sshConfig } : {}), acceptNewHostKey: cfg.acceptNewHostKeys,
          passphrase: passphraseAsker(context.secrets) });
      } catch (e) {
        fail(`cannot connect to ${host}: ${(e as Error).message}`);
        return undefined;
      }
      try {
        await rememberHost(context, host);
        let pid = argNumber(a, 'pid');
        let exe: string | null = null;
        if (pid === undefined) {
          const p = await pickProcess(transport);
          if (!p) return undefined;
          pid = p.pid;
          if ('exe' in p) exe = p.exe;
        }
        if (!exe) {
          const r = await transport.exec(['readlink', `/proc/${pid}/exe`], { root: true });
          exe = r.stdout.trim();
          if (r.code !== 0 || !exe) {
            fail(`process ${pid} on ${host} is not running (or not readable): ${r.stderr.trim()}`);
            return undefined;
          }
        }
        const stage = selectionStage({
          file: editor.document.uri.fsPath, startLine: sel.start.line, endLine: sel.end.line, endCharacter: sel.end.character,
          word, wordIsFunction: word !== null && fns.some((f) => f.name === word),
        }, exe);
        let packetsFrom: string | undefined;
        try {
          packetsFrom = await askPacketsFrom(context, vscode.l10n.t('Packet Path: where are {0}\'s packets counted?', stage.spec), argString(a, 'packetsFrom'));
        } catch (e) {
          fail((e as Error).message);
          return undefined;
        }
        if (!packetsFrom) return undefined;
        log.appendLine(`profile selection: ${host} pid ${pid}: ${stage.name}=${stage.spec}, packets from ${packetsFrom}`);
        const r = await recording.run({
          host, pid, stages: [`${stage.name}=${stage.spec}`], transport, command: exe, sampled: { packetsFrom },
          durationSeconds: argNumber(a, 'durationSeconds') ?? (cfg.durationSeconds > 0 ? cfg.durationSeconds : 10),
          sampleHz: argNumber(a, 'sampleHz') ?? 999,
        });
        return r?.path;
      } finally {
        await transport.close().catch(() => undefined);
      }
    }),
  );
}
