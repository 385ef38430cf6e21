// Sampled mode: ns per packet per stage from CPU stack samples, without stage probes.
//
// A sample is attributed to the stage whose function is nearest to the leaf of its stack (a stage
// that calls another stage keeps only the time outside it: self time of the stage subtree). With
// the sampler firing every 1/hz seconds of the target's CPU time, k samples in a stage estimate
// k/hz seconds of CPU spent there, so
//     ns per packet = (k / hz) × 1e9 / packets,
// where packets come from counters read without probes (interface statistics, DPDK telemetry).
//
// Uncertainty: the count k is treated as Poisson (the number of sampling instants that land in the
// stage's CPU time). The interval is the exact (Garwood) Poisson interval on k, scaled like k. For
// a share p of N samples the binomial variance N·p(1-p) is below the Poisson N·p, so the interval
// is slightly conservative for large shares. It covers counting noise only: packets counted over a
// slightly different window than the samples, or time the stage spent off the CPU, are not in it.
import type { Frame, SampledMeasurement, SampledStage, Session, StackSample } from './session.ts';

/** A stage function to look for on the stacks. */
export interface SampledStageSpec {
  name: string;
  symbol: string;
  /** Basename of the binary the function lives in; null matches any module. */
  module: string | null;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** GCC clones (`f.isra.0`, `f.constprop.0`, `f.part.0`, `f.cold`) are still `f` to a reader. */
function sameFunction(fn: string, symbol: string): boolean {
  return fn === symbol || (fn.startsWith(symbol) && fn.charAt(symbol.length) === '.');
}

/** The stage each frame belongs to (index into specs), or -1. */
function frameStages(frames: readonly Frame[], specs: readonly SampledStageSpec[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of frames) {
    const i = specs.findIndex(
      (s) => sameFunction(f.fn, s.symbol) && (s.module === null || basename(f.module) === s.module),
    );
    out.set(f.id, i);
  }
  return out;
}

/**
 * Counts the samples of each stage: `samples` by the nearest stage frame from the leaf,
 * `inclusive_samples` for every stack that has the stage anywhere (a recursive stage counts once).
 */
export function attributeSamples(
  frames: readonly Frame[],
  stacks: readonly StackSample[],
  specs: readonly SampledStageSpec[],
): { stages: SampledStage[]; samples: number; unattributed: number } {
  const stageOf = frameStages(frames, specs);
  const self = specs.map(() => 0);
  const incl = specs.map(() => 0);
  let total = 0;
  let unattributed = 0;
  for (const st of stacks) {
    if (!Number.isFinite(st.count) || st.count <= 0) continue;
    total += st.count;
    let nearest = -1;
    const seen = new Set<number>();
    for (const id of st.frames) {
      const s = stageOf.get(id) ?? -1;
      if (s < 0) continue;
      if (nearest < 0) nearest = s;
      seen.add(s);
    }
    if (nearest < 0) unattributed += st.count;
    else self[nearest]! += st.count;
    for (const s of seen) incl[s]! += st.count;
  }
  const stages = specs.map((s, i) => ({
    name: s.name,
    symbol: s.symbol,
    module: s.module,
    samples: self[i]!,
    inclusive_samples: incl[i]!,
  }));
  return { stages, samples: total, unattributed };
}

// ---- Poisson interval ------------------------------------------------------------------------

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9): ~15 significant digits. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const xx = x - 1;
  let a = c[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized lower incomplete gamma P(a, x): series below a+1, continued fraction above. */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lead = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.min(1, sum * Math.exp(lead));
  }
  // Lentz's method for the continued fraction of Q(a, x).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.max(0, 1 - Math.exp(lead) * h);
}

