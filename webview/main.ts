// The webview entry: reads the model injected into the page and draws, in this order, the verdict
// (the weakest link and what it means), the packet path table, and both flamegraphs; applies the
// snapshots the host posts while recording; tells the host what the user selected (the editor
// filters line heat, CodeLens and hover to it); keeps zoom, search and selection with setState so
// a window reload restores them. Everything numeric was computed on the host.

import { INITIAL_DATA_ID, type EditorSelection, type FromWebview, type SourceFrame, type ToWebview, type ViewModel } from '../src/shared/messages.ts';
import { FlameView, type FlameSelection, type FlameViewState } from './flame-view.ts';
import { StageTable, type StageTableState } from './stage-table.ts';
import { DIFF_LEVELS, onThemeChange, readTheme, SLOT_DIFF, SLOT_NONE, SLOT_PROBE, type Theme } from './theme.ts';
import { fmtCount, fmtNs, fmtPct } from './format.ts';

/** What setState keeps: enough for the host to reopen the session and for the page to restore its views. */
export interface PageState {
  session_key: string;
  base_key: string | null;
  table: StageTableState;
  cpu: FlameViewState;
  latency: FlameViewState;
}

interface VsCodeApi {
  postMessage(msg: FromWebview): void;
  getState(): unknown;
  setState(s: PageState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: FromWebview): void => vscode.postMessage(m);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

class App {
  private model: ViewModel | null = null;
  private recording = false;
  private theme: Theme;
  private readonly header = el('div', 'pp-header');
  private readonly verdict = el('section', 'pp-verdict');
  private readonly notes = el('div', 'pp-notes');
  readonly table: StageTable;
  private readonly legend = el('div', 'pp-legend');
  private readonly latNote = el('div', 'pp-note');
  readonly latency: FlameView;
  readonly cpu: FlameView;
  private restoring = false;

  constructor(root: HTMLElement) {
    this.theme = readTheme();
    const stageName = (i: number): string | null => this.model?.stages[i]?.name ?? null;
    const stageColour = (i: number): number => this.model?.stages[i]?.colour ?? SLOT_NONE;
    const onOpenSource = (frame: SourceFrame): void => post({ type: 'openSource', frame });
    const onViewChange = (): void => this.saveState();
    const stageDetail = (i: number): string[] => {
      const s = this.model?.stages[i];
      if (!s) return [];
      if (s.kind === 'sampled') return ['width: ns/packet from CPU samples (no probes)'];
      if (s.corrected && s.probe_overhead_per_packet_ns !== null) {
        return [`width: corrected ns/packet (raw ${fmtNs(s.raw.ns_per_packet)} − ${fmtNs(s.probe_overhead_per_packet_ns)} probe overhead)`];
      }
      return ['width: raw ns/packet (probe overhead not subtracted)'];
    };
    this.latency = new FlameView(this.theme, {
      label: 'Per-stage latency flamegraph', search: false, small: true, stageName, stageDetail, stageColour, onOpenSource, onViewChange,
      onSelect: (sel) => this.flameSelected(sel, 'latency'),
    });
    this.cpu = new FlameView(this.theme, {
      label: 'CPU flamegraph', search: true, stageName, stageColour, onOpenSource, onViewChange,
      onSelect: (sel) => this.flameSelected(sel, 'cpu'),
    });
    this.table = new StageTable({
      swatch: (slot) => this.theme.swatch[slot] ?? '',
      onSelect: (s) => {
        if (!s) return this.select(null);
        const node = this.latency.findNode(s.name);
        if (node >= 0) this.latency.select(node, false);
        this.select({ stage: s.name, anchor: s.fn, path: [], probe_at: -1, label: `stage ${s.name}` });
      },
      onViewChange,
    });
    this.latency.root.id = 'latency-flame';
    this.cpu.root.id = 'cpu-flame';
    this.verdict.id = 'verdict';
    const pathSection = el('section');
    pathSection.id = 'packet-path';
    pathSection.append(el('h2', '', 'Packet path'), this.table.root);
    const latSection = el('section');
    latSection.append(el('h2', '', 'Per-stage latency (width ∝ ns per packet, split by CPU samples)'), this.latNote, this.latency.root);
    const cpuSection = el('section');
    cpuSection.append(el('h2', '', 'CPU flamegraph (all samples)'), this.legend, this.cpu.root);
    root.append(this.header, this.verdict, this.notes, pathSection, latSection, cpuSection);
    onThemeChange(() => {
      this.theme = readTheme();
      this.latency.setTheme(this.theme);
      this.cpu.setTheme(this.theme);
      if (this.model) {
        this.table.setModel(this.model, false);
        this.renderLegend();
      }
      document.body.dataset.themeApplied = document.body.className;
    });
  }

