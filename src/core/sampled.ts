// Sampled mode: ns per packet per stage from CPU stack samples, without stage probes.
//
// A sample is attributed to the stage whose function is nearest to the leaf of its stack (a stage
// that calls another stage keeps only the time outside it: self time of the stage subtree). With
// the sampler firing every 1/hz seconds of the target's CPU time, k samples in a stage estimate
// k/hz seconds of CPU spent there, so
//     ns per packet = (k / hz) × 1e9 / packets,
// where packets come from counters read without probes (interface statistics, DPDK telemetry).
//
// The sampler's own time: each sample stops the thread for the timer interrupt's delivery (the
// tick's timer_late_ns, ~8–14 µs in this VM) and the sampling program (sample_run_ns, ~2.7 µs).
// That time runs on the thread's task-clock, so the sampling grid includes it, but no sample ever
// lands in it (the next one is a period later): every function's k/hz reads high by the same
// factor 1 / (1 − stall × hz). ns per packet is corrected by that factor when the recording has
// both numbers (measured here: 5 and 20 µs stages read +1.5…+3% uncorrected at 999 Hz); the raw
// value is kept beside it.
//
// Uncertainty: the count k is treated as Poisson (the number of sampling instants that land in the
// stage's CPU time). The interval is the exact (Garwood) Poisson interval on k, scaled like k. For
// a share p of N samples the binomial variance N·p(1-p) is below the Poisson N·p, so the interval
// is slightly conservative for large shares. It covers counting noise only: packets counted over a
// slightly different window than the samples, or time the stage spent off the CPU, are not in it.
// Below MIN_STAGE_SAMPLES the interval spans more than about ±60% of the number (k = 10: 4.8–18.4):
// such a stage is flagged too_few_samples and the table says so instead of letting the number stand
// (at tens of kpps a 10 ns stage is a few samples a second).
import type { Frame, SampledMeasurement, SampledPollKind, SampledStage, Session, StackSample } from './session.ts';
import { lnGamma } from './stats.ts';
import { isCopyOf } from './gcc-clones.ts';

/** ELF virtual addresses [lo, hi) of a module; the module is compared by basename. */
export interface AddressRange { module: string; lo: number; hi: number }

/** A stage function to look for on the stacks. */
export interface SampledStageSpec {
  name: string;
  symbol: string;
  /** Basename of the binary the function lives in; null matches any module. */
  module: string | null;
  /** When given, the stage is these address ranges (frames by module and elf_addr), not `symbol`: code
   * without a name of its own (an offset, a graph node, inlined code). */
  ranges?: AddressRange[];
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** GCC clones (`f.isra.0`, `f.constprop.0`, `f.part.0`, `f.cold`) are still `f` to a reader. */
function sameFunction(fn: string, symbol: string): boolean {
  return isCopyOf(fn, symbol);
}

/** The frame's ELF address, or null (kernel, anonymous and JIT frames have none). */
function elfAddr(f: Frame): number | null {
  if (f.elf_addr === undefined || f.elf_addr === null) return null;
  const v = parseInt(f.elf_addr, 16);
  return Number.isFinite(v) ? v : null;
}

/** Whether a frame is in the stage: by its ranges when it has them, else by function name. */
export function frameInStage(f: Frame, s: SampledStageSpec): boolean {
  if (s.ranges) {
    const a = elfAddr(f);
    if (a === null) return false;
    const mod = basename(f.module);
    return s.ranges.some((r) => basename(r.module) === mod && r.lo <= a && a < r.hi);
  }
  return sameFunction(f.fn, s.symbol) && (s.module === null || basename(f.module) === s.module);
}

/** The stage each frame belongs to (index into specs), or -1. */
function frameStages(frames: readonly Frame[], specs: readonly SampledStageSpec[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of frames) out.set(f.id, specs.findIndex((s) => frameInStage(f, s)));
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
    ...(s.ranges ? { ranges: s.ranges.map((r) => ({ ...r })) } : {}),
  }));
  return { stages, samples: total, unattributed };
}

// ---- Poisson interval ------------------------------------------------------------------------

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

/** The kernel re-arms a thread's sampling timer at least this far into a slice when a sample was still
 * owed at the switch-out (perf_swevent_start_hrtimer). */
export const REARM_MIN_NS = 10_000;

/**
 * Upper bound on the share of samples taken in a later function than the one they were due in:
 * the sampling timer's first firing after each switch-in comes timer_late_ns after its expiry, and
 * one owed at a switch-out fires REARM_MIN_NS into the next slice, so up to the larger of the two of
 * each slice's samples land later than due, in code that runs early in the slice. Measured: with
 * ~9 µs lateness 20 µs bursts read +8–25% and 100 µs bursts −1–+7% (about half of this bound); with
 * 3.1 µs lateness 20 µs bursts read +17.5%, 3.7 µs a wake-up, more than the lateness alone. Null when
 * the recording lacks the numbers.
 */
