// The verdict in the status bar: the weakest link of the current session and the path's rate on one
// core; click to open the views. Hidden while a recording has its own item, and with no session.
import * as vscode from 'vscode';
import type { Annotations } from './annotations.ts';
import { verdictDetails, verdictHeadline, verdictStatus } from '../core/verdict.ts';

export class VerdictStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly sub: vscode.Disposable;

  constructor(private readonly annotations: Annotations) {
    this.item = vscode.window.createStatusBarItem('pktpath.verdict', vscode.StatusBarAlignment.Left, 99);
    this.item.name = vscode.l10n.t('Packet Path verdict');
    this.item.command = 'pktpath.showViews';
    this.sub = annotations.onDidChange(() => void this.update());
    void this.update();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }

  /** What it shows ('' when hidden): for the tests. */
  get text(): string {
    return this.shown ? this.item.text : '';
  }

  private shown = false;
  private seq = 0;

  async update(): Promise<void> {
    const seq = ++this.seq;
    const a = await this.annotations.costs();
    if (seq !== this.seq) return; // a newer update started while this one waited
    const live = this.annotations.store.getCurrent()?.live ?? false;
    if (!a || live) {
      this.shown = false;
      this.item.hide();
      return;
    }
    this.item.text = `$(flame) ${verdictStatus(a.verdict)}`;
    const md = new vscode.MarkdownString(`**${verdictHeadline(a.verdict)}**\n\n${verdictDetails(a.verdict).map((d) => `- ${d}`).join('\n')}\n\n_${a.label}_`);
    this.item.tooltip = md;
    this.shown = true;
    this.item.show();
  }
}