/** The x with P(a, x) = p, by bisection (monotone in x; 200 halvings reach double precision). */
function gammaPInverse(a: number, p: number): number {
  let lo = 0;
  let hi = Math.max(1, a);
  while (gammaP(a, hi) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (gammaP(a, mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Exact two-sided interval for the mean of a Poisson count k at the given confidence:
 * [Γ⁻¹(α/2; k), Γ⁻¹(1-α/2; k+1)] (Garwood 1936), with 0 as the lower end for k = 0.
 */
export function poissonInterval(k: number, confidence = 0.95): [number, number] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`poissonInterval: count must be a whole number ≥ 0, got ${k}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`poissonInterval: confidence must be in (0, 1), got ${confidence}`);
  const alpha = 1 - confidence;
  const lo = k === 0 ? 0 : gammaPInverse(k, alpha / 2);
  const hi = gammaPInverse(k + 1, 1 - alpha / 2);
  return [lo, hi];
}

// ---- per-stage numbers -----------------------------------------------------------------------

export interface SampledStageReport {
  name: string;
  symbol: string;
  samples: number;
  inclusive_samples: number;
  /** Share of all the target's samples in the window. */
  share: number;
  /** CPU time in the stage per packet: (samples / hz) × 1e9 / packets. */
  ns_per_packet: number;
  /** Confidence interval of ns_per_packet from the sample count (Poisson, see the file header). */
  ci_low_ns: number;
  ci_high_ns: number;
  confidence: number;
}

export interface SampledReport {
  sample_hz: number;
  samples: number;
  window_s: number;
  packets: number;
  packets_source: string;
  packets_per_second: number;
  stages: SampledStageReport[];
}

/** ns per packet per stage with its interval; null when the measurement cannot give one. */
export function sampledStageNumbers(m: SampledMeasurement, confidence = 0.95): SampledReport {
  if (!(m.sample_hz > 0)) throw new RangeError(`sampled: sample rate must be > 0 Hz, got ${m.sample_hz}`);
  if (!(m.packets > 0)) throw new RangeError('sampled: no packets were counted in the window; cannot divide by packets');
  const nsPerSample = 1e9 / m.sample_hz;
  const stages = m.stages.map((s) => {
    const [lo, hi] = poissonInterval(s.samples, confidence);
    return {
      name: s.name,
      symbol: s.symbol,
      samples: s.samples,
      inclusive_samples: s.inclusive_samples,
      share: m.samples > 0 ? s.samples / m.samples : 0,
      ns_per_packet: (s.samples * nsPerSample) / m.packets,
      ci_low_ns: (lo * nsPerSample) / m.packets,
      ci_high_ns: (hi * nsPerSample) / m.packets,
      confidence,
    };
  });
  return {
    sample_hz: m.sample_hz,
    samples: m.samples,
    window_s: m.window_s,
    packets: m.packets,
    packets_source: m.packets_source,
    packets_per_second: m.window_s > 0 ? m.packets / m.window_s : 0,
    stages,
  };
}

/** For report.ts: the sampled numbers of a session, or null when it was not recorded sampled. */
export function sampledReport(session: Session, confidence = 0.95): SampledReport | null {
  return session.sampled ? sampledStageNumbers(session.sampled, confidence) : null;
}

/** A plain-text table of a sampled report, for the CLI's `report`. */
export function formatSampledReport(r: SampledReport): string {
  const pct = Math.round((r.stages[0]?.confidence ?? 0.95) * 100);
  const lines = [
    `Sampled mode: ${r.samples} CPU samples at ${r.sample_hz} Hz over ${r.window_s.toFixed(2)} s; ` +
      `${r.packets} packets (${r.packets_source}), ${Math.round(r.packets_per_second)} pps. No stage probes: ` +
      `numbers carry no probe cost; the interval (${pct}%) is from the sample count.`,
    `${'stage'.padEnd(20)} ${'samples'.padStart(8)} ${'share'.padStart(7)} ${'ns/pkt'.padStart(10)} ${`${pct}% interval`.padStart(22)}`,
  ];
  for (const s of r.stages) {
    lines.push(
      `${s.name.slice(0, 20).padEnd(20)} ${String(s.samples).padStart(8)} ${`${(s.share * 100).toFixed(1)}%`.padStart(7)} ` +
        `${s.ns_per_packet.toFixed(1).padStart(10)} ${`${s.ci_low_ns.toFixed(1)} – ${s.ci_high_ns.toFixed(1)}`.padStart(22)}`,
    );
  }
  return lines.join('\n');
}
