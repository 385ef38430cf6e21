// Derived numbers of a session: the per-stage table that `pktpath report` prints and `--json`
// emits (its names are a contract read by scripts: keep them), and the text form of it.
//
// Correction: where the tracer calibrated a stage's site, its latencies are the
// histogram shifted down by the calibration's inner_ns (the time the probes add to the stage's own
// measured interval), clamped at 0. inner_ns is the calibration's MEDIAN probe cost, right for
// quantiles; a mean contains the MEAN probe cost (the slow tail of the probes' own time, e.g. an
// interrupt during a trap), so mean and ns per packet subtract inner_mean_ns where the calibration
// gives one (the histogram's clamp at 0 still applies), else inner_ns. The raw values stay beside
// them as raw_*. Without a calibration the raw values are reported, the stage says corrected:false
// and probe_overhead_ns is null with a note: nothing is guessed.
//
// Stage tree: a stage whose calls ran inside another stage (the tracer's `inside` counts) is that
// stage's child (`parent`). The parent's corrected time also drops what its children's probes cost
// it (their calibration's outer_ns per call made inside it), and its self_ns_per_packet drops the
// children's own corrected time. Poll functions (packets from a return value or argument, some
// calls with none) keep their idle calls apart: busy_calls/busy_ns_per_packet vs idle_calls/idle_ns.
// share, slowest and total_ns_per_packet use each stage's busy own time (verdict.ts,
// exactStageCost), so each nanosecond counts once and idle polling is never the weakest link.
//
// Resolution: a stage whose corrected cost per call is within RESOLUTION_FACTOR times the probe
// cost subtracted from it is below_resolution: the subtraction's error (tens of ns and more, see
// docs/measurement.md) is of the size of what is left. It is never the weakest link; sampled mode
// (no probes) is what measures it.
import { Histogram } from './histogram.ts';
import type { Calibration, Session, SessionStage } from './session.ts';
import { sampledReport, type SampledReport } from './sampled.ts';
import { exactStageCost } from './verdict.ts';

/** A corrected cost per call at most this many times the probe cost per call is below resolution. */
export const RESOLUTION_FACTOR = 3;

export interface StageRow {
  id: number;
  name: string;
  kind: string;
  spec: string;
  packets_from: string;
  attached: boolean;
  attach_error: string | null;
  calls: number;
  /** Calls that carried a latency: all for entry/return pairs; point events need an earlier one. */
  timed: number;
  /** How latencies are formed: "call" (entry→return) or since the previous event of the same skb/cpu/thread. */
  latency_key: string | null;
  packets: number;
  unmatched: number;
  /** Corrected when `corrected`, else raw; null when the stage saw no calls. */
  p50_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
  mean_ns: number | null;
  ns_per_packet: number | null;
  raw_p50_ns: number | null;
  raw_p99_ns: number | null;
  raw_p999_ns: number | null;
  raw_mean_ns: number | null;
  raw_ns_per_packet: number | null;
  /** What was subtracted per call from the mean and ns per packet (calibration inner_mean_ns, or
   * inner_ns when the calibration has no mean), null when the site was not calibrated. */
  probe_overhead_ns: number | null;
  probe_overhead_spread_ns: number | null;
  /** What was subtracted from the quantiles (calibration inner_ns, the median probe cost). */
  probe_overhead_median_ns: number | null;
  /** What one probed call of this stage costs its caller in all (calibration outer_ns). */
  probe_outer_ns: number | null;
  calibration_class: string | null;
  corrected: boolean;
  share: number | null;
  packets_per_call: number | null;
  calls_per_s: number | null;
  packets_per_s: number | null;
  single_step: boolean;
  first_insn: string | null;
  /** Bytes after the function's start where the entry timestamp was taken (> 0: moved past a single-stepped first
   * instruction); null when not a uprobe stage or not said by the tracer. */
  entry_offset: number | null;
  entry_insn: string | null;
  /** The instructions before entry_offset, which ran untimed ("mov; test"). */
  untimed_prefix: string | null;
  warning: string | null;
  note: string | null;
  /** The enclosing stage most of this stage's calls ran inside (by name), null: none. */
  parent: string | null;
  /** ns per packet of the stage's own time: ns_per_packet less its children's corrected time. */
  self_ns_per_packet: number | null;
  /** Called whether or not packets arrive: packets from a return value or argument, and some calls had none. */
  poll: boolean;
  busy_calls: number | null;
  idle_calls: number | null;
  /** Corrected time of the idle calls in all, ns. */
  idle_ns: number | null;
  /** Corrected time of the busy calls per packet (children included). */
  busy_ns_per_packet: number | null;
  /** The corrected cost per call is within RESOLUTION_FACTOR × the probe cost: exact mode cannot resolve it. */
  below_resolution: boolean;
  /** The smallest cost per call exact mode resolves at this site (RESOLUTION_FACTOR × probe cost), null: uncalibrated. */
  resolution_ns: number | null;
  /** GCC copies or same-named locals the stage's name stood for (attach.copies), null: just itself. */
  copies: string[] | null;
}

