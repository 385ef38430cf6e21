// "Export Session…": the current (or a chosen) session as folded stacks, speedscope JSON or pprof.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { exportFolded } from '../core/export-folded.ts';
import { exportSpeedscope } from '../core/export-speedscope.ts';
import { exportPprof } from '../core/export-pprof.ts';
import type { Session } from '../core/session.ts';
import { asArgs, argString, argUri } from './args.ts';
import type { SessionStore } from './session-store.ts';

export type ExportFormat = 'folded' | 'speedscope' | 'pprof';

const FORMATS: Record<ExportFormat, { label: string; detail: string; ext: string }> = {
  folded: { label: 'Folded stacks', detail: 'flamegraph.pl, inferno, speedscope import', ext: '.folded' },
  speedscope: { label: 'speedscope', detail: 'speedscope.app JSON', ext: '.speedscope.json' },
  pprof: { label: 'pprof', detail: 'gzipped profile.proto for `go tool pprof`, Perfetto', ext: '.pb.gz' },
};

export function exportBytes(s: Session, format: ExportFormat, name: string): Buffer {
  if (format === 'folded') return Buffer.from(exportFolded(s), 'utf8');
  if (format === 'speedscope') return Buffer.from(JSON.stringify(exportSpeedscope(s, name)), 'utf8');
  return exportPprof(s);
}

export function registerExportSession(context: vscode.ExtensionContext, store: SessionStore): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('pktpath.exportSession', async (arg?: unknown) => {
      const a = asArgs(arg);
      const uri = argUri(a);
      let session: Session | undefined;
      let name = 'session';
      try {
        if (uri) {
          session = await store.load(uri);
          name = basename(uri.fsPath).replace(/\.pktpath\.json(\.gz)?$/, '');
        } else {
          const cur = await store.ensureCurrent();
          session = cur?.session;
          if (cur?.uri) name = basename(cur.uri.fsPath).replace(/\.pktpath\.json(\.gz)?$/, '');
        }
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: {0}', (e as Error).message));
        return undefined;
      }
      if (!session) {
        void vscode.window.showWarningMessage(vscode.l10n.t('Packet Path: no session to export. Open one first (Packet Path: Open Session…).'));
        return undefined;
      }
      let format = argString(a, 'format') as ExportFormat | undefined;
      if (format && !(format in FORMATS)) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: unknown export format "{0}": use folded, speedscope or pprof.', format));
        return undefined;
      }
      if (!format) {
        const pick = await vscode.window.showQuickPick(
          (Object.keys(FORMATS) as ExportFormat[]).map((k) => ({ label: FORMATS[k].label, detail: FORMATS[k].detail, k })),
          { title: vscode.l10n.t('Packet Path: Export Session'), placeHolder: vscode.l10n.t('Format') },
        );
        if (!pick) return undefined;
        format = pick.k;
      }
      let out = argString(a, 'output');
      if (!out) {
        const base = uri ?? store.getCurrent()?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
        const def = base ? vscode.Uri.joinPath(base, '..', `${name}${FORMATS[format].ext}`) : undefined;
        const chosen = await vscode.window.showSaveDialog({ defaultUri: def, title: vscode.l10n.t('Export as {0}', FORMATS[format].label) });
        if (!chosen) return undefined;
        out = chosen.fsPath;
      }
      try {
        await writeFile(out, exportBytes(session, format, name));
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: could not write {0}: {1}', out, (e as Error).message));
        return undefined;
      }
      void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: exported {0} to {1}', FORMATS[format].label, out));
      return out;
    }),
  );
}
