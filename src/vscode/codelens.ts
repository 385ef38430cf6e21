// A CodeLens above every function definition that was a stage of the current session.
import * as vscode from 'vscode';
import type { Annotations } from './annotations.ts';
import { findCFunctions } from './c-functions.ts';
import { C_SELECTOR } from './hover.ts';
import { lensTitle } from './cost-text.ts';
import { settings } from './settings.ts';

export function registerCodeLens(context: vscode.ExtensionContext, annotations: Annotations): void {
  const changed = new vscode.EventEmitter<void>();
  context.subscriptions.push(
    changed,
    annotations.onDidChange(() => changed.fire()),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('pktpath.codeLens') && changed.fire()),
    vscode.languages.registerCodeLensProvider(C_SELECTOR, {
      onDidChangeCodeLenses: changed.event,
      async provideCodeLenses(doc) {
        if (!settings().codeLens) return [];
        const a = await annotations.costs();
        if (!a) return [];
        const lenses: vscode.CodeLens[] = [];
        for (const f of findCFunctions(doc.getText())) {
          const row = a.costs.byStageSymbol.get(f.name);
          if (!row) continue;
          if (a.inSelection && !a.inSelection.has(f.name)) continue; // filtered to the views' selection
          const range = new vscode.Range(f.line, f.character, f.line, f.character + f.name.length);
          const title = lensTitle(row, { verdict: a.verdict, delta: a.deltas?.get(row.name) ?? null, baseLabel: a.baseLabel });
          lenses.push(new vscode.CodeLens(range, { title, command: 'pktpath.showViews', arguments: [{ function: f.name }] }));
        }
        return lenses;
      },
    }),
  );
}
