// The "Packet Path" output channel, also keeping its last lines so a failing recording can be
// explained (the extension-host tests print them).
import * as vscode from 'vscode';

const KEEP = 300;

export interface Log {
  appendLine(s: string): void;
  show(): void;
  recent(): string[];
  dispose(): void;
}

export function createLog(): Log {
  const ch = vscode.window.createOutputChannel('Packet Path');
  const lines: string[] = [];
  return {
    appendLine(s: string): void {
      lines.push(`${new Date().toISOString().slice(11, 23)} ${s}`);
      if (lines.length > KEEP) lines.splice(0, lines.length - KEEP);
      ch.appendLine(s);
    },
    show: () => ch.show(true),
    recent: () => [...lines],
    dispose: () => ch.dispose(),
  };
}

/** Says an error in the log and in an error notification. */
export function errorReporter(log: Log): (msg: string) => void {
  return (msg: string): void => {
    log.appendLine(`error: ${msg}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: {0}', msg));
  };
}
