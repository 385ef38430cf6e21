// The webview entry: reads the model injected into the page, draws the packet path view and both
// flamegraphs, and applies snapshots the host posts while recording. Everything numeric was
// computed on the host (src/core/view-model.ts); this file only draws and reports clicks.

import { provideVSCodeDesignSystem, vsCodeButton, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import { INITIAL_DATA_ID, type FromWebview, type ToWebview, type ViewModel } from '../src/shared/messages.ts';
import { FlameView } from './flame-view.ts';
import { StageTable } from './stage-table.ts';
import { onThemeChange, readTheme, STAGE_PALETTE } from './theme.ts';
import { fmtCount, fmtNs } from './format.ts';

interface VsCodeApi {
  postMessage(msg: FromWebview): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

// No vscode-tag/badge: their template sets a style attribute, which the strict CSP refuses.
provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextField());

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
  private readonly header = el('div', 'pp-header');
  private readonly notes = el('div');
  private readonly table = new StageTable();
  private readonly legend = el('div', 'pp-legend');
  readonly latency: FlameView;
  readonly cpu: FlameView;

  constructor(root: HTMLElement) {
    let theme = readTheme();
    const stageName = (i: number): string | null => this.model?.stages[i]?.name ?? null;
    const onOpenSource = (frame: import('../src/shared/messages.ts').SourceFrame): void => post({ type: 'openSource', frame });
    const stageDetail = (i: number): string[] => {
      const s = this.model?.stages[i];
      if (!s) return [];
      if (s.kind === 'sampled') return ['width: ns/packet from CPU samples (no probes)'];
      if (s.corrected && s.probe_overhead_per_packet_ns !== null) {
        return [`width: corrected ns/packet (raw ${fmtNs(s.raw.ns_per_packet)} − ${fmtNs(s.probe_overhead_per_packet_ns)} probe overhead)`];
      }
      return ['width: raw ns/packet (probe overhead not subtracted)'];
    };
    this.latency = new FlameView(theme, {
      label: 'Per-stage latency flamegraph', search: false, small: true, stageName, stageDetail, onOpenSource,
    });
    this.cpu = new FlameView(theme, { label: 'CPU flamegraph', search: true, stageName, onOpenSource });
    this.latency.root.id = 'latency-flame';
    this.cpu.root.id = 'cpu-flame';
    const pathSection = el('section');
    pathSection.id = 'packet-path';
    pathSection.append(el('h2', '', 'Packet path'), this.table.root);
    const latSection = el('section');
    latSection.append(el('h2', '', 'Per-stage latency (width ∝ ns per packet, split by CPU samples)'), this.latency.root);
    const cpuSection = el('section');
    cpuSection.append(el('h2', '', 'CPU flamegraph (all samples, coloured by stage)'), this.legend, this.cpu.root);
    root.append(this.header, this.notes, pathSection, latSection, cpuSection);
    onThemeChange(() => {
      theme = readTheme();
      this.latency.setTheme(theme);
      this.cpu.setTheme(theme);
    });
  }

  setModel(m: ViewModel): void {
    this.model = m;
    this.recording = m.recording;
    this.renderHeader();
    this.table.setModel(m);
    this.renderLegend();
    this.latency.setData(m.latencyFlame);
    this.cpu.setData(m.cpuFlame);
  }

  setStatus(recording: boolean, message: string | null): void {
    this.recording = recording;
    this.renderHeader(message);
  }

  private renderHeader(message: string | null = null): void {
    const m = this.model;
    if (!m) return;
    const status = el('span', 'pp-status', this.recording ? 'recording' : 'recorded');
    status.dataset.recording = String(this.recording);
    this.header.replaceChildren(
      el('span', 'pp-title', m.title), status,
      el('span', 'pp-meta', `${m.duration_s.toFixed(1)} s · ${fmtCount(m.samples)} samples at ${m.sample_hz} Hz`
        + (m.lost_samples > 0 ? ` · ${fmtCount(m.lost_samples)} lost` : '')),
    );
    const notes: HTMLElement[] = [];
    if (message) notes.push(el('div', 'pp-note', message));
    if (m.partial) notes.push(el('div', 'pp-warning', `Partial recording: ${m.partial_reason ?? 'ended early'}`));
    for (const w of m.warnings) notes.push(el('div', 'pp-warning', w));
    this.notes.replaceChildren(...notes);
  }

  private renderLegend(): void {
    const m = this.model!;
    const items = m.stages.map((s) => {
      const item = el('span');
      const sw = el('span', 'pp-swatch');
      sw.style.background = `var(--pp-stage-${s.index % STAGE_PALETTE})`;
      item.append(sw, document.createTextNode(s.name));
      return item;
    });
    const none = el('span');
    const sw = el('span', 'pp-swatch');
    sw.style.background = 'var(--pp-stage-none)';
    none.append(sw, document.createTextNode('outside every stage'));
    this.legend.replaceChildren(...items, none);
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
  if (initial) app.setModel(initial);
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
