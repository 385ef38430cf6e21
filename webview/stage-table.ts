// The packet path table: one row per stage in path order, narrow enough for half an editor (name
// and kind, ns per packet with its share of the path, p50, p99, and in compare mode the change).
// The spec is the name's tooltip; the rest (probe overhead, calls, packets, p99.9, histogram, notes)
// opens under a row on demand, and "Show raw" flips every number to the uncorrected value.
// All text goes through textContent: stage names come from the user's config.

import { select } from 'd3-selection';
import { scaleLog, scaleSqrt } from 'd3-scale';
import { max } from 'd3-array';
import type { CompareView, HistogramBin, StageNumbers, StageView, ViewModel } from '../src/shared/view-types.ts';
import { fmtCount, fmtNs, fmtPct } from './format.ts';
import { button } from './controls.ts';
import { clampedText } from '../src/shared/display-text.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface StageTableOptions {
  swatch: (slot: number) => string;
  /** A row was clicked (null: the selected row was clicked again). */
  onSelect: (stage: StageView | null) => void;
  onViewChange: () => void;
}

export interface StageTableState {
  raw: boolean;
  open: string[];
}

/** A latency as shown: a corrected 0 is below what the probe resolves, never "0 ns". */
export function fmtLatency(v: number | null, s: StageView, corrected: boolean): string {
  if (v === null) return fmtNs(v);
  if (corrected && (v <= 0 || s.below_resolution) && s.resolution_ns !== null) return `< ${fmtNs(s.resolution_ns)}`;
  return fmtNs(v);
}

export class StageTable {
  readonly root: HTMLElement;
  private readonly indicator: HTMLDivElement;
  private readonly table: HTMLTableElement;
  private showRaw = false;
  private readonly open = new Set<string>();
  private selected: string | null = null;
  private model: ViewModel | null = null;

  constructor(private readonly opts: StageTableOptions) {
    this.root = el('div', 'pp-pathview');
    this.indicator = el('div', 'pp-corrected');
    this.table = el('table', 'pp-stages');
    this.root.append(this.indicator, this.table);
  }

  setModel(m: ViewModel, newSession: boolean): void {
    if (newSession) {
      this.open.clear();
      this.selected = null;
    }
    this.model = m;
    this.render();
  }

  get state(): StageTableState {
    return { raw: this.showRaw, open: [...this.open] };
  }

  restore(st: StageTableState): void {
    this.showRaw = st.raw;
    this.open.clear();
    for (const n of st.open) this.open.add(n);
    this.render();
  }

  /** Highlights a stage's row (from a selection elsewhere); null clears. */
  highlight(name: string | null): void {
    this.selected = name;
    for (const tr of this.table.querySelectorAll<HTMLTableRowElement>('tr.pp-stage-row')) {
      tr.classList.toggle('pp-selected', tr.dataset.stage === name);
    }
  }