  private flameSelected(sel: FlameSelection | null, which: 'cpu' | 'latency'): void {
    if (!sel) {
      this.table.highlight(null);
      return this.select(null);
    }
    const m = this.model;
    const stage = sel.stage >= 0 ? m?.stages[sel.stage] ?? null : null;
    this.table.highlight(stage?.name ?? null);
    const last = sel.path.at(-1) ?? '';
    if (which === 'latency' && sel.kinds[0] === 'stage') {
      // A stage node and the functions under it: stacks through the stage's function, then these.
      const st = m?.stages.find((s) => s.fn === sel.path[0] || s.name === sel.path[0]) ?? stage;
      this.select({ stage: st?.name ?? null, anchor: st?.fn ?? sel.path[0] ?? null, path: sel.path.slice(1), probe_at: -1, label: last });
      return;
    }
    this.select({ stage: stage?.name ?? null, anchor: null, path: sel.path, probe_at: sel.kinds.indexOf('probe'), label: last });
  }

  private select(sel: EditorSelection | null): void {
    post({ type: 'select', selection: sel });
    this.saveState();
  }

  setModel(m: ViewModel): void {
    const prev = this.model;
    const fresh = !prev || prev.session_key !== m.session_key || (prev.compare?.base_key ?? null) !== (m.compare?.base_key ?? null);
    this.model = m;
    this.recording = m.recording;
    this.renderHeader();
    this.renderVerdict();
    this.table.setModel(m, fresh);
    this.renderLegend();
    this.latency.setData(m.latencyFlame, !fresh);
    this.cpu.setData(m.cpuFlame, !fresh);
    if (fresh && prev) this.select(null); // the editor's filter belonged to the other session
    this.saveState();
  }

  /** Restores zoom, search, selection and table state saved for this same session. */
  restore(st: unknown): void {
    const s = st as Partial<PageState> | null | undefined;
    const m = this.model;
    if (!s || !m || s.session_key !== m.session_key || (s.base_key ?? null) !== (m.compare?.base_key ?? null)) return;
    this.restoring = true;
    try {
      if (s.table) this.table.restore(s.table);
      if (s.latency) this.latency.restoreState(s.latency);
      if (s.cpu) this.cpu.restoreState(s.cpu);
    } finally {
      this.restoring = false;
    }
    this.saveState();
  }

  private saveState(): void {
    const m = this.model;
    if (!m || this.restoring) return;
    vscode.setState({
      session_key: m.session_key, base_key: m.compare?.base_key ?? null,
      table: this.table.state, cpu: this.cpu.viewState(), latency: this.latency.viewState(),
    });
  }

  setStatus(recording: boolean, message: string | null): void {
    this.recording = recording;
    this.renderHeader(message);
  }

  private renderHeader(message: string | null = null): void {
    const m = this.model;
    if (!m) return;
    const status = el('span', 'pp-status pp-tag', m.compare ? 'compare' : this.recording ? 'recording' : 'recorded');
    status.dataset.recording = String(this.recording);
    const title = el('span', 'pp-title', m.title);
    title.title = m.title;
    const meta = el('span', 'pp-meta', `${m.subtitle} · ${fmtCount(m.samples)} samples at ${m.sample_hz} Hz`
      + (m.lost_samples > 0 ? ` · ${fmtCount(m.lost_samples)} lost` : ''));
    const row = el('div', 'pp-titlerow');
    row.append(title, status);
    this.header.replaceChildren(row, meta);
    if (m.compare) this.header.append(el('div', 'pp-meta pp-baseline', `against ${m.compare.base_title}, ${m.compare.base_created.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`));
    const notes: HTMLElement[] = [];
    if (message) notes.push(el('div', 'pp-note', message));
    if (m.partial) notes.push(el('div', 'pp-warning', `Partial recording: ${m.partial_reason ?? 'ended early'}`));
    if (m.warnings.length) {
      // Warnings stay one click away: the verdict and the table come first.
      const d = el('details', 'pp-warnings');
      d.append(el('summary', 'pp-warning', `${m.warnings.length} warning${m.warnings.length > 1 ? 's' : ''}`));
      for (const w of m.warnings) d.append(el('div', 'pp-warning', w));
      notes.push(d);
    }
    this.notes.replaceChildren(...notes);
  }

