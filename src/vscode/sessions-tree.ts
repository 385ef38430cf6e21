// The "Sessions" view of the Packet Path container: one item per saved recording, newest first.
import * as vscode from 'vscode';
import type { SessionEntry, SessionStore } from './session-store.ts';
import { functionCosts, processLabel } from './stage-costs.ts';
import { fmtVerdictNs, verdictOf } from '../core/verdict.ts';

export class SessionItem extends vscode.TreeItem {
  constructor(readonly entry: SessionEntry, baseline = false) {
    const s = entry.session;
    super(s ? `${processLabel(s)} @ ${s.target.host}` : entry.uri.path.split('/').pop() ?? 'session');
    this.resourceUri = entry.uri;
    if (!s) {
      this.description = 'unreadable';
      this.tooltip = entry.error ?? undefined;
      this.iconPath = new vscode.ThemeIcon('warning');
      return;
    }
    let weakest = '';
    try {
      const w = verdictOf(functionCosts(s).report).weakest;
      if (w) weakest = ` · weakest: ${w.name} ${fmtVerdictNs(w.ns_per_packet)}/pkt`;
    } catch (e) {
      weakest = ` · report failed: ${(e as Error).message}`;
    }
    const date = new Date(s.created);
    const when = Number.isNaN(date.getTime()) ? s.created : date.toLocaleString();
    const file = entry.uri.path.split('/').pop() ?? '';
    // Host, process, time, duration and weakest link: what tells two recordings apart at a glance.
    this.description = `${baseline ? '★ baseline · ' : ''}${when} · ${s.duration_s.toFixed(1)} s${weakest}`;
    const cmd = s.target.command ? `\`${s.target.command.slice(0, 200).replace(/`/g, "'")}\`` : '';
    this.tooltip = new vscode.MarkdownString(
      [`**${processLabel(s)}** on \`${s.target.host}\`${baseline ? ' — the baseline' : ''}`, cmd,
        `${when}, ${s.duration_s.toFixed(1)} s, ${s.stages.length || s.sampled?.stages.length || 0} stages${s.partial ? ` (partial: ${s.partial_reason ?? 'ended early'})` : ''}`,
        weakest.replace(/^ · /, ''), file].filter(Boolean).join('\n\n'),
    );
    this.contextValue = baseline ? 'session.baseline' : 'session';
    this.iconPath = new vscode.ThemeIcon(s.partial ? 'warning' : baseline ? 'star-full' : 'pulse');
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
    const base = this.store.baselineUri?.toString();
    return (await this.store.list()).map((e) => new SessionItem(e, e.uri.toString() === base));
  }
}