  private render(): void {
    const m = this.model;
    if (!m) return;
    const anyCorrected = m.stages.some((s) => s.corrected);
    const raw = this.showRaw || !anyCorrected;
    this.renderIndicator(m.stages, anyCorrected, raw);
    const pick = (s: StageView): StageNumbers => (raw ? s.raw : s.shown);
    // a sampled poll stage's ns/packet includes its idle polling: no part of the path's busy time
    const totalNs = m.stages.reduce((a, s) => a + (s.idle_inclusive ? 0 : pick(s).ns_per_packet ?? 0), 0);
    const cmp = m.compare;
    const head = el('tr');
    const cols: Array<[string, string, string]> = [
      ['Stage', 'pp-name', 'stage name and kind; hover for its probe spec'],
      ['ns / packet', 'pp-num pp-col-ns', raw ? 'raw: includes the probes\' own cost' : 'time per packet, probe cost subtracted where measured'],
      ['p50', 'pp-num pp-col-q', 'median latency per call'],
      ['p99', 'pp-num pp-col-q', '99th percentile latency per call'],
    ];
    if (cmp) cols.push([`vs baseline`, 'pp-num pp-col-delta', `change of ns/packet against ${cmp.base_title}; bold: beyond noise (p < ${cmp.alpha})`]);
    for (const [label, cls, title] of cols) {
      const th = el('th', cls, label);
      th.title = title;
      head.append(th);
    }
    const thead = el('thead');
    thead.append(head);
    const body = el('tbody');
    const weakest = m.verdict.weakest;
    for (const s of m.stages) {
      const tr = el('tr', 'pp-stage-row');
      tr.dataset.stage = s.name;
      if (s.name === weakest) tr.classList.add('pp-weakest');
      if (s.name === this.selected) tr.classList.add('pp-selected');
      tr.addEventListener('click', (e) => {
        if ((e.target as HTMLElement).closest('.pp-disclose')) return;
        const again = this.selected === s.name;
        this.highlight(again ? null : s.name);
        this.opts.onSelect(again ? null : s);
      });
      // name cell: disclosure, swatch, name, kind; the spec in the tooltip
      const name = el('td', 'pp-name');
      const open = this.open.has(s.name);
      const disc = el('button', 'pp-disclose', open ? '▾' : '▸');
      disc.type = 'button';
      disc.title = open ? 'Hide details' : 'Show details: probe overhead, calls, packets, histogram';
      disc.setAttribute('aria-expanded', String(open));
      disc.addEventListener('click', () => {
        if (this.open.has(s.name)) this.open.delete(s.name);
        else this.open.add(s.name);
        this.render();
        this.opts.onViewChange();
      });
      const sw = el('span', 'pp-swatch');
      sw.style.background = this.opts.swatch(s.colour);
      const label = el('span', 'pp-stage-name', clampedText(s.name, 80));
      label.title = `${clampedText(s.name)}\n${clampedText(s.spec)}`;
      const kind = el('span', 'pp-kind', s.poll ? `${s.kind} · poll` : s.kind);
      if (s.name === weakest) kind.append(el('span', 'pp-weak-tag', 'weakest'));
      name.append(disc, sw, label, kind);
      if (s.idle_inclusive) {
        const idle = el('span', 'pp-sub pp-note', 'includes idle polling: not ranked');
        idle.title = 'CPU samples cannot tell a poll\'s empty calls from its busy ones; exact mode on this stage splits busy from idle';
        name.append(idle);
      }
      if (!s.ok) name.append(el('span', 'pp-sub pp-error', 'not attached'));
      else if (s.warning) name.append(el('span', 'pp-sub pp-warning', '⚠ probe site warning (details)'));
      tr.append(name);
      const n = pick(s);
      const corrected = !raw && s.corrected;
      const share = totalNs > 0 && n.ns_per_packet !== null && !s.idle_inclusive ? n.ns_per_packet / totalNs : null;
      const nsCell = el('td', 'pp-num pp-ns-per-packet');
      nsCell.append(el('span', 'pp-value', fmtLatency(n.ns_per_packet, s, corrected)));
      const bar = el('div', 'pp-sharebar');
      const fill = el('div');
      fill.style.width = `${Math.round((share ?? 0) * 100)}%`;
      bar.append(fill);
      bar.title = s.idle_inclusive ? 'idle polling included: no share of the path' : `${fmtPct(share)} of the path`;
      nsCell.append(el('span', 'pp-share-text pp-sub', fmtPct(share)), bar);
      if (s.ci_ns) nsCell.title = `95% interval ${fmtNs(s.ci_ns[0])}–${fmtNs(s.ci_ns[1])} (counting noise)`;
      else if (corrected && s.probe_overhead_per_packet_ns !== null) nsCell.title = `raw ${fmtNs(s.raw.ns_per_packet)} − ${fmtNs(s.probe_overhead_per_packet_ns)} probe per packet`;
      tr.append(nsCell);
      for (const [v, r, cls] of [[n.p50_ns, s.raw.p50_ns, 'pp-p50'], [n.p99_ns, s.raw.p99_ns, 'pp-p99']] as const) {
        const td = el('td', `pp-num ${cls}`, s.kind === 'sampled' ? '–' : fmtLatency(v, s, corrected));
        if (corrected && s.probe_overhead_ns !== null) td.title = `raw ${fmtNs(r)} − ${fmtNs(s.probe_overhead_ns)} probe`;
        tr.append(td);
      }
      if (cmp) tr.append(deltaCell(cmp, s.name));
      body.append(tr);
      if (open) body.append(this.detailRow(s, pick(s), raw, cols.length));
    }
    this.table.replaceChildren(thead, body);
  }