export interface Report {
  stages: StageRow[];
  samples: number;
  duration_s: number;
  /** True when at least one stage's latencies are corrected; `correction` says how many. */
  corrected: boolean;
  correction: 'all' | 'some' | 'none';
  partial: boolean;
  partial_reason: string | null;
  /** Why the tracer stopped (the stream's bye reason: duration, signal, target_exit, ...); null: unknown. */
  end_reason: string | null;
  /** Share of the recording the probes were attached (time-weighted; < 1 under --max-overhead
   * windows). Counts and rates are NOT scaled up: they cover only that time. null: not reported. */
  coverage: number | null;
  /** Estimated probe cost to the target, % of one CPU (time-weighted over the intervals that had one). */
  overhead_pct: number | null;
  /** The stage with the highest ns per packet: the weakest link among the listed stages. */
  slowest: string | null;
  total_ns_per_packet: number | null;
  host: string;
  pid: number | null;
  kernel: boolean;
  created: string;
  tracer_version: string;
  lost_samples: number;
  drops: Record<string, number>;
  warnings: string[];
  errors: string[];
  sampled: SampledReport | null;
  sampled_error: string | null;
}

const nz = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The per-call probe cost a MEAN contains: the calibration's mean where it has a usable one. */
function meanProbeCost(cal: Calibration): { ns: number; spread: number } {
  const m = cal.inner_mean_ns;
  if (typeof m === 'number' && Number.isFinite(m)) {
    const sp = cal.inner_mean_spread_ns;
    return { ns: m, spread: typeof sp === 'number' && Number.isFinite(sp) ? sp : cal.inner_spread_ns };
  }
  return { ns: cal.inner_ns, spread: cal.inner_spread_ns };
}