export function sampleShiftBound(m: Pick<SampledMeasurement, 'cpu_s' | 'slices' | 'timer_late_ns'>): number | null {
  if (m.cpu_s === undefined || m.slices === undefined || m.timer_late_ns === undefined || !(m.cpu_s > 0)) return null;
  return Math.min(1, (Math.max(m.timer_late_ns, REARM_MIN_NS) * m.slices) / (m.cpu_s * 1e9));
}

export function describeSampleShift(m: Pick<SampledMeasurement, 'cpu_s' | 'slices' | 'timer_late_ns'>, bound: number): string {
  const perSliceUs = m.cpu_s !== undefined && m.slices ? (m.cpu_s * 1e6) / m.slices : NaN;
  return (
    `the sampled threads ran in short slices (${perSliceUs.toFixed(0)} µs of CPU per wake-up on average) and the sampling ` +
    `timer fired ${((m.timer_late_ns ?? 0) / 1000).toFixed(1)} µs late (a sample owed at a sleep, ${REARM_MIN_NS / 1000} µs into the next slice): ` +
    `up to ${(bound * 100).toFixed(0)}% of the samples ` +
    'may have landed a few µs after they were due, in code that runs early after a wake-up, so such stages can read high'
  );
}

/**
 * Whether the samples account for the CPU time the sampled threads ran (their task-clock, which
 * the sampling timer runs on): k samples should be cpu_s × hz. Fewer mean samples were lost or the
 * kernel throttled the rate; then every stage reads low by the same factor. Nothing is scaled.
 */
export function sampledCpuCheck(samples: number, hz: number, cpuS: number | undefined): { ratio: number | null; warning: string | null } {
  if (cpuS === undefined || !(cpuS > 0) || !(hz > 0)) return { ratio: null, warning: null };
  const expected = cpuS * hz;
  const ratio = samples / expected;
  // below ~100 expected samples the sampling timer's phase alone moves the count by a few %
  if (expected < 100 || Math.abs(ratio - 1) <= 0.1) return { ratio, warning: null };
  return {
    ratio,
    warning:
      `the sampled threads ran ${cpuS.toFixed(3)} s (task-clock) but the samples account for ` +
      `${(samples / hz).toFixed(3)} s (${samples} at ${hz} Hz, ${Math.round((ratio - 1) * 100)}%): samples were lost or ` +
      'throttled (kernel.perf_event_max_sample_rate); every stage reads off by that factor',
  };
}

export interface SampledStageReport {
  name: string;
  symbol: string;
  samples: number;
  inclusive_samples: number;
  /** Share of all the target's samples in the window. */
  share: number;
  /** CPU time in the stage per packet: (samples / hz) × 1e9 / packets, less the sampler's own share (see the file header). */
  ns_per_packet: number;
  /** (samples / hz) × 1e9 / packets, as counted. */
  raw_ns_per_packet: number;
  /** Confidence interval of ns_per_packet from the sample count (Poisson, see the file header). */
  ci_low_ns: number;
  ci_high_ns: number;
  confidence: number;
  /** Fewer than MIN_STAGE_SAMPLES samples: the number is too uncertain to read (record longer or at a higher rate). */
  too_few_samples?: boolean;
  /** A poll function (called whether or not packets arrive): its samples, and so ns_per_packet, include idle polling,
   * which samples cannot tell from busy calls. The verdict does not rank it (verdict.ts). */
  poll?: boolean;
  poll_by?: SampledPollKind;
  /** rte_graph's counters of the stage's node(s) over the counter window (graph: stages read by the tracer). */
  graph_calls?: number;
  graph_objs?: number;
  /** graph_calls / graph_objs: calls of the node per object (packet) it processed; null when it processed none. */
  calls_per_packet?: number | null;
}

/** Samples below which a stage's ns per packet is not read as a measurement (see the file header). */
export const MIN_STAGE_SAMPLES = 10;

