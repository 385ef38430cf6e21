// Two sessions side by side: per stage, how ns per packet and the latency quantiles moved from A to
// B, and whether the move is beyond noise (src/core/noise.ts). Stages are matched by name, else by
// the function they probe (a stage renamed between recordings is still the same code). Both sides
// use the same report math, so a correction in one and not the other is flagged rather than
// silently compared.
import { buildReport, type Report, type StageRow } from './report.ts';
import type { Session } from './session.ts';
import { stageFunctions } from './flamegraph.ts';
import type { StageDelta } from '../shared/view-types.ts';
import { deltaTest, exactStageNoise, sampledStageNoise, DELTA_ALPHA, type NoiseMethod, type StageNoise } from './noise.ts';

export interface StageDiff extends StageDelta {
  name: string;
  /** B's name when the stage was matched by its function under another name. */
  b_name: string | null;
  matched_by: 'name' | 'function' | null;
  a: StageRow | null;
  b: StageRow | null;
  delta_ci_ns: [number, number] | null;
  noise: NoiseMethod | 'mixed' | null;
  ns_per_packet_delta: number | null;
  /** (B - A) / A, null without both values or when A is 0. */
  ns_per_packet_change: number | null;
  p50_delta: number | null;
  p99_delta: number | null;
  /** Corrected on one side only: the numbers are not comparable as they stand. */
  correction_mismatch: boolean;
}

export interface SessionDiff {
  stages: StageDiff[];
  a_duration_s: number;
  b_duration_s: number;
  mode: 'exact' | 'sampled' | 'mixed';
  /** Significance level of `significant`. */
  alpha: number;
}

const sub = (b: number | null | undefined, a: number | null | undefined) => (b == null || a == null ? null : b - a);

/** One side's stages: name, function, value and noise, in order. */
interface Side {
  name: string;
  fn: string | null;
  row: StageRow | null;
  noise: StageNoise | null;
  value: number | null;
}

function sides(s: Session, r: Report): Side[] {
  if (r.stages.length === 0 && r.sampled) {
    const sr = r.sampled;
    return sr.stages.map((st) => ({ name: st.name, fn: st.symbol, row: null, noise: sampledStageNoise(sr, st), value: st.ns_per_packet }));
  }
  const fns = new Map(stageFunctions(s.stages).map((f) => [f.stage, f.symbol] as const));
  return r.stages.map((row, i) => ({
    name: row.name, fn: fns.get(i) ?? null, row, noise: exactStageNoise(s.stages[i]!, row, s.hist), value: row.ns_per_packet,
  }));
}

/** Pairs A's and B's stages: by name, then the rest by probed function; unmatched ones stand alone. */
function match(a: Side[], b: Side[]): Array<{ a: Side | null; b: Side | null; by: StageDiff['matched_by'] }> {
  const used = new Set<Side>();
  const pairs = a.map((sa): { a: Side; b: Side | null; by: StageDiff['matched_by'] } => {
    const sb = b.find((x) => !used.has(x) && x.name === sa.name);
    if (sb) used.add(sb);
    return { a: sa, b: sb ?? null, by: sb ? 'name' : null };
  });
  for (const p of pairs) {
    if (p.b || !p.a.fn) continue;
    const sb = b.find((x) => !used.has(x) && x.fn === p.a.fn && !a.some((y) => y.name === x.name));
    if (sb) {
      used.add(sb);
      p.b = sb;
      p.by = 'function';
    }
  }
  const rest = b.filter((x) => !used.has(x)).map((sb) => ({ a: null, b: sb, by: null }));
  return [...pairs, ...rest];
}

export function diffSessions(a: Session, b: Session): SessionDiff {
  const ra = buildReport(a);
  const rb = buildReport(b);
  const sa = sides(a, ra);
  const sb = sides(b, rb);
  const modeA = ra.stages.length === 0 && ra.sampled ? 'sampled' : 'exact';
  const modeB = rb.stages.length === 0 && rb.sampled ? 'sampled' : 'exact';
  const stages = match(sa, sb).map(({ a: x, b: y, by }): StageDiff => {
    const d = sub(y?.value, x?.value);
    const t = x?.noise && y?.noise ? deltaTest(x.noise, y.noise) : null;
    return {
      name: x?.name ?? y!.name,
      b_name: x && y && x.name !== y.name ? y.name : null,
      matched_by: by,
      a: x?.row ?? null,
      b: y?.row ?? null,
      a_ns_per_packet: x?.value ?? null,
      b_ns_per_packet: y?.value ?? null,
      delta_ns_per_packet: d,
      delta_pct: d !== null && x?.value ? (100 * d) / x.value : null,
      significant: t?.significant ?? false,
      p_value: t?.p_value ?? null,
      delta_ci_ns: t?.delta_ci_ns ?? null,
      noise: t?.noise ?? null,
      ns_per_packet_delta: d,
      ns_per_packet_change: d !== null && x?.value ? d / x.value : null,
      p50_delta: sub(y?.row?.p50_ns, x?.row?.p50_ns),
      p99_delta: sub(y?.row?.p99_ns, x?.row?.p99_ns),
      correction_mismatch: !!x?.row && !!y?.row && x.row.corrected !== y.row.corrected,
    };
  });
  return {
    stages,
    a_duration_s: a.duration_s,
    b_duration_s: b.duration_s,
    mode: modeA === modeB ? modeA : 'mixed',
    alpha: DELTA_ALPHA,
  };
}

/** Stages significantly slower in B by more than `pct` percent (the regression gate). */
export function slowerThan(d: SessionDiff, pct: number): StageDiff[] {
  return d.stages.filter((s) => s.significant && s.delta_pct !== null && s.delta_pct > pct && !s.correction_mismatch);
}