  private detailRow(s: StageView, n: StageNumbers, raw: boolean, span: number): HTMLTableRowElement {
    const tr = el('tr', 'pp-detail-row');
    tr.dataset.stage = s.name;
    const td = el('td');
    td.colSpan = span;
    const dl = el('dl', 'pp-details');
    const add = (k: string, v: string, cls = ''): void => {
      dl.append(el('dt', '', k), el('dd', cls, v));
    };
    add('spec', s.spec, 'pp-mono');
    if (!s.ok) add('not attached', s.error ?? 'unknown error', 'pp-error');
    if (s.parent) add('runs inside', s.parent);
    add('p99.9 · mean', `${fmtLatency(n.p999_ns, s, !raw && s.corrected)} · ${fmtLatency(n.mean_ns, s, !raw && s.corrected)}`);
    if (s.kind === 'sampled') add('probe overhead', 'none: sampled, no probes');
    else if (s.probe_overhead_ns === null) add('probe overhead', 'not measured');
    else {
      add('probe overhead', `${fmtNs(s.probe_overhead_ns)} / call ± ${fmtNs(s.probe_overhead_spread_ns)}` +
        (s.probe_overhead_per_packet_ns !== null ? ` · ${fmtNs(s.probe_overhead_per_packet_ns)} / packet` : '') +
        (s.corrected ? (raw ? ' (not subtracted: showing raw)' : ' (subtracted)') : ' (not subtracted)'));
      if (s.calibration_method) add('calibration', s.calibration_method);
    }
    if (s.resolution_ns !== null && s.corrected) add('resolution', `${fmtNs(s.resolution_ns)}: corrected values below it read "< ${fmtNs(s.resolution_ns)}"`);
    add('calls · packets', `${s.kind === 'sampled' ? '–' : fmtCount(s.calls)} · ${fmtCount(s.packets)}${s.unmatched > 0 ? ` · ${fmtCount(s.unmatched)} unmatched returns` : ''}`);
    if (s.calls_per_packet !== null) add('rte_graph calls per packet', `${s.calls_per_packet >= 10 ? s.calls_per_packet.toFixed(1) : s.calls_per_packet.toPrecision(3)} (the node's own counters)`);
    if (s.samples > 0) add('CPU samples', fmtCount(s.samples));
    if (s.warning) add('warning', s.warning, 'pp-warning');
    if (s.note) add('note', s.note, 'pp-note');
    const hist = el('dd', 'pp-hist');
    if (s.kind === 'sampled') hist.textContent = 'no probes: no per-call latencies';
    else drawHistogram(hist, s.histogram, s.raw);
    dl.append(el('dt', '', 'latency (raw, log scale)'), hist);
    td.append(dl);
    tr.append(td);
    return tr;
  }

  private renderIndicator(stages: StageView[], anyCorrected: boolean, raw: boolean): void {
    const tag = el('span', 'pp-mode pp-tag');
    const note = el('span', 'pp-note');
    const parts: HTMLElement[] = [tag, note];
    if (stages.length > 0 && stages.every((s) => s.kind === 'sampled')) {
      tag.textContent = 'sampled';
      note.textContent = 'ns per packet from CPU samples and a packet counter: no probes, nothing to subtract. Intervals cover counting noise only.';
    } else if (!anyCorrected) {
      tag.textContent = 'raw';
      note.textContent = stages.some((s) => s.probe_overhead_ns !== null)
        ? 'Probe overhead measured but not subtracted: numbers include what the probes add.'
        : 'Probe overhead was not measured: numbers include what the probes add.';
    } else {
      const corrections = stages.filter((s) => s.corrected && s.probe_overhead_ns !== null).map((s) => s.probe_overhead_ns!);
      const lo = Math.min(...corrections), hi = Math.max(...corrections);
      const by = lo === hi ? fmtNs(lo) : `${fmtNs(lo)}–${fmtNs(hi)}`;
      tag.textContent = raw ? 'raw' : `corrected by ${by} per call`;
      note.textContent = raw ? 'Raw numbers: they include what the probes add.' : 'Probe cost subtracted; hover a number for its raw value.';
      const b = button(raw ? 'Show corrected' : 'Show raw', 'pp-toggle-raw');
      b.addEventListener('click', () => {
        this.showRaw = !this.showRaw;
        this.render();
        this.opts.onViewChange();
      });
      parts.push(b);
    }
    this.indicator.replaceChildren(...parts);
  }
}

