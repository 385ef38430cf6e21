// Hover on a C function that was a stage or was sampled: its measured cost in the current session.
import * as vscode from 'vscode';
import type { Annotations } from './annotations.ts';
import { costMarkdown } from './cost-text.ts';

export const C_SELECTOR: vscode.DocumentSelector = [
  { language: 'c', scheme: 'file' }, { language: 'cpp', scheme: 'file' },
  { language: 'c', scheme: 'vscode-remote' }, { language: 'cpp', scheme: 'vscode-remote' },
];

export function registerHover(context: vscode.ExtensionContext, annotations: Annotations): void {
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(C_SELECTOR, {
      async provideHover(doc, pos) {
        const range = doc.getWordRangeAtPosition(pos, /[A-Za-z_]\w*/);
        if (!range) return undefined;
        const a = await annotations.costs();
        if (!a) return undefined;
        const fn = doc.getText(range);
        if (a.inSelection && !a.inSelection.has(fn)) return undefined; // the views' selection filters the editor
        const row = a.costs.byStageSymbol.get(fn);
        const md = costMarkdown(fn, a.selCosts, a.label, {
          verdict: a.verdict, delta: row ? a.deltas?.get(row.name) ?? null : null, baseLabel: a.baseLabel, selection: a.selection?.label ?? null,
        });
        return md ? new vscode.Hover(new vscode.MarkdownString(md), range) : undefined;
      },
    }),
  );
}