function stageRow(st: SessionStage, s: Session): StageRow {
  const raw = Histogram.fromSparse(st.buckets, s.hist);
  const cal = st.calibration;
  // Calls that carried a latency: all of them for a function stage; for a point event, those
  // matched to an earlier stage of the same packet (the first stage of a path has none).
  const n = raw.count;
  const has = st.calls > 0 && n > 0;
  const corrected = cal !== null && has;
  const fix = corrected ? raw.shift(Math.max(0, cal.inner_ns)) : raw;
  const meanCost = cal ? meanProbeCost(cal) : null;
  const rawMean = has ? st.sum_ns / n : NaN;
  // The mean comes from the exact sum; the histogram only adds the clamp at 0 when shifted.
  const mean = corrected ? raw.shift(Math.max(0, meanCost!.ns)).meanFromSum(st.sum_ns) : rawMean;
  const perPkt = (m: number) => (st.packets > 0 && has ? (m * n) / st.packets : NaN);
  const dur = s.duration_s;
  let note: string | null = null;
  if (!st.attach.ok) note = `not attached: ${st.attach.error ?? 'no reason given'}`;
  else if (st.calls === 0) note = 'no calls in the recording';
  else if (n === 0) note = 'no latency: a point event with no earlier stage to time from (it marks where the path starts)';
  else if (!cal) note = 'site not calibrated: raw values, probe cost not subtracted';
  return {
    id: st.id,
    name: st.name,
    kind: st.kind,
    spec: st.spec,
    packets_from: st.packets_from,
    attached: st.attach.ok,
    attach_error: st.attach.error,
    calls: st.calls,
    timed: n,
    latency_key: st.latency_key ?? (st.kind === 'uprobe' || st.kind === 'kprobe' || st.kind === 'fentry' ? 'call' : null),
    packets: st.packets,
    unmatched: st.unmatched,
    p50_ns: nz(fix.quantile(0.5)),
    p99_ns: nz(fix.quantile(0.99)),
    p999_ns: nz(fix.quantile(0.999)),
    mean_ns: nz(mean),
    ns_per_packet: nz(perPkt(mean)),
    raw_p50_ns: nz(raw.quantile(0.5)),
    raw_p99_ns: nz(raw.quantile(0.99)),
    raw_p999_ns: nz(raw.quantile(0.999)),
    raw_mean_ns: nz(rawMean),
    raw_ns_per_packet: nz(perPkt(rawMean)),
    probe_overhead_ns: meanCost ? meanCost.ns : null,
    probe_overhead_spread_ns: meanCost ? meanCost.spread : null,
    probe_overhead_median_ns: cal ? cal.inner_ns : null,
    probe_outer_ns: cal ? cal.outer_ns : null,
    calibration_class: cal ? cal.class : null,
    corrected,
    share: null,
    packets_per_call: st.calls > 0 ? st.packets / st.calls : null,
    calls_per_s: dur > 0 ? st.calls / dur : null,
    packets_per_s: dur > 0 ? st.packets / dur : null,
    single_step: st.attach.single_step,
    first_insn: st.attach.first_insn,
    entry_offset: st.attach.entry_offset ?? null,
    entry_insn: st.attach.entry_insn ?? null,
    untimed_prefix: st.attach.untimed_prefix ?? null,
    warning: st.attach.warning,
    note,
    parent: null,
    self_ns_per_packet: null,
    poll: false,
    busy_calls: null,
    idle_calls: null,
    idle_ns: null,
    busy_ns_per_packet: null,
    below_resolution: false,
    resolution_ns: null,
    copies: st.attach.copies ? st.attach.copies.map((c) => c.symbol) : null,
  };
}

/** The enclosing stage (id) most of a stage's calls ran inside, when that is at least half of them. */
function parentId(st: SessionStage): number | null {
  let best: { parent: number; calls: number } | null = null;
  for (const n of st.inside ?? []) if (n.parent !== st.id && (!best || n.calls > best.calls)) best = n;
  const timed = st.timed ?? st.calls;
  return best && best.calls * 2 >= timed ? best.parent : null;
}

/**
 * Stage tree, poll split and resolution on the rows (in place). Needs the tracer's `inside` and
 * busy counts; a recording without them keeps the per-stage numbers as they are.
 */
