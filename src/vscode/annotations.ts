// The costs of the current session, computed once per session and shared by hover, CodeLens and the
// status bar: per function, the verdict, the deltas against the comparison (a chosen session or the
// baseline) and what the views' selection covers. Fires when any of those change.
import * as vscode from 'vscode';
import type { SessionStore } from './session-store.ts';
import { functionCosts, type FunctionCosts } from './stage-costs.ts';
import type { Session } from '../core/session.ts';
import { verdictOf, type Verdict } from '../core/verdict.ts';
import { diffSessions, type StageDiff } from '../core/diff.ts';
import { functionsInSelection, sessionInSelection } from '../core/selection.ts';
import type { EditorSelection } from '../shared/messages.ts';

export interface AnnotationData {
  session: Session;
  costs: FunctionCosts;
  verdict: Verdict;
  label: string;
  /** Per stage name (B's), the change against the comparison; null without one. */
  deltas: Map<string, StageDiff> | null;
  baseLabel: string | null;
  selection: EditorSelection | null;
  /** Functions on the selection's stacks; null: no selection (everything shows). */
  inSelection: Set<string> | null;
  /** Sample counts within the selection (costs when there is none). */
  selCosts: FunctionCosts;
}

export class Annotations implements vscode.Disposable {
  private cached: { session: Session; costs: FunctionCosts; verdict: Verdict } | null = null;
  private cachedDiff: { a: Session; b: Session; deltas: Map<string, StageDiff> } | null = null;
  private cachedSel: { session: Session; sel: EditorSelection; costs: FunctionCosts; fns: Set<string> } | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subs: vscode.Disposable[];

  constructor(readonly store: SessionStore) {
    const fire = (): void => this.changed.fire();
    this.subs = [store.onDidChangeCurrent(fire), store.onDidChangeSelection(fire), store.onDidChangeComparison(fire)];
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    this.changed.dispose();
  }

  /** Costs of the current session (the newest of the workspace when none was chosen). */
  async costs(): Promise<AnnotationData | null> {
    const cur = await this.store.ensureCurrent();
    if (!cur) return null;
    if (this.cached?.session !== cur.session) {
      const costs = functionCosts(cur.session);
      this.cached = { session: cur.session, costs, verdict: verdictOf(costs.report) };
    }
    const label = cur.uri ? vscode.workspace.asRelativePath(cur.uri) : 'live recording';
    let deltas: Map<string, StageDiff> | null = null;
    let baseLabel: string | null = null;
    const cmp = cur.live ? null : await this.store.comparison();
    if (cmp) {
      if (this.cachedDiff?.a !== cmp.session || this.cachedDiff.b !== cur.session) {
        const d = diffSessions(cmp.session, cur.session);
        this.cachedDiff = { a: cmp.session, b: cur.session, deltas: new Map(d.stages.map((x) => [x.b_name ?? x.name, x] as const)) };
      }
      deltas = this.cachedDiff.deltas;
      baseLabel = `${cmp.kind === 'baseline' ? 'baseline ' : ''}${vscode.workspace.asRelativePath(cmp.uri)}`;
    }
    const selection = this.store.getSelection();
    if (selection && (this.cachedSel?.session !== cur.session || this.cachedSel.sel !== selection)) {
      this.cachedSel = {
        session: cur.session, sel: selection,
        costs: functionCosts(sessionInSelection(cur.session, selection)), fns: functionsInSelection(cur.session, selection),
      };
    }
    return {
      ...this.cached, label, deltas, baseLabel, selection,
      inSelection: selection ? this.cachedSel!.fns : null,
      selCosts: selection ? this.cachedSel!.costs : this.cached.costs,
    };
  }
}
