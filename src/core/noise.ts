// Is a change of a stage's ns per packet between two recordings beyond noise? (docs/compare.md)
//
// Exact mode: a stage's ns per packet is Σ latency / packets. Its variance is estimated twice and
// the larger is kept:
//  - per call, from the latency histogram: n · Var(call) / packets² (calls independent);
//  - per interval, from the timeline (batch means): how much the stage's ns per packet moved from
//    one interval to the next, weighted by packets. This one also sees what the per-call estimate
//    cannot: drifts within the run (another tenant on the CPU, the probe cost changing level), and
//    calls that are not independent. It needs ≥ 3 intervals and has intervals − 1 degrees of freedom.
// The calibration's own spread (what was subtracted per call, ± spread) adds its square, scaled
// to per packet, when the stage was corrected: each recording calibrates on its own.
// The two recordings are then compared with Welch's t-test (Welch–Satterthwaite degrees of freedom).
//
// Sampled mode: a stage's ns per packet is k samples over an exposure (packets × hz / 1e9, scaled
// by the sampler's own-time correction). Two counts are compared exactly: given k_a + k_b, k_a is
// binomial under equal rates.
//
// A delta is significant at p < 0.01: a recording has a handful of stages, and a regression gate
// that cries wolf on one stage in twenty would be ignored.
import { bucketLower, bucketUpper } from './histogram.ts';
import type { StageRow } from './report.ts';
import type { SampledReport, SampledStageReport } from './sampled.ts';
import type { HistLayout, SessionStage } from './session.ts';
import { poissonRatesP, studentQuantile, studentTwoSidedP } from './stats.ts';

export const DELTA_ALPHA = 0.01;

export type NoiseMethod = 'intervals' | 'histogram' | 'samples';

export interface StageNoise {
  /** ns per packet. */
  value: number;
  /** Variance of value, ns². */
  variance: number;
  /** Degrees of freedom of the variance (Infinity when it comes from thousands of calls). */
  df: number;
  method: NoiseMethod;
  /** Sampled mode: the sample count and its exposure (value = count / exposure). */
  count?: number;
  exposure?: number;
}

/** The noise of an exact-mode stage's ns per packet (see the file header); null without a value. */
export function exactStageNoise(st: SessionStage, row: StageRow, hist: HistLayout): StageNoise | null {
  const value = row.ns_per_packet;
  const n = row.timed;
  const packets = row.packets;
  if (value === null || !(n > 0) || !(packets > 0)) return null;
  let cnt = 0;
  let m2 = 0;
  for (const [i, c] of st.buckets) {
    if (!(c > 0)) continue;
    const lo = bucketLower(i, hist);
    const w = bucketUpper(i, hist) - lo;
    const mid = lo + w / 2;
    cnt += c;
    m2 += c * (mid * mid + (w * w) / 12);
  }
  const mean = st.sum_ns / n;
  const varCall = cnt > 0 ? Math.max(0, m2 / cnt - mean * mean) : 0;
  const varHist = (n * varCall) / (packets * packets);

  let varBatch = 0;
  let k = 0;
  const cost = row.corrected && row.probe_overhead_ns !== null ? row.probe_overhead_ns : 0;
  const pts = st.timeline.filter((p) => p.packets > 0);
  if (pts.length >= 3) {
    k = pts.length;
    const own = pts.map((p) => p.sum_ns - (p.timed ?? p.calls) * cost);
    const P = pts.reduce((a, p) => a + p.packets, 0);
    const R = own.reduce((a, x) => a + x, 0) / P;
    let s = 0;
    pts.forEach((p, i) => {
      const w = p.packets / P;
      s += w * w * (own[i]! / p.packets - R) ** 2;
    });
    varBatch = (k / (k - 1)) * s;
  }
  const spread = row.corrected && row.probe_overhead_spread_ns !== null ? row.probe_overhead_spread_ns : 0;
  const varCal = ((spread * n) / packets) ** 2;
  const byIntervals = varBatch > varHist;
  return {
    value,
    variance: Math.max(varHist, varBatch) + varCal,
    df: byIntervals ? k - 1 : Infinity,
    method: byIntervals ? 'intervals' : 'histogram',
  };
}

/** The noise of a sampled-mode stage's ns per packet: a Poisson count over its exposure. */
export function sampledStageNoise(r: SampledReport, s: SampledStageReport): StageNoise | null {
  if (!(r.packets > 0) || !(r.sample_hz > 0)) return null;
  // value = samples / exposure, with the sampler's own-time correction folded into the exposure
  const keep = s.raw_ns_per_packet > 0 ? s.ns_per_packet / s.raw_ns_per_packet : 1;
  const exposure = (r.packets * r.sample_hz) / 1e9 / keep;
  return { value: s.ns_per_packet, variance: s.samples / (exposure * exposure), df: Infinity, method: 'samples', count: s.samples, exposure };
}

export interface DeltaTest {
  delta_ns_per_packet: number;
  /** 100 · delta / A, null when A is 0. */
  delta_pct: number | null;
  /** Two-sided p-value that the stage did not change; null when the two sides cannot be tested together. */
  p_value: number | null;
  significant: boolean;
  /** The delta's interval at 1 − DELTA_ALPHA, null with p_value. */
  delta_ci_ns: [number, number] | null;
  noise: NoiseMethod | 'mixed';
}

/** Tests B − A (see the file header). */
export function deltaTest(a: StageNoise, b: StageNoise, alpha = DELTA_ALPHA): DeltaTest {
  const delta = b.value - a.value;
  const delta_pct = a.value !== 0 ? (100 * delta) / a.value : null;
  const se = Math.sqrt(a.variance + b.variance);
  const sampled = a.method === 'samples' && b.method === 'samples';
  if (sampled !== (a.method === 'samples' || b.method === 'samples')) {
    // A count against a latency sum: different estimators, no joint test.
    return { delta_ns_per_packet: delta, delta_pct, p_value: null, significant: false, delta_ci_ns: null, noise: 'mixed' };
  }
  let p: number;
  let q: number;
  if (sampled) {
    p = poissonRatesP(a.count!, a.exposure!, b.count!, b.exposure!);
    q = studentQuantile(alpha, Infinity);
  } else {
    const ta = a.df === Infinity ? 0 : a.variance ** 2 / a.df;
    const tb = b.df === Infinity ? 0 : b.variance ** 2 / b.df;
    const df = ta + tb > 0 ? (a.variance + b.variance) ** 2 / (ta + tb) : Infinity;
    p = se > 0 ? studentTwoSidedP(delta / se, df) : delta === 0 ? 1 : 0;
    q = studentQuantile(alpha, df);
  }
  const noise = sampled ? 'samples' : a.method === 'intervals' || b.method === 'intervals' ? 'intervals' : 'histogram';
  return {
    delta_ns_per_packet: delta,
    delta_pct,
    p_value: p,
    significant: p < alpha,
    delta_ci_ns: [delta - q * se, delta + q * se],
    noise,
  };
}
