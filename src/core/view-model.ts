// Session → what the webview draws (src/shared/view-types.ts). Runs on the host: the numbers come
// from report.ts (exact mode) or sampled.ts (sampled mode), the trees from flamegraph.ts; the
// webview only lays out and paints.

import type { Session } from './session.ts';
import { buildReport, type Report, type StageRow } from './report.ts';
import { bucketIndex, bucketLower, bucketUpper } from './histogram.ts';
import { buildCpuFlame, buildLatencyFlame, stageFunctions, type StageFunction } from './flamegraph.ts';
import { verdictDetails, verdictHeadline, verdictOf, type VerdictRow } from './verdict.ts';
import { pollNote } from './sampled.ts';
import { diffSessions } from './diff.ts';
import { diffFlame, changeLevel } from './flame-diff.ts';
import { stageColours } from '../shared/stage-colour.ts';
import type { CompareView, FlameData, HistogramBin, StageNumbers, StageView, VerdictView, ViewModel } from '../shared/view-types.ts';

export interface ViewModelOptions {
  recording?: boolean;
  title?: string;
  /** Identity of the recording (its file path), for the views to tell sessions apart; default from the session. */
  key?: string;
}

/** The program's name: the command's first word, without its directory. */
function programName(s: Session): string {
  const t = s.target;
  if (t.kernel) return 'kernel path';
  const first = (t.command ?? t.binary ?? '').trim().split(/\s+/)[0] ?? '';
  const name = first.slice(first.lastIndexOf('/') + 1);
  return name || (t.pid !== null ? `pid ${t.pid}` : 'target');
}

/** "fwd (pid 4242) on localhost": short enough for a header; the full command goes in its tooltip. */
export function sessionTitle(s: Session): string {
  const t = s.target;
  return `${programName(s)}${!t.kernel && t.pid !== null ? ` (pid ${t.pid})` : ''} on ${t.host}`;
}

/** "2025-03-01 14:02:11 · 4.0 s": when and how long. */
export function sessionWhen(s: Session): string {
  const d = new Date(s.created);
  const when = Number.isNaN(d.getTime()) ? s.created : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `${when} · ${s.duration_s.toFixed(1)} s`;
}

export function sessionKey(s: Session): string {
  return `${s.target.host}\u0000${s.target.pid ?? 'kernel'}\u0000${s.created}`;
}

function verdictView(r: Report): VerdictView {
  const v = verdictOf(r);
  return {
    headline: verdictHeadline(v),
    details: verdictDetails(v),
    weakest: v.weakest?.name ?? null,
    weakest_ns_per_packet: v.weakest?.ns_per_packet ?? null,
    weakest_share: v.weakest?.share ?? null,
    path_ns_per_packet: v.path_ns_per_packet,
    packets_per_s_one_core: v.packets_per_s_one_core,
    next: v.next?.name ?? null,
    rate_gain: v.gain?.rate_gain ?? null,
  };
}

/** What a corrected value clamped at 0 (or too small for the recording's own resolution field) could still hide: the width of the histogram bucket the probe
 * cost fell in (the shift's granularity), or the calibration's spread if wider. */
function fallbackResolution(s: Session, row: StageRow): number | null {
  if (!row.corrected || row.probe_overhead_median_ns === null) return null;
  const i = bucketIndex(row.probe_overhead_median_ns, s.hist);
  return Math.max(bucketUpper(i, s.hist) - bucketLower(i, s.hist), row.probe_overhead_spread_ns ?? 0);
}