function applyTree(rows: StageRow[], s: Session): void {
  const byId = new Map(s.stages.map((st) => [st.id, st]));
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const meanCostOf = (st: SessionStage | undefined): number | null => (st?.calibration ? meanProbeCost(st.calibration).ns : null);
  // what each stage's children cost it: probes (outer_ns per call inside) and their own corrected time
  const probeCost = new Map<number, number>();
  const childTime = new Map<number, number>();
  for (const st of s.stages) {
    for (const n of st.inside ?? []) {
      if (n.parent === st.id) continue; // recursion: the stage's own time
      const outer = st.calibration?.outer_ns ?? 0;
      const inner = meanCostOf(st) ?? 0;
      probeCost.set(n.parent, (probeCost.get(n.parent) ?? 0) + outer * n.calls);
      childTime.set(n.parent, (childTime.get(n.parent) ?? 0) + Math.max(0, n.sum_ns - inner * n.calls));
    }
  }
  for (const r of rows) {
    const st = byId.get(r.id)!;
    const p = parentId(st);
    r.parent = p !== null ? (rowById.get(p)?.name ?? null) : null;
    if (r.mean_ns === null || r.timed === 0) continue;
    const extra = probeCost.get(r.id) ?? 0;
    if (r.corrected && extra > 0) {
      r.mean_ns = Math.max(0, r.mean_ns - extra / r.timed);
      r.ns_per_packet = st.packets > 0 ? (r.mean_ns * r.timed) / st.packets : null;
    }
    const cost = meanCostOf(st) ?? 0;
    const total = r.mean_ns * r.timed; // corrected time of all timed calls
    if (st.busy_calls === undefined || st.busy_ns === undefined) continue;
    const self = Math.max(0, total - (childTime.get(r.id) ?? 0));
    r.self_ns_per_packet = st.packets > 0 ? self / st.packets : null;
    r.busy_calls = st.busy_calls;
    r.idle_calls = Math.max(0, r.timed - st.busy_calls);
    r.poll = r.packets_from !== 'one' && r.idle_calls > 0;
    const corr = r.corrected ? cost : 0;
    const idle = Math.max(0, st.sum_ns - st.busy_ns - corr * r.idle_calls);
    r.idle_ns = idle;
    const busy = Math.max(0, total - idle);
    r.busy_ns_per_packet = st.packets > 0 ? busy / st.packets : null;
    if (r.corrected && cost > 0) {
      // own cost per call, of the calls that did work
      const calls = r.poll ? st.busy_calls : r.timed;
      const perCall = calls > 0 ? Math.max(0, (r.poll ? busy : total) - (childTime.get(r.id) ?? 0)) / calls : 0;
      r.resolution_ns = RESOLUTION_FACTOR * cost;
      r.below_resolution = calls > 0 && perCall <= r.resolution_ns;
    }
  }
}

export function buildReport(s: Session): Report {
  const stages = s.stages.map((st) => stageRow(st, s));
  applyTree(stages, s);
  // each stage's busy own time (each ns once); idle polls and stages below resolution are never the weakest link
  const costs = stages.map((r) => ({ r, c: exactStageCost(r) })).filter((x): x is { r: StageRow; c: NonNullable<ReturnType<typeof exactStageCost>> } => x.c !== null);
  const measured = costs.map((x) => x.r);
  const total = costs.reduce((a, x) => a + x.c.ns, 0);
  for (const x of costs) x.r.share = total > 0 ? x.c.ns / total : 0;
  const slowest = costs.filter((x) => !x.r.below_resolution).reduce<{ r: StageRow; ns: number } | null>(
    (m, x) => (m === null || x.c.ns > m.ns ? { r: x.r, ns: x.c.ns } : m), null)?.r ?? null;
  const withCalls = stages.filter((r) => r.raw_mean_ns !== null);
  const nCorr = withCalls.filter((r) => r.corrected).length;
  let sampled: SampledReport | null = null;
  let sampledError: string | null = null;
  try {
    sampled = sampledReport(s);
  } catch (e) {
    sampledError = (e as Error).message;
  }
  const iv = s.intervals ?? [];
  const span = iv.reduce((a, i) => a + i.dt_s, 0);
  const withCost = iv.filter((i) => i.overhead_pct !== null);
  const costSpan = withCost.reduce((a, i) => a + i.dt_s, 0);
  return {
    stages,
    coverage: span > 0 ? iv.reduce((a, i) => a + i.coverage * i.dt_s, 0) / span : null,
    overhead_pct: costSpan > 0 ? withCost.reduce((a, i) => a + (i.overhead_pct ?? 0) * i.dt_s, 0) / costSpan : null,
    samples: s.samples,
    duration_s: s.duration_s,
    corrected: nCorr > 0,
    correction: nCorr === 0 ? 'none' : nCorr === withCalls.length ? 'all' : 'some',
    partial: s.partial,
    partial_reason: s.partial_reason,
    end_reason: typeof s.end_reason === 'string' ? s.end_reason : null,
    slowest: slowest?.name ?? null,
    total_ns_per_packet: measured.length ? total : null,
    host: s.target.host,
    pid: s.target.pid,
    kernel: s.target.kernel,
    created: s.created,
    tracer_version: s.tracer.version,
    lost_samples: s.lost_samples,
    drops: { ...s.drops },
    warnings: [...s.warnings],
    errors: [...(s.errors ?? [])],
    sampled,
    sampled_error: sampledError,
  };
}

