// Session → what the webview draws (src/shared/view-types.ts). Runs on the host: the numbers come
// from report.ts (exact mode) or sampled.ts (sampled mode), the trees from flamegraph.ts; the
// webview only lays out and paints.

import type { Session } from './session.ts';
import { buildReport, type StageRow } from './report.ts';
import { bucketLower, bucketUpper } from './histogram.ts';
import { buildCpuFlame, buildLatencyFlame, stageFunctions, type StageFunction } from './flamegraph.ts';
import type { HistogramBin, StageNumbers, StageView, ViewModel } from '../shared/view-types.ts';

export interface ViewModelOptions {
  recording?: boolean;
  title?: string;
}

function title(s: Session): string {
  const t = s.target;
  const what = t.kernel ? 'kernel path' : t.command ?? t.binary ?? (t.pid !== null ? `pid ${t.pid}` : 'target');
  return `${what} on ${t.host}`;
}

function exactStage(s: Session, row: StageRow, i: number): StageView {
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
  return {
    index: i, name: row.name, kind: row.kind, spec: row.spec, ok: row.attached, error: row.attach_error,
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
    const total = sr.stages.reduce((a, st) => a + st.ns_per_packet, 0);
    stages = sr.stages.map((st, i) => ({
      index: i, name: st.name, kind: 'sampled', spec: `sampled: ${st.symbol}`, ok: true, error: null, warning: null,
      note: `from ${st.samples} samples at ${sr.sample_hz} Hz and ${sr.packets_source}; no probes` +
        (sr.sampler_share !== undefined ? `; the sampler's own time (${(sr.sampler_share * 100).toFixed(1)}% of the threads' CPU) removed` : ''),
      calls: 0, packets: sr.packets, unmatched: 0,
      shown: { ...none, ns_per_packet: st.ns_per_packet }, raw: { ...none, ns_per_packet: st.raw_ns_per_packet },
      share: total > 0 ? st.ns_per_packet / total : null, corrected: false,
      probe_overhead_ns: null, probe_overhead_spread_ns: null, probe_overhead_per_packet_ns: null,
      calibration_method: null, histogram: [], samples: st.samples,
      ci_ns: [st.ci_low_ns, st.ci_high_ns],
    }));
    fns = (s.sampled?.stages ?? []).map((st, i) => ({ stage: i, symbol: st.symbol, module: st.module }));
  } else {
    stages = report.stages.map((row, i) => exactStage(s, row, i));
    fns = stageFunctions(s.stages);
  }
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
  return {
    version: 1,
    title: o.title ?? title(s),
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