function exactStage(s: Session, row: StageRow & VerdictRow, i: number, fn: string | null): StageView {
  const st = s.stages[i]!;
  const histogram: HistogramBin[] = st.buckets
    .filter(([, c]) => c > 0)
    .map(([idx, count]) => ({ lo_ns: bucketLower(idx, s.hist), hi_ns: bucketUpper(idx, s.hist), count }));
  const raw: StageNumbers = {
    ns_per_packet: row.raw_ns_per_packet, mean_ns: row.raw_mean_ns,
    p50_ns: row.raw_p50_ns, p99_ns: row.raw_p99_ns, p999_ns: row.raw_p999_ns,
  };
  const shown: StageNumbers = {
    ns_per_packet: row.ns_per_packet, mean_ns: row.mean_ns, p50_ns: row.p50_ns, p99_ns: row.p99_ns, p999_ns: row.p999_ns,
  };
  const below = row.below_resolution === true;
  return {
    index: i, name: row.name, colour: 0, fn, parent: row.parent ?? null, poll: row.poll === true, idle_inclusive: false, calls_per_packet: null,
    below_resolution: below, resolution_ns: row.resolution_ns ?? fallbackResolution(s, row),
    kind: row.kind, spec: row.spec, ok: row.attached, error: row.attach_error,
    warning: row.warning, note: row.note, calls: row.calls, packets: row.packets, unmatched: row.unmatched,
    shown, raw, share: row.share, corrected: row.corrected,
    probe_overhead_ns: row.probe_overhead_ns, probe_overhead_spread_ns: row.probe_overhead_spread_ns,
    probe_overhead_per_packet_ns: row.probe_overhead_ns !== null && row.packets > 0
      ? (row.probe_overhead_ns * row.calls) / row.packets : null,
    calibration_method: st.calibration ? `${st.calibration.class}, ${st.calibration.method}, ${st.calibration.runs} runs` : null,
    histogram, samples: 0, ci_ns: null,
  };
}

export function buildViewModel(s: Session, o: ViewModelOptions = {}): ViewModel {
  const report = buildReport(s);
  let stages: StageView[];
  let fns: StageFunction[];
  if (s.stages.length === 0 && report.sampled) {
    // Sampled mode: no probes, so no latency distribution and no probe overhead to state.
    const sr = report.sampled;
    const none: StageNumbers = { ns_per_packet: null, mean_ns: null, p50_ns: null, p99_ns: null, p999_ns: null };
    // a poll stage's samples include its idle polling: it is no part of the path's busy time (verdict.ts)
    const total = sr.stages.reduce((a, st) => a + (st.poll ? 0 : st.ns_per_packet), 0);
    stages = sr.stages.map((st, i) => ({
      index: i, name: st.name, colour: 0, fn: st.symbol, parent: null, poll: st.poll === true, idle_inclusive: st.poll === true,
      calls_per_packet: st.calls_per_packet ?? null,
      below_resolution: false, resolution_ns: null, kind: 'sampled', spec: `sampled: ${st.symbol}`, ok: true, error: null, warning: null,
      note: `from ${st.samples} samples at ${sr.sample_hz} Hz and ${sr.packets_source}; no probes` +
        (sr.sampler_share !== undefined ? `; the sampler's own time (${(sr.sampler_share * 100).toFixed(1)}% of the threads' CPU) removed` : '') +
        (st.poll ? `. Includes idle polling: ${pollNote(st)}` : ''),
      calls: 0, packets: sr.packets, unmatched: 0,
      shown: { ...none, ns_per_packet: st.ns_per_packet }, raw: { ...none, ns_per_packet: st.raw_ns_per_packet },
      share: total > 0 && !st.poll ? st.ns_per_packet / total : null, corrected: false,
      probe_overhead_ns: null, probe_overhead_spread_ns: null, probe_overhead_per_packet_ns: null,
      calibration_method: null, histogram: [], samples: st.samples,
      ci_ns: [st.ci_low_ns, st.ci_high_ns],
    }));
    fns = (s.sampled?.stages ?? []).map((st, i) => ({ stage: i, symbol: st.symbol, module: st.module }));
  } else {
    fns = stageFunctions(s.stages);
    const fnOf = new Map(fns.map((f) => [f.stage, f.symbol] as const));
    stages = report.stages.map((row, i) => exactStage(s, row, i, fnOf.get(i) ?? null));
  }
  const colours = stageColours(stages.map((sv) => sv.name));
  stages.forEach((sv, i) => (sv.colour = colours[i]!));
  const cpuFlame = buildCpuFlame(s, fns);
  // Samples per stage, by the nearest stage frame (the colour of the leaf's node).
  const bySelf = new Map<number, number>();
  for (let i = 0; i < cpuFlame.frame.length; i++) {
    const st = cpuFlame.stage[i]!;
    if (st >= 0 && cpuFlame.self[i]! > 0) bySelf.set(st, (bySelf.get(st) ?? 0) + cpuFlame.self[i]!);
  }
  for (const sv of stages) if (sv.kind !== 'sampled') sv.samples = bySelf.get(sv.index) ?? 0;
  const latencyFlame = buildLatencyFlame(s, stages.map((sv) => sv.shown.ns_per_packet), fns, stages.map((sv) => sv.name));
  const warnings = [...s.warnings, ...(s.errors ?? []).map((e) => `tracer error: ${e}`)];
  if (report.sampled_error && s.stages.length === 0) warnings.push(`sampled mode: ${report.sampled_error}`);
  let probeSamples = 0;
  for (let i = 0; i < cpuFlame.frame.length; i++) if (cpuFlame.frames[cpuFlame.frame[i]!]!.kind === 'probe') probeSamples += cpuFlame.total[i]!;
  return {
    version: 1,
    session_key: o.key ?? sessionKey(s),
    title: o.title ?? sessionTitle(s),
    subtitle: sessionWhen(s),
    verdict: verdictView(report),
    probe: probeSamples > 0 ? { samples: probeSamples, share: cpuFlame.total[0]! > 0 ? probeSamples / cpuFlame.total[0]! : 0 } : null,
    compare: null,
    created: s.created,
    recording: o.recording ?? false,
    mode: s.stages.length === 0 && report.sampled ? 'sampled' : 'exact',
    partial: s.partial,
    partial_reason: s.partial_reason,
    duration_s: s.duration_s,
    sample_hz: s.sample_hz,
    samples: s.samples,
    lost_samples: s.lost_samples,
    warnings,
    stages,
    latencyFlame,
    cpuFlame,
  };
}

