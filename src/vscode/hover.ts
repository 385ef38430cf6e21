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
        const md = costMarkdown(doc.getText(range), a.costs, a.label);
        return md ? new vscode.Hover(new vscode.MarkdownString(md), range) : undefined;
      },
    }),
  );
}
