// The "Sessions" view of the Packet Path container: one item per saved recording, newest first.
import * as vscode from 'vscode';
import type { SessionEntry, SessionStore } from './session-store.ts';
import { fmtNs, functionCosts, processLabel } from './stage-costs.ts';

export class SessionItem extends vscode.TreeItem {
  constructor(readonly entry: SessionEntry) {
    const s = entry.session;
    super(s ? `${processLabel(s)} @ ${s.target.host}` : entry.uri.path.split('/').pop() ?? 'session');
    this.resourceUri = entry.uri;
    if (!s) {
      this.description = 'unreadable';
      this.tooltip = entry.error ?? undefined;
      this.iconPath = new vscode.ThemeIcon('warning');
      return;
    }
    let slowest = '';
    try {
      const c = functionCosts(s);
      if (c.slowest) slowest = ` · slowest: ${c.slowest.name} ${fmtNs(c.slowest.ns_per_packet)}/pkt`;
    } catch (e) {
      slowest = ` · report failed: ${(e as Error).message}`;
    }
    const date = new Date(s.created);
    const when = Number.isNaN(date.getTime()) ? s.created : date.toLocaleString();
    this.description = `${when} · ${s.duration_s.toFixed(1)} s${slowest}`;
    this.tooltip = new vscode.MarkdownString(
      [`**${processLabel(s)}** on \`${s.target.host}\``, `${when}, ${s.duration_s.toFixed(1)} s${s.partial ? ` (partial: ${s.partial_reason ?? 'ended early'})` : ''}`, slowest.replace(/^ · /, ''), entry.uri.fsPath].filter(Boolean).join('\n\n'),
    );
    this.contextValue = 'session';
    this.iconPath = new vscode.ThemeIcon(s.partial ? 'warning' : 'pulse');
    this.command = { command: 'pktpath.openSession', title: 'Open Session', arguments: [{ uri: entry.uri }] };
  }
}

export class SessionsTree implements vscode.TreeDataProvider<SessionItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly store: SessionStore) {
    this.sub = store.onDidChangeList(() => this.changed.fire());
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }

  getTreeItem(e: SessionItem): vscode.TreeItem {
    return e;
  }

  async getChildren(parent?: SessionItem): Promise<SessionItem[]> {
    if (parent) return [];
    return (await this.store.list()).map((e) => new SessionItem(e));
  }
}
