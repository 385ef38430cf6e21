// Line heat: a background on sampled source lines, stronger where more CPU samples fell (DWARF line
// info of the local build, inlined header code at its call site). Toggled by pktpath.toggleLineHeat.
import * as vscode from 'vscode';
import type { Log } from './log.ts';
import { existsSync } from 'node:fs';
import type { Session } from '../core/session.ts';
import type { SessionStore } from './session-store.ts';
import { computeLineCosts, type LineCosts } from './line-costs.ts';
import { checkBuildId, localBinaryFor, sourcePrefixes } from './local-binary.ts';
import { buildSourceIndex, mapSourcePath } from './source-map.ts';
import { settings } from './settings.ts';
import { findCFunctions } from './c-functions.ts';
import { stageFunctions } from '../core/flamegraph.ts';
import { sessionInSelection } from '../core/selection.ts';
import { buildReport } from '../core/report.ts';
import { fmtNs } from './stage-costs.ts';
import type { EditorSelection } from '../shared/messages.ts';

/** Lines with at least this share of the samples also get their numbers as text after the line. */
const INLINE_MIN_SHARE = 0.02;

const LEVELS = 8;

export class LineHeat implements vscode.Disposable {
  private enabled: boolean;
  private readonly levels: vscode.TextEditorDecorationType[];
  private costs: { session: Session; sel: EditorSelection | null; costs: LineCosts } | null = null;
  private readonly inline: vscode.TextEditorDecorationType;
  private computing: Promise<LineCosts | null> | null = null;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly store: SessionStore, private readonly log: Log) {
    this.enabled = settings().lineHeat;
    this.levels = Array.from({ length: LEVELS }, (_, i) =>
      vscode.window.createTextEditorDecorationType({
        isWholeLine: true,
        backgroundColor: `rgba(255, 96, 32, ${(0.07 + (0.5 * (i + 1)) / LEVELS).toFixed(3)})`,
        overviewRulerColor: `rgba(255, 96, 32, ${(0.3 + (0.7 * (i + 1)) / LEVELS).toFixed(2)})`,
        overviewRulerLane: vscode.OverviewRulerLane.Right,
      }),
    );
    this.inline = vscode.window.createTextEditorDecorationType({
      after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em', fontStyle: 'italic' },
    });
    this.subs.push(
      store.onDidChangeSelection(() => void this.refresh()),
      store.onDidChangeCurrent((c) => {
        if (c?.live) return; // recompute once the recording is saved, not every interval
        this.costs = null;
        void this.refresh();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => void this.refresh()),
    );
  }

  dispose(): void {
    for (const d of [...this.levels, this.inline, ...this.subs]) d.dispose();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  async toggle(on?: boolean): Promise<boolean> {
    this.enabled = on ?? !this.enabled;
    await this.refresh();
    return this.enabled;
  }

  /** The line costs of the current session, within the views' selection when there is one
   * (computed once per session and selection). */
  async lineCosts(): Promise<LineCosts | null> {
    const cur = await this.store.ensureCurrent();
    if (!cur || cur.live) return null;
    const sel = this.store.getSelection();
    if (this.costs?.session === cur.session && this.costs.sel === sel) return this.costs.costs;
    if (this.computing) {
      await this.computing;
      return this.lineCosts();
    }
    const session = sessionInSelection(cur.session, sel);
    this.computing = (async () => {
      try {
        const bins = new Map<string, string | null>();
        for (const f of session.frames) if (!f.kernel && !bins.has(f.module)) bins.set(f.module, await localBinaryFor(f.module, session.target.binary));
        const sources = await vscode.workspace.findFiles('**/*.{c,h,cc,cpp,hpp}', '{**/node_modules/**,**/.git/**}', 20000);
        const index = buildSourceIndex(sources.map((u) => u.fsPath));
        const prefixes = sourcePrefixes();
        const costs = await computeLineCosts(session, {
          localBinary: (m) => bins.get(m) ?? null,
          mapFile: (p) => mapSourcePath(p, prefixes, index, existsSync),
        });
        void checkBuildId(session, this.log);
        if (costs.unresolvedModules.length)
          this.log.appendLine(`line heat: no local build with DWARF for ${costs.unresolvedModules.join(', ')} (set pktpath.localBinary or pktpath.sourceMap)`);
        this.costs = { session: cur.session, sel, costs };
        return costs;
      } catch (e) {
        this.log.appendLine(`line heat failed: ${(e as Error).message}`);
        return null;
      } finally {
        this.computing = null;
      }
    })();
    return this.computing;
  }

  /** 1-based lines from a uprobe stage function's name to its opening brace: where its entry breakpoint sits. */
  private probedEntries(doc: vscode.TextDocument): Map<number, string> {
    const out = new Map<number, string>();
    const session = this.costs?.session;
    if (!session) return out;
    // (the stage functions of the whole session, not only of the selection)
    const probed = new Set(stageFunctions(session.stages).filter((f) => session.stages[f.stage]?.kind === 'uprobe').map((f) => f.symbol));
    if (probed.size === 0) return out;
    for (const f of findCFunctions(doc.getText())) {
      if (!probed.has(f.name)) continue;
      for (let l = f.line; l <= f.bodyEndLine; l++) {
        out.set(l + 1, f.name);
        if (doc.lineAt(l).text.includes('{')) break;
      }
    }
    return out;
  }

  async refresh(): Promise<void> {
    const editors = vscode.window.visibleTextEditors;
    const costs = this.enabled ? await this.lineCosts() : null;
    const cur = this.store.getCurrent();
    // ns per packet of a line's samples: samples / hz over the packets the path handled
    let nsPerSample: number | null = null;
    if (cur && costs && cur.session.sample_hz > 0) {
      const r = buildReport(cur.session);
      const packets = r.stages.length === 0 && r.sampled ? r.sampled.packets : Math.max(0, ...r.stages.map((x) => x.packets));
      if (packets > 0) nsPerSample = 1e9 / cur.session.sample_hz / packets;
    }
    const sel = this.store.getSelection();
    for (const ed of editors) {
      const lines = costs?.files.get(ed.document.uri.fsPath);
      const buckets: vscode.DecorationOptions[][] = this.levels.map(() => []);
      const texts: vscode.DecorationOptions[] = [];
      if (lines && costs) {
        const entries = this.probedEntries(ed.document);
        const max = Math.max(...lines.values());
        for (const [line, n] of lines) {
          if (line < 1 || line > ed.document.lineCount) continue;
          const level = Math.min(LEVELS - 1, Math.floor((n / max) * LEVELS));
          const pct = costs.samples > 0 ? ((100 * n) / costs.samples).toFixed(1) : '0';
          if (costs.samples > 0 && n / costs.samples >= INLINE_MIN_SHARE) {
            const line0 = line - 1;
            texts.push({
              range: new vscode.Range(line0, ed.document.lineAt(line0).text.length, line0, ed.document.lineAt(line0).text.length),
              renderOptions: { after: { contentText: `${pct}% of samples${nsPerSample !== null ? ` · ${fmtNs(n * nsPerSample)}/pkt` : ''}${sel ? ' (selection)' : ''}` } },
            });
          }
          buckets[level]!.push({
            range: new vscode.Range(line - 1, 0, line - 1, 0),
            hoverMessage: new vscode.MarkdownString(
              `Packet Path: **${n}** CPU samples (${pct}% of ${costs.samples}) on this line, including library code it called` +
                (entries.has(line)
                  ? `\n\nThis is the entry of the probed stage \`${entries.get(line)}\`: samples here are mostly the uprobe's own cost (the breakpoint at the entry), not the function's work.`
                  : ''),
            ),
          });
        }
      }
      this.levels.forEach((d, i) => ed.setDecorations(d, buckets[i]!));
      ed.setDecorations(this.inline, texts);
    }
  }
}

export function registerLineHeat(context: vscode.ExtensionContext, heat: LineHeat): void {
  context.subscriptions.push(
    heat,
    vscode.commands.registerCommand('pktpath.toggleLineHeat', async (arg?: unknown) => {
      const on = typeof arg === 'object' && arg !== null && typeof (arg as { on?: unknown }).on === 'boolean' ? (arg as { on: boolean }).on : undefined;
      const enabled = await heat.toggle(on);
      if (enabled && !(await heat.lineCosts()))
        void vscode.window.showInformationMessage(vscode.l10n.t('Packet Path: no CPU samples to show. Open or record a session with sampling on (pktpath.sampleHz > 0).'));
      return enabled;
    }),
  );
}