function deltaCell(cmp: CompareView, name: string): HTMLTableCellElement {
  const x = cmp.stages.find((d) => (d.b_name ?? d.name) === name);
  const td = el('td', 'pp-num pp-delta');
  if (!x || x.delta_ns_per_packet === null) {
    td.textContent = x ? 'not in both' : '–';
    return td;
  }
  const sign = x.delta_ns_per_packet >= 0 ? '+' : '−';
  const pct = x.delta_pct === null ? '' : ` (${sign}${Math.abs(x.delta_pct).toFixed(1)}%)`;
  td.append(el('span', 'pp-value', `${sign}${fmtNs(Math.abs(x.delta_ns_per_packet))}${pct}`));
  td.dataset.significant = String(x.significant);
  td.classList.add(x.significant ? (x.delta_ns_per_packet > 0 ? 'pp-grew' : 'pp-shrank') : 'pp-within');
  td.append(el('span', 'pp-sub', x.significant ? 'beyond noise' : 'within noise'));
  td.title = `baseline ${fmtNs(x.a_ns_per_packet)} → ${fmtNs(x.b_ns_per_packet)}${x.p_value !== null ? `, p = ${x.p_value.toPrecision(2)}` : ', not tested'}`;
  return td;
}

function drawHistogram(host: HTMLElement, bins: HistogramBin[], q: StageNumbers): void {
  const W = 180, H = 40, PAD_B = 10;
  const svg = select(host).append((): SVGSVGElement => document.createElementNS(SVG_NS, 'svg') as SVGSVGElement)
    .attr('width', W).attr('height', H).attr('role', 'img');
  if (bins.length === 0) {
    svg.attr('aria-label', 'no latencies recorded');
    svg.append('text').attr('class', 'axis').attr('x', 0).attr('y', H / 2).text('no calls');
    return;
  }
  const lo = Math.max(1, bins[0]!.lo_ns), hi = Math.max(lo * 2, bins[bins.length - 1]!.hi_ns);
  const x = scaleLog().domain([lo, hi]).range([0, W]).clamp(true);
  // Bars are count per unit of log(ns) so wide buckets do not look taller than they are.
  const density = bins.map((b) => b.count / Math.max(1e-9, Math.log(Math.max(b.hi_ns, b.lo_ns + 1) / Math.max(1, b.lo_ns))));
  const y = scaleSqrt().domain([0, max(density) ?? 1]).range([0, H - PAD_B]);
  svg.attr('aria-label', `latency histogram from ${fmtNs(lo)} to ${fmtNs(hi)}`);
  svg.selectAll('rect').data(bins).join('rect').attr('class', 'bar')
    .attr('x', (b) => x(Math.max(1, b.lo_ns)))
    .attr('width', (b) => Math.max(1, x(Math.max(b.hi_ns, b.lo_ns + 1)) - x(Math.max(1, b.lo_ns))))
    .attr('y', (_b, i) => H - PAD_B - y(density[i]!))
    .attr('height', (_b, i) => y(density[i]!));
  const marks: Array<[string, number | null]> = [['p50', q.p50_ns], ['p99', q.p99_ns], ['p99.9', q.p999_ns]];
  for (const [label, v] of marks) {
    if (v === null || !(v > 0)) continue;
    const mx = x(v);
    svg.append('line').attr('class', 'mark').attr('x1', mx).attr('x2', mx).attr('y1', 0).attr('y2', H - PAD_B)
      .append('title').text(`${label} ${fmtNs(v)}`);
  }
  svg.append('text').attr('class', 'axis').attr('x', 0).attr('y', H - 1).text(fmtNs(lo));
  svg.append('text').attr('class', 'axis').attr('x', W).attr('y', H - 1).attr('text-anchor', 'end').text(fmtNs(hi));
}