  private renderVerdict(): void {
    const m = this.model!;
    const v = m.verdict;
    const head = el('div', 'pp-verdict-head', v.headline);
    const items = v.details.map((d) => el('li', '', d));
    const list = el('ul', 'pp-verdict-details');
    list.append(...items);
    const parts: HTMLElement[] = [head, list];
    if (m.compare) {
      const changed = m.compare.stages.filter((s) => s.significant && s.delta_ns_per_packet !== null);
      const line = changed.length
        ? changed.map((s) => `${s.b_name ?? s.name} ${s.delta_ns_per_packet! > 0 ? '+' : '−'}${fmtNs(Math.abs(s.delta_ns_per_packet!))}/packet` +
            (s.delta_pct !== null ? ` (${s.delta_pct > 0 ? '+' : '−'}${Math.abs(s.delta_pct).toFixed(1)}%)` : '')).join(', ')
        : 'no stage changed beyond noise';
      parts.push(el('div', 'pp-compare-summary', `Against the baseline: ${line}.`));
    }
    if (this.recording && !v.weakest) parts.push(el('div', 'pp-note', 'Recording: the numbers appear after the first interval.'));
    this.verdict.replaceChildren(...parts);
  }

  private renderLegend(): void {
    const m = this.model!;
    const swatch = (colour: string, text: string): HTMLElement => {
      const item = el('span');
      const sw = el('span', 'pp-swatch');
      sw.style.background = colour;
      item.append(sw, document.createTextNode(text));
      return item;
    };
    const th = this.theme;
    if (m.compare) {
      this.legend.replaceChildren(
        swatch(th.swatch[SLOT_DIFF + 2 * DIFF_LEVELS] ?? '', 'grew'), swatch(th.swatch[SLOT_DIFF] ?? '', 'shrank'),
        swatch(th.swatch[SLOT_DIFF + DIFF_LEVELS] ?? '', 'within noise (p ≥ 0.01)'),
        el('span', '', 'deeper colour: larger change; widths are this recording'),
      );
    } else {
      this.legend.replaceChildren(
        ...m.stages.map((s) => swatch(th.swatch[s.colour] ?? '', s.name)),
        swatch(th.swatch[SLOT_PROBE] ?? '', m.probe ? `probe (${fmtPct(m.probe.share)} of samples)` : 'probe'),
        swatch(th.swatch[SLOT_NONE] ?? '', 'outside every stage'),
      );
    }
    this.latNote.textContent = m.probe
      ? `The probes' own cost (int3 trap, uprobe dispatch, BPF programs: ${fmtCount(m.probe.samples)} samples, ${fmtPct(m.probe.share)}) is folded into one "probe" frame in the CPU flamegraph and left out of these widths.`
      : '';
  }
}

function readInitial(): ViewModel | null {
  const s = document.getElementById(INITIAL_DATA_ID)?.textContent ?? 'null';
  return JSON.parse(s) as ViewModel | null;
}

const t0 = performance.now();
const app = new App(document.getElementById('app') ?? document.body);
try {
  const initial = readInitial();
  const saved = vscode.getState(); // before setModel saves the fresh page's state over it
  if (initial) {
    app.setModel(initial);
    app.restore(saved);
  }
} catch (e) {
  post({ type: 'error', message: `could not read the initial model: ${String(e)}` });
}
const firstPaintMs = performance.now() - t0;

window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
  const m = ev.data;
  try {
    switch (m?.type) {
      case 'snapshot': app.setModel(m.model); break;
      case 'status': app.setStatus(m.recording, m.message); break;
      case 'search': app.cpu.setSearch(m.query); break;
      default: break;
    }
  } catch (e) {
    post({ type: 'error', message: `could not apply ${String(m?.type)}: ${String(e)}` });
  }
});

// Handles for the browser tests and the render bench (read-only use).
(window as unknown as { __pktpath: unknown }).__pktpath = { app, firstPaintMs };
post({ type: 'ready' });
