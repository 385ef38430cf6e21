// The packet path view: one row per stage in path order. Every latency number that the probes
// inflate carries the probe overhead beside it, and the header says whether the numbers are
// corrected (overhead subtracted) or raw; the user can flip between the two.
// All text goes through d3's .text() (textContent): stage names come from the user's config.

import { select, type Selection } from 'd3-selection';
import { scaleLog, scaleSqrt } from 'd3-scale';
import { max } from 'd3-array';
import type { HistogramBin, StageNumbers, StageView, ViewModel } from '../src/shared/view-types.ts';
import { fmtCount, fmtNs, fmtPct } from './format.ts';
import { STAGE_PALETTE } from './theme.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class StageTable {
  readonly root: HTMLElement;
  private readonly indicator: HTMLDivElement;
  private readonly table: HTMLTableElement;
  private showRaw = false;
  private model: ViewModel | null = null;

  constructor() {
    this.root = document.createElement('div');
    this.root.className = 'pp-pathview';
    this.indicator = document.createElement('div');
    this.indicator.className = 'pp-corrected';
    this.table = document.createElement('table');
    this.table.className = 'pp-stages';
    this.root.append(this.indicator, this.table);
  }

  setModel(m: ViewModel): void {
    this.model = m;
    this.render();
  }

  private render(): void {
    const m = this.model;
    if (!m) return;
    const anyCorrected = m.stages.some((s) => s.corrected);
    const raw = this.showRaw || !anyCorrected;
    this.renderIndicator(m.stages, anyCorrected, raw);
    const pick = (s: StageView): StageNumbers => (raw ? s.raw : s.shown);
    const totalNs = m.stages.reduce((a, s) => a + (pick(s).ns_per_packet ?? 0), 0);

    const t = select(this.table);
    t.selectAll('*').remove();
    const head = t.append('thead').append('tr');
    const cols: Array<[string, string]> = [
      ['Stage', 'pp-name'], ['ns / packet', ''], ['Share of path', ''], ['p50', ''], ['p99', ''], ['p99.9', ''],
      ['Probe overhead', ''], ['Calls', ''], ['Packets', ''], ['Latency histogram (raw, log scale)', 'pp-name'],
    ];
    for (const [label, cls] of cols) head.append('th').attr('class', cls).text(label);
    const body = t.append('tbody');
    for (const s of m.stages) {
      const tr = body.append('tr').attr('class', 'pp-stage-row').attr('data-stage', s.name);
      const name = tr.append('td').attr('class', 'pp-name');
      name.append('span').attr('class', 'pp-swatch').style('background', `var(--pp-stage-${s.index % STAGE_PALETTE})`);
      name.append('span').attr('class', 'pp-stage-name').text(s.name);
      name.append('span').attr('class', 'pp-sub').text(s.spec);
      if (!s.ok) name.append('span').attr('class', 'pp-sub pp-error').text(`not attached: ${s.error ?? 'unknown error'}`);
      if (s.warning) name.append('span').attr('class', 'pp-sub pp-warning').text(s.warning);
      if (s.ok && s.note) name.append('span').attr('class', 'pp-sub pp-note').text(s.note);
      if (s.unmatched > 0) name.append('span').attr('class', 'pp-sub pp-warning').text(`${fmtCount(s.unmatched)} unmatched returns`);
      const n = pick(s);
      const perPacketOverhead = s.probe_overhead_per_packet_ns;
      this.numberCell(tr, n.ns_per_packet, s, raw, s.raw.ns_per_packet, perPacketOverhead, 'ns-per-packet');
      if (s.ci_ns) tr.select('td.pp-ns-per-packet').append('span').attr('class', 'pp-sub').text(`95% CI ${fmtNs(s.ci_ns[0])}–${fmtNs(s.ci_ns[1])}`);
      const share = totalNs > 0 && n.ns_per_packet !== null ? n.ns_per_packet / totalNs : null;
      const sc = tr.append('td').append('div').attr('class', 'pp-share');
      sc.append('span').attr('class', 'pp-share-text').text(fmtPct(share));
      sc.append('div').attr('class', 'pp-sharebar').append('div').style('width', `${Math.round((share ?? 0) * 100)}%`);
      this.numberCell(tr, n.p50_ns, s, raw, s.raw.p50_ns, s.probe_overhead_ns, 'p50');
      this.numberCell(tr, n.p99_ns, s, raw, s.raw.p99_ns, s.probe_overhead_ns, 'p99');
      this.numberCell(tr, n.p999_ns, s, raw, s.raw.p999_ns, s.probe_overhead_ns, 'p999');
      const oc = tr.append('td').attr('class', 'pp-overhead');
      if (s.kind === 'sampled') oc.text('none: sampled, no probes');
      else if (s.probe_overhead_ns === null) oc.text('not measured');
      else {
        oc.text(`${fmtNs(s.probe_overhead_ns)} / call`);
        if (s.probe_overhead_spread_ns !== null) oc.append('span').attr('class', 'pp-sub').text(`± ${fmtNs(s.probe_overhead_spread_ns)}`);
        if (perPacketOverhead !== null) oc.append('span').attr('class', 'pp-sub').text(`${fmtNs(perPacketOverhead)} / packet`);
        if (s.calibration_method) oc.append('span').attr('class', 'pp-sub').text(s.calibration_method);
      }
      tr.append('td').attr('class', 'pp-calls').text(s.kind === 'sampled' ? '–' : fmtCount(s.calls));
      tr.append('td').attr('class', 'pp-packets').text(fmtCount(s.packets));
      const hc = tr.append('td').attr('class', 'pp-name pp-hist');
      if (s.kind === 'sampled') hc.append('span').attr('class', 'pp-note').text('no probes: no per-call latencies');
      else drawHistogram(hc.node()!, s.histogram, s.raw);
    }
  }

  private renderIndicator(stages: StageView[], anyCorrected: boolean, raw: boolean): void {
    const el = select(this.indicator);
    el.selectAll('*').remove();
    const tag = el.append('span').attr('class', 'pp-mode pp-tag');
    if (stages.length > 0 && stages.every((s) => s.kind === 'sampled')) {
      tag.text('sampled');
      el.append('span').attr('class', 'pp-note').text(
        'ns per packet from CPU samples and a packet counter: no probes ran, so there is no probe overhead to subtract. '
        + 'Intervals cover counting noise only.');
      return;
    }
    if (!anyCorrected) {
      tag.text('raw');
      el.append('span').attr('class', 'pp-note').text(
        stages.some((s) => s.probe_overhead_ns !== null)
          ? 'Probe overhead measured but not subtracted: numbers include what the probes add (shown per stage).'
          : 'Probe overhead was not measured: numbers include what the probes add.',
      );
      return;
    }
    const corrections = stages.filter((s) => s.corrected && s.probe_overhead_ns !== null).map((s) => s.probe_overhead_ns!);
    const lo = Math.min(...corrections), hi = Math.max(...corrections);
    const by = lo === hi ? fmtNs(lo) : `${fmtNs(lo)}–${fmtNs(hi)}`;
    tag.text(raw ? 'raw' : `corrected by ${by} per call`);
    el.append('span').attr('class', 'pp-note').text(raw
      ? 'Showing raw numbers: they include what the probes add.'
      : 'Latencies have the measured probe overhead subtracted; each cell shows the raw value beside it.');
    const b = el.append('vscode-button').attr('appearance', 'secondary').attr('class', 'pp-toggle-raw')
      .text(raw ? 'Show corrected' : 'Show raw');
    b.on('click', () => { this.showRaw = !this.showRaw; this.render(); });
  }

  private numberCell(
    tr: Selection<HTMLTableRowElement, unknown, null, undefined>, v: number | null, s: StageView, raw: boolean,
    rawV: number | null, overhead: number | null, cls: string,
  ): void {
    const td = tr.append('td').attr('class', `pp-${cls}`);
    td.append('span').attr('class', 'pp-value').text(fmtNs(v));
    if (overhead === null || v === null) return;
    if (!raw && s.corrected) td.append('span').attr('class', 'pp-sub').text(`raw ${fmtNs(rawV)} − ${fmtNs(overhead)} probe`);
    else td.append('span').attr('class', 'pp-sub').text(`incl. ${fmtNs(overhead)} probe`);
  }
}

function drawHistogram(td: HTMLElement, bins: HistogramBin[], q: StageNumbers): void {
  const W = 180, H = 40, PAD_B = 10;
  const svg = select(td).append((): SVGSVGElement => document.createElementNS(SVG_NS, 'svg') as SVGSVGElement)
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