// ---- text ---------------------------------------------------------------------------------------

/** ns with a unit that keeps 3 significant digits: 812 ns, 1.52 µs, 13.4 ms. */
export function formatNs(v: number | null): string {
  if (v === null) return '-';
  const a = Math.abs(v);
  if (a < 1000) return `${a >= 100 || a === 0 ? String(Math.round(v)) : v.toPrecision(3)} ns`;
  if (a < 1e6) return `${(v / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(v / 1e6).toPrecision(3)} ms`;
  return `${(v / 1e9).toPrecision(3)} s`;
}

function formatCount(v: number): string {
  if (v < 1e4) return String(Math.round(v));
  if (v < 1e6) return `${(v / 1e3).toPrecision(3)}k`;
  if (v < 1e9) return `${(v / 1e6).toPrecision(3)}M`;
  return `${(v / 1e9).toPrecision(3)}G`;
}

function table(rows: string[][], rightAlign: boolean[]): string[] {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => {
        const pad = ' '.repeat(w[c]! - [...cell].length);
        return rightAlign[c] ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** Names come from the command line and the target: print them, never let them break the table. */
function safe(s: string, max = 28): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}

export function formatReportTable(r: Report): string {
  const out: string[] = [];
  const where = r.kernel ? 'kernel path' : `pid ${r.pid ?? '?'}`;
  const ended = r.end_reason ? `, ended by ${safe(r.end_reason)}` : '';
  out.push(`pktpath: ${where} on ${safe(r.host, 60)}, ${r.duration_s.toFixed(2)} s recorded${ended} (tracer ${r.tracer_version})`);
  if (r.partial) out.push(`PARTIAL recording: ${r.partial_reason ?? 'ended early'}; the numbers cover what arrived.`);
  if (r.coverage !== null && r.coverage < 0.999) {
    out.push(`Probes were attached ${(r.coverage * 100).toFixed(1)}% of the time (--max-overhead windows): calls, packets and rates cover only that time, unscaled.`);
  }
  if (r.overhead_pct !== null) out.push(`Estimated probe cost to the target: ${r.overhead_pct.toFixed(1)}% of one CPU.`);
  if (r.stages.length === 0) {
    out.push(r.sampled || r.sampled_error ? 'No probed stages: a sampled-mode recording (below).' : 'No stages were recorded.');
    out.push(`CPU samples: ${r.samples}${r.lost_samples ? ` (${r.lost_samples} lost)` : ''}.`);
    for (const e of r.errors) out.push(`tracer error: ${safe(e, 300)}`);
    return out.join('\n');
  }
  if (r.correction === 'all') out.push('Latencies are corrected: the probe cost measured at each site (column "probe") was subtracted.');
  else if (r.correction === 'some') out.push('Latencies are corrected where the site was calibrated (column "probe"); rows marked raw are not.');
  else out.push('Latencies are RAW: no site was calibrated, so they include the probes\' own cost.');
  if (r.correction !== 'none') {
    // what the ± covers, so nobody reads it as the whole uncertainty (docs/measurement.md)
    out.push('The ± is the calibration\'s own spread; a site in the target can pay tens of ns more or less than its calibration (docs/measurement.md), which matters for stages under ~1 µs.');
  }
  // with a stage tree, the parents' own time beside their whole time (shares are of own busy time)
  const tree = r.stages.some((s) => s.parent !== null);
  const rows: string[][] = [['stage', 'ns/pkt', ...(tree ? ['own/pkt'] : []), 'p50', 'p99', 'p99.9', 'mean', 'share', 'calls', 'packets', 'pkt/call', 'probe']];
  for (const s of r.stages) {
    const probe = s.probe_overhead_ns === null ? 'raw' : `-${formatNs(s.probe_overhead_ns)} ±${formatNs(s.probe_overhead_spread_ns)}`;
    const mark = (s.single_step ? ' !' : '') + (r.slowest === s.name ? ' *' : '');
    rows.push([
      (s.parent !== null ? '└ ' : '') + safe(s.name) + mark,
      formatNs(s.ns_per_packet),
      ...(tree ? [formatNs(s.self_ns_per_packet)] : []),
      formatNs(s.p50_ns),
      formatNs(s.p99_ns),
      formatNs(s.p999_ns),
      formatNs(s.mean_ns),
      s.share === null ? '-' : `${(s.share * 100).toFixed(1)}%`,
      formatCount(s.calls),
      formatCount(s.packets),
      s.packets_per_call === null ? '-' : s.packets_per_call.toFixed(1),
      s.attached ? probe : 'not attached',
    ]);
  }
  out.push('', ...table(rows, [false, true, ...(tree ? [true] : []), true, true, true, true, true, true, true, true, false]), '');
  if (r.stages.some((s) => s.single_step)) out.push('! single-stepped probe site (see below).');
  if (r.slowest) out.push(`* weakest link: ${safe(r.slowest)} (highest busy own ns per packet among the stages).`);
  if (r.stages.some((s) => s.parent !== null)) {
    out.push('└ runs inside the stage named in the notes: its parent\'s share counts only the parent\'s own time, and the parent\'s ' +
      'time is corrected for the probes of its children too.');
  }
  for (const s of r.stages) {
    if (s.single_step) {
      const moved = s.entry_offset !== null && s.entry_offset > 0
        ? ` Its latency is timed from +0x${s.entry_offset.toString(16)} (${safe(s.entry_insn ?? '?', 30)}, emulated), after the single-step, ` +
          `so the single-step is not in it; ${safe(s.untimed_prefix ?? '?', 60)} before that ran untimed.`
        : '';
      out.push(
        `! ${safe(s.name)}: the kernel single-steps its first instruction (${safe(s.first_insn ?? '?', 40)}): each hit costs the target microseconds.${moved} ` +
          'Prefer a USDT probe, or rebuild with -fno-omit-frame-pointer -fno-shrink-wrap so it starts with push.',
      );
    }
    // "not calibrated" per stage only when others were: the header already says when none was.
    const uncal = s.calls > 0 && !s.corrected && !(r.correction === 'none' && s.raw_mean_ns !== null);
    if (s.note && (!s.attached || uncal)) out.push(`  ${safe(s.name)}: ${s.note}`);
    else if (s.calls === 0) out.push(`  ${safe(s.name)}: no calls were counted: is the stage on the packet path?`);
    if (s.unmatched > 0) out.push(`  ${safe(s.name)}: ${s.unmatched} returns/events could not be matched to an entry.`);
    if (s.parent !== null) out.push(`  ${safe(s.name)}: runs inside ${safe(s.parent)}.`);
    if (s.poll && s.busy_calls !== null && s.idle_calls !== null) {
      out.push(
        `  ${safe(s.name)}: poll function: ${formatCount(s.busy_calls)} calls handled packets, ${formatCount(s.idle_calls)} found none ` +
          `(${formatNs(s.idle_ns)} of idle polling in all, left out of its cost: slack, not cost; busy ${formatNs(s.busy_ns_per_packet)}/pkt).`,
      );
    }
    if (s.below_resolution) {
      out.push(
        `  ${safe(s.name)}: below exact mode's resolution: its cost per call is within ${RESOLUTION_FACTOR}× the probe cost subtracted ` +
          `(resolves from ${formatNs(s.resolution_ns)} per call); measure it with --mode sampled (no probes).`,
      );
    }
    if (s.copies && s.copies.length) out.push(`  ${safe(s.name)}: the name stands for ${s.copies.map((c) => safe(c, 60)).join(', ')}.`);
  }
  out.push(`CPU samples: ${r.samples}${r.lost_samples ? ` (${r.lost_samples} lost)` : ''}.`);
  const drops = Object.entries(r.drops).filter(([, n]) => n > 0);
  if (drops.length) out.push(`Dropped by the tracer: ${drops.map(([k, n]) => `${n} ${k}`).join(', ')}.`);
  for (const e of r.errors) out.push(`tracer error: ${safe(e, 300)}`);
  return out.join('\n');
}