export interface SampledReport {
  sample_hz: number;
  samples: number;
  window_s: number;
  packets: number;
  packets_source: string;
  packets_per_second: number;
  stages: SampledStageReport[];
  /** The sampled threads' task-clock over the window, s (absent from older recordings). */
  cpu_s?: number;
  /** (samples / hz) / cpu_s: 1 when every sample the threads' CPU time called for was taken. */
  samples_per_cpu?: number;
  /** What the scheduler charged the same threads, s: more than cpu_s by each wake-up's latency. */
  sched_s?: number;
  /** Upper bound on the share of samples displaced across wake-ups (sampleShiftBound). */
  shift_bound?: number;
  /** What each sample took from the sampled thread, ns (timer delivery + sampling program), and that time's share of
   * the thread's CPU (stall × hz), removed from ns_per_packet. Absent when the recording lacks the numbers (then
   * ns_per_packet = raw_ns_per_packet). */
  sampler_stall_ns?: number;
  sampler_share?: number;
}

/** The sampler's own share of the sampled thread's CPU time: (timer lateness + program run time) × hz. */
export function samplerShare(m: Pick<SampledMeasurement, 'sample_hz' | 'timer_late_ns' | 'sample_run_ns'>): { stall_ns: number; share: number } | null {
  if (m.timer_late_ns === undefined || m.sample_run_ns === undefined || !(m.sample_hz > 0)) return null;
  const stall = m.timer_late_ns + m.sample_run_ns;
  if (!(stall >= 0)) return null;
  // a period the stall fills is a sampler that measures only itself: say nothing rather than divide by ~0
  const share = (stall * m.sample_hz) / 1e9;
  return share < 0.5 ? { stall_ns: stall, share } : null;
}

