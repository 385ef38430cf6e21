// The costs of the current session, computed once per session and shared by hover, CodeLens and the
// status of line heat. Fires when the current session changes.
import * as vscode from 'vscode';
import type { SessionStore } from './session-store.ts';
import { functionCosts, type FunctionCosts } from './stage-costs.ts';
import type { Session } from '../core/session.ts';

export class Annotations implements vscode.Disposable {
  private cached: { session: Session; costs: FunctionCosts } | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(readonly store: SessionStore) {
    this.sub = store.onDidChangeCurrent(() => this.changed.fire());
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }

  /** Costs of the current session (the newest of the workspace when none was chosen). */
  async costs(): Promise<{ session: Session; costs: FunctionCosts; label: string } | null> {
    const cur = await this.store.ensureCurrent();
    if (!cur) return null;
    if (this.cached?.session !== cur.session) this.cached = { session: cur.session, costs: functionCosts(cur.session) };
    const label = cur.uri ? vscode.workspace.asRelativePath(cur.uri) : 'live recording';
    return { ...this.cached, label };
  }
}