/** Packets the path handled in the recording (what a CPU sample is per), else null. */
function pathPackets(s: Session, r: Report): number | null {
  if (r.stages.length === 0 && r.sampled) return r.sampled.packets > 0 ? r.sampled.packets : null;
  const p = Math.max(0, ...r.stages.map((x) => x.packets));
  return p > 0 ? p : null;
}

/** Compare mode: B's views with per-stage deltas against A and differential flamegraphs. */
export function buildCompareViewModel(b: Session, a: Session, o: ViewModelOptions & { baseKey?: string; baseTitle?: string } = {}): ViewModel {
  const m = buildViewModel(b, o);
  const d = diffSessions(a, b);
  const ra = buildReport(a);
  const rb = buildReport(b);
  const compare: CompareView = {
    base_title: o.baseTitle ?? sessionTitle(a),
    base_created: a.created,
    base_key: o.baseKey ?? sessionKey(a),
    alpha: d.alpha,
    stages: d.stages.map((x) => ({
      name: x.name, b_name: x.b_name, a_ns_per_packet: x.a_ns_per_packet, b_ns_per_packet: x.b_ns_per_packet,
      delta_ns_per_packet: x.delta_ns_per_packet, delta_pct: x.delta_pct, significant: x.significant, p_value: x.p_value,
    })),
  };
  m.compare = compare;
  // Exposure: samples per packet when both counted packets, else per second.
  const pa = pathPackets(a, ra);
  const pb = pathPackets(b, rb);
  const perPacket = pa !== null && pb !== null;
  const expA = (perPacket ? pa : a.duration_s) * (a.sample_hz || 1);
  const expB = (perPacket ? pb : b.duration_s) * (b.sample_hz || 1);
  const base = buildViewModel(a, {});
  m.cpuFlame.diff = diffFlame(m.cpuFlame, base.cpuFlame, { exposureA: expA, exposureB: expB });
  // Stage nodes of the latency flame carry the stage's own noise test.
  const byName = new Map(d.stages.map((x) => [x.b_name ?? x.name, x] as const));
  const lat: FlameData = m.latencyFlame;
  m.latencyFlame.diff = diffFlame(lat, base.latencyFlame, {
    exposureA: expA, exposureB: expB,
    levelOf: (i) => {
      const f = lat.frames[lat.frame[i]!]!;
      if (f.kind !== 'stage') return undefined;
      const x = byName.get(f.name);
      if (!x || x.a_ns_per_packet === null || x.b_ns_per_packet === null) return undefined;
      return x.significant ? changeLevel(x.a_ns_per_packet > 0 ? x.b_ns_per_packet / x.a_ns_per_packet : Infinity) : 0;
    },
  });
  return m;
}