/** ns per packet per stage with its interval; null when the measurement cannot give one. */
export function sampledStageNumbers(m: SampledMeasurement, confidence = 0.95): SampledReport {
  if (!(m.sample_hz > 0)) throw new RangeError(`sampled: sample rate must be > 0 Hz, got ${m.sample_hz}`);
  if (!(m.packets > 0)) throw new RangeError('sampled: no packets were counted in the window; cannot divide by packets');
  const nsPerSample = 1e9 / m.sample_hz;
  const shift = sampleShiftBound(m);
  const sampler = samplerShare(m);
  const keep = sampler ? 1 - sampler.share : 1;
  const stages = m.stages.map((s) => {
    const [lo, hi] = poissonInterval(s.samples, confidence);
    const raw = (s.samples * nsPerSample) / m.packets;
    return {
      name: s.name,
      symbol: s.symbol,
      samples: s.samples,
      inclusive_samples: s.inclusive_samples,
      share: m.samples > 0 ? s.samples / m.samples : 0,
      ns_per_packet: raw * keep,
      raw_ns_per_packet: raw,
      ci_low_ns: ((lo * nsPerSample) / m.packets) * keep,
      ci_high_ns: ((hi * nsPerSample) / m.packets) * keep,
      confidence,
      too_few_samples: s.samples < MIN_STAGE_SAMPLES,
      ...(s.poll === true ? { poll: true, ...(s.poll_by ? { poll_by: s.poll_by } : {}) } : {}),
      ...(s.graph_counters
        ? {
            graph_calls: s.graph_counters.calls,
            graph_objs: s.graph_counters.objs,
            calls_per_packet: s.graph_counters.objs > 0 ? s.graph_counters.calls / s.graph_counters.objs : null,
          }
        : {}),
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
    ...(m.cpu_s !== undefined && m.cpu_s > 0 ? { cpu_s: m.cpu_s, samples_per_cpu: m.samples / m.sample_hz / m.cpu_s } : {}),
    ...(m.cpu_s !== undefined && m.sched_s !== undefined ? { sched_s: m.sched_s } : {}),
    ...(shift !== null ? { shift_bound: shift } : {}),
    ...(sampler ? { sampler_stall_ns: sampler.stall_ns, sampler_share: sampler.share } : {}),
  };
}

/** For report.ts: the sampled numbers of a session, or null when it was not recorded sampled. */
export function sampledReport(session: Session, confidence = 0.95): SampledReport | null {
  return session.sampled ? sampledStageNumbers(session.sampled, confidence) : null;
}

/** 23.4, 1.02, 0.00391: calls per packet as people read them. */
export function formatCallsPerPacket(v: number): string {
  return v >= 10 ? v.toFixed(1) : Number(v.toPrecision(3)).toString();
}

/** Why a sampled poll stage's ns/pkt is not its cost, and what measures it (shared by the report and the verdict). */
export function pollNote(s: Pick<SampledStageReport, 'poll_by' | 'calls_per_packet'>): string {
  const what = s.poll_by === 'ethdev-rx' ? 'an ethdev rx burst function' : s.poll_by === 'graph-source' ? 'an rte_graph source node' : 'a poll function';
  return (
    `${what}, called whether or not packets arrived: its samples include idle polling, which CPU samples cannot tell ` +
    'from the calls that received packets, so its ns/pkt is an upper bound of its busy cost and it is not ranked' +
    (s.calls_per_packet !== null && s.calls_per_packet !== undefined ? ` (${formatCallsPerPacket(s.calls_per_packet)} calls per packet)` : '') +
    '. Record it in exact mode (--mode exact) to split busy from idle.'
  );
}

/** A plain-text table of a sampled report, for the CLI's `report`. */
export function formatSampledReport(r: SampledReport): string {
  const pct = Math.round((r.stages[0]?.confidence ?? 0.95) * 100);
  const lines = [
    `Sampled mode: ${r.samples} CPU samples at ${r.sample_hz} Hz over ${r.window_s.toFixed(2)} s; ` +
      `${r.packets} packets (${r.packets_source}), ${Math.round(r.packets_per_second)} pps. No stage probes: ` +
      `numbers carry no probe cost; the interval (${pct}%) is from the sample count.` +
      (r.sampler_stall_ns !== undefined && r.sampler_share !== undefined
        ? ` Corrected for the sampler's own time: ${(r.sampler_stall_ns / 1000).toFixed(1)} µs per sample ` +
          `(timer delivery and sampling program), ${(r.sampler_share * 100).toFixed(1)}% of the threads' CPU, removed from ns/pkt.`
        : ' Not corrected for the sampler\'s own time (this recording does not have it).'),
    `${'stage'.padEnd(20)} ${'samples'.padStart(8)} ${'share'.padStart(7)} ${'ns/pkt'.padStart(10)} ${`${pct}% interval`.padStart(22)}`,
  ];
  if (r.cpu_s !== undefined && r.samples_per_cpu !== undefined) {
    let cpu =
      `CPU: the sampled threads ran ${r.cpu_s.toFixed(3)} s (task-clock); the samples account for ` +
      `${(r.samples / r.sample_hz).toFixed(3)} s (${(r.samples_per_cpu * 100).toFixed(1)}%).`;
    // The scheduler starts a woken thread's clock at the wakeup: idle exit and the context switch
    // run no code of the thread and so sit in no stage, but /proc and top count them.
    if (r.sched_s !== undefined && r.sched_s > r.cpu_s * 1.02) {
      cpu +=
        ` The scheduler charged ${r.sched_s.toFixed(3)} s (+${(((r.sched_s - r.cpu_s) / r.cpu_s) * 100).toFixed(0)}%, ` +
        'as /proc and top show): the latency of each wake-up after a sleep, which runs none of the threads\' code.';
    }
    if (r.shift_bound !== undefined && r.shift_bound > 0.05) {
      cpu +=
        ` Short slices: up to ${(r.shift_bound * 100).toFixed(0)}% of the samples may have landed a few µs after they ` +
        'were due, in code run early after a wake-up.';
    }
    lines.splice(1, 0, cpu);
  }
  for (const s of r.stages) {
    lines.push(
      `${s.name.slice(0, 20).padEnd(20)} ${String(s.samples).padStart(8)} ${`${(s.share * 100).toFixed(1)}%`.padStart(7)} ` +
        `${s.ns_per_packet.toFixed(1).padStart(10)} ${`${s.ci_low_ns.toFixed(1)} – ${s.ci_high_ns.toFixed(1)}`.padStart(22)}` +
        (s.poll ? '  poll: idle included' : '') +
        (s.too_few_samples ? '  too few samples' : ''),
    );
  }
  for (const s of r.stages) {
    if (s.graph_calls !== undefined && s.graph_objs !== undefined) {
      lines.push(
        `${s.name}: rte_graph counted ${s.graph_calls} calls for ${s.graph_objs} objects` +
          (s.calls_per_packet !== null && s.calls_per_packet !== undefined ? ` (${formatCallsPerPacket(s.calls_per_packet)} calls per packet)` : '') + '.',
      );
    }
  }
  for (const s of r.stages.filter((x) => x.poll)) lines.push(`${s.name}: ${pollNote(s)}`);
  const few = r.stages.filter((s) => s.too_few_samples);
  if (few.length > 0) {
    lines.push(
      `too few samples: ${few.map((s) => `${s.name} (${s.samples})`).join(', ')} had fewer than ${MIN_STAGE_SAMPLES}; their ns/pkt ` +
        `is not a measurement, only the interval bounds it. ${Math.round(r.packets_per_second)} pps at ${r.sample_hz} Hz gives a ` +
        `${(1e9 / r.sample_hz / Math.max(1, r.packets_per_second)).toFixed(0)} ns/pkt stage one sample a second: record longer or at a higher --sample-hz.`,
    );
  }
  return lines.join('\n');
}
