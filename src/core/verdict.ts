// The verdict: which stage is the weakest link of the path, what it costs per packet, and what that
// means for the forwarder — the packet rate one core sustains on this path (1e9 / path ns per
// packet) and what the path would gain if the weakest stage cost as much as the next-worst one.
//
// Every number is on busy time: a poll stage (called whether or not packets arrive) counts only
// the calls that handled packets, and a stage that runs inside another counts only its own time,
// so the path adds each nanosecond once. Recordings that do not carry those fields (no `poll`,
// `self_ns_per_packet`) fall back to the stage's ns per packet and say so in `basis`.
// Stages below the probe's resolution are named, never shown as 0.
import type { Report, StageRow } from './report.ts';
import { pollNote, type SampledReport, type SampledStageReport } from './sampled.ts';
import type { SampledPollKind } from './session.ts';

/** Fields of a stage row that newer reports add (stage trees, poll functions, resolution). */
export interface StageTreeFields {
  parent?: string | null;
  self_ns_per_packet?: number | null;
  poll?: boolean;
  busy_calls?: number | null;
  idle_calls?: number | null;
  idle_ns?: number | null;
  busy_ns_per_packet?: number | null;
  below_resolution?: boolean;
  resolution_ns?: number | null;
}

export type VerdictRow = StageRow & StageTreeFields;
export type VerdictSampledStage = SampledStageReport & StageTreeFields;

export type CostBasis = 'busy-self' | 'self' | 'busy' | 'inclusive' | 'sampled';

export interface StageCost {
  name: string;
  /** ns per packet on busy time, own time only where the recording separates it. */
  ns_per_packet: number;
  /** Of the path's busy ns per packet. */
  share: number;
  basis: CostBasis;
  poll: boolean;
  /** Idle-poll time per packet left out of ns_per_packet (poll stages), null when not separated. */
  idle_ns_per_packet: number | null;
  /** Sampled mode: the interval of ns_per_packet from the sample count. */
  ci_ns: [number, number] | null;
  /** Sampled mode: too few samples for its number to stand (see sampled.ts). */
  too_few_samples?: boolean;
}

/** Sampled mode: a poll stage whose samples include its idle polling (no busy/idle split): listed, never ranked. */
export interface IdleInclusive {
  name: string;
  /** All its samples per packet: busy and idle polling together (an upper bound of its busy cost). */
  ns_per_packet: number;
  ci_ns: [number, number];
  poll_by: SampledPollKind | null;
  /** rte_graph's calls of the node per object it processed, when read. */
  calls_per_packet: number | null;
}

export interface BelowResolution {
  name: string;
  /** What the probe can resolve at this site (ns per call); null when the recording does not say. */
  resolution_ns: number | null;
}

export interface Verdict {
  mode: 'exact' | 'sampled';
  weakest: StageCost | null;
  next: StageCost | null;
  /** Sum of the stages' busy ns per packet: the path, each nanosecond once. */
  path_ns_per_packet: number | null;
  /** 1e9 / path_ns_per_packet: packets per second one core sustains on this path. */
  packets_per_s_one_core: number | null;
  /** If the weakest stage cost as much as the next-worst. */
  gain: {
    saved_ns_per_packet: number;
    path_ns_per_packet: number;
    packets_per_s_one_core: number;
    /** Relative gain in packets/s, e.g. 0.25 = +25%. */
    rate_gain: number;
  } | null;
  /** Sampled mode: the weakest and the next-worst are apart beyond counting noise (their intervals do not overlap). */
  separable: boolean | null;
  below_resolution: BelowResolution[];
  /** Sampled mode: poll stages left out of the ranking and of the path because their samples include idle polling. */
  idle_inclusive: IdleInclusive[];
  /** Stages measured, in path order, with their busy cost. */
  stages: StageCost[];
  /** How the per-stage costs were formed (the least separated basis among the stages). */
  basis: CostBasis;
  /** Why there is no weakest link (no stage measured anything), else null. */
  reason: string | null;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** A stage's busy, own cost per packet from whichever fields the recording has. */
export function exactStageCost(row: VerdictRow): { ns: number; basis: CostBasis; idle: number | null } | null {
  if (!finite(row.ns_per_packet)) return null;
  const self = finite(row.self_ns_per_packet) ? row.self_ns_per_packet : null;
  let ns = self ?? row.ns_per_packet;
  let idle: number | null = null;
  if (row.poll === true && finite(row.busy_ns_per_packet)) {
    // The idle part of a poll stage is what its calls cost beyond the busy ones, per packet.
    idle = Math.max(0, row.ns_per_packet - row.busy_ns_per_packet);
    ns = Math.max(0, ns - idle);
  }
  const basis: CostBasis = self !== null ? (idle !== null ? 'busy-self' : 'self') : idle !== null ? 'busy' : 'inclusive';
  return { ns, basis, idle };
}

const BASIS_ORDER: CostBasis[] = ['inclusive', 'busy', 'self', 'busy-self', 'sampled'];

function build(mode: Verdict['mode'], costs: StageCost[], below: BelowResolution[], sampled: boolean, idleIncl: IdleInclusive[] = []): Verdict {
  const path = costs.reduce((a, c) => a + c.ns_per_packet, 0);
  for (const c of costs) c.share = path > 0 ? c.ns_per_packet / path : 0;
  const ranked = costs.filter((c) => c.ns_per_packet > 0).sort((a, b) => b.ns_per_packet - a.ns_per_packet);
  const weakest = ranked[0] ?? null;
  const next = ranked[1] ?? null;
  let gain: Verdict['gain'] = null;
  // A next-worst of too few samples is a number that does not stand (sampled.ts): no gain from it.
  if (weakest && next && path > 0 && next.too_few_samples !== true) {
    const saved = weakest.ns_per_packet - next.ns_per_packet;
    const newPath = path - saved;
    if (newPath > 0) gain = { saved_ns_per_packet: saved, path_ns_per_packet: newPath, packets_per_s_one_core: 1e9 / newPath, rate_gain: path / newPath - 1 };
  }
  let separable: boolean | null = null;
  if (sampled && weakest?.ci_ns && next?.ci_ns) separable = weakest.ci_ns[0] > next.ci_ns[1];
  const basis = costs.reduce<CostBasis>((b, c) => (BASIS_ORDER.indexOf(c.basis) < BASIS_ORDER.indexOf(b) ? c.basis : b), sampled ? 'sampled' : 'busy-self');
  return {
    mode,
    weakest,
    next,
    path_ns_per_packet: path > 0 ? path : null,
    packets_per_s_one_core: path > 0 ? 1e9 / path : null,
    gain,
    separable,
    below_resolution: below,
    idle_inclusive: idleIncl,
    stages: costs,
    basis: costs.length ? basis : 'inclusive',
    reason: weakest
      ? null
      : costs.length === 0 && idleIncl.length > 0
        ? `the only stage${idleIncl.length > 1 ? 's' : ''} sampled (${idleIncl.map((i) => i.name).join(', ')}) poll${idleIncl.length > 1 ? '' : 's'} ` +
          'for packets, and CPU samples include the idle polling: record in exact mode to split busy from idle'
        : costs.length === 0 ? 'no stage measured a cost per packet' : 'every stage measured 0 ns per packet',
  };
}

/** The verdict of an exact-mode report (probed stages). */
export function exactVerdict(report: Pick<Report, 'stages'>): Verdict {
  const costs: StageCost[] = [];
  const below: BelowResolution[] = [];
  for (const row of report.stages as VerdictRow[]) {
    if (row.below_resolution === true) {
      below.push({ name: row.name, resolution_ns: finite(row.resolution_ns) ? row.resolution_ns : null });
      continue; // too small to resolve: neither the weakest link nor a number to add
    }
    const c = exactStageCost(row);
    if (!c) continue;
    costs.push({ name: row.name, ns_per_packet: c.ns, share: 0, basis: c.basis, poll: row.poll === true, idle_ns_per_packet: c.idle, ci_ns: null });
  }
  return build('exact', costs, below, false);
}

/** The verdict of a sampled-mode report (CPU samples, no probes). */
export function sampledVerdict(r: SampledReport): Verdict {
  const costs: StageCost[] = [];
  const idleIncl: IdleInclusive[] = [];
  for (const s of r.stages as VerdictSampledStage[]) {
    if (!finite(s.ns_per_packet)) continue;
    if (s.poll === true && !finite(s.busy_ns_per_packet)) {
      // Samples of a poll function are its busy and its empty calls alike: at tens of kpps mostly empty ones.
      // Ranking them would name the poll loop the weakest link; nothing here measures its busy part.
      idleIncl.push({
        name: s.name, ns_per_packet: s.ns_per_packet, ci_ns: [s.ci_low_ns, s.ci_high_ns], poll_by: s.poll_by ?? null,
        calls_per_packet: finite(s.calls_per_packet) ? s.calls_per_packet : null,
      });
      continue;
    }
    let ns = s.ns_per_packet;
    let idle: number | null = null;
    if (s.poll === true && finite(s.busy_ns_per_packet)) {
      idle = Math.max(0, ns - s.busy_ns_per_packet);
      ns = s.busy_ns_per_packet;
    }
    const scale = s.ns_per_packet > 0 ? ns / s.ns_per_packet : 1;
    costs.push({
      name: s.name, ns_per_packet: ns, share: 0, basis: 'sampled', poll: s.poll === true, idle_ns_per_packet: idle,
      ci_ns: [s.ci_low_ns * scale, s.ci_high_ns * scale],
      too_few_samples: s.too_few_samples === true,
    });
  }
  return build('sampled', costs, [], true, idleIncl);
}

/** The verdict of whichever mode the report was recorded in. */
export function verdictOf(report: Report): Verdict {
  if (report.stages.length === 0 && report.sampled) return sampledVerdict(report.sampled);
  return exactVerdict(report);
}

// ---- text -----------------------------------------------------------------------------------

/** ns as people read them: 812 ns, 1.52 µs, 13.4 ms. */
export function fmtVerdictNs(v: number): string {
  const a = Math.abs(v);
  if (a < 1000) return `${a >= 100 ? Math.round(v) : Number(v.toPrecision(3))} ns`;
  if (a < 1e6) return `${Number((v / 1e3).toPrecision(3))} µs`;
  if (a < 1e9) return `${Number((v / 1e6).toPrecision(3))} ms`;
  return `${Number((v / 1e9).toPrecision(3))} s`;
}

/** Packets per second as people read them: 55.2 kpps, 1.48 Mpps. */
export function fmtRate(pps: number): string {
  if (pps >= 1e9) return `${Number((pps / 1e9).toPrecision(3))} Gpps`;
  if (pps >= 1e6) return `${Number((pps / 1e6).toPrecision(3))} Mpps`;
  if (pps >= 1e3) return `${Number((pps / 1e3).toPrecision(3))} kpps`;
  return `${Math.round(pps)} pps`;
}

const pct = (f: number): string => `${(f * 100).toFixed(f >= 0.1 ? 0 : 1)}%`;

/** "fwd_tx: 18.1 µs/packet, 87% of the path" — the headline, or why there is none. */
export function verdictHeadline(v: Verdict): string {
  if (!v.weakest) return `No weakest link: ${v.reason ?? 'nothing measured'}`;
  return `Weakest link: ${v.weakest.name}, ${fmtVerdictNs(v.weakest.ns_per_packet)}/packet (${pct(v.weakest.share)} of the path)`;
}

/** The sentences under the headline: rate on one core, the gain, what was left out. */
export function verdictDetails(v: Verdict): string[] {
  const out: string[] = [];
  if (v.path_ns_per_packet !== null && v.packets_per_s_one_core !== null) {
    const without = v.idle_inclusive.length ? ` without ${v.idle_inclusive.map((i) => i.name).join(', ')}` : '';
    out.push(
      `The path${without} costs ${fmtVerdictNs(v.path_ns_per_packet)} of busy time per packet: one core sustains ` +
        `${without ? 'at most' : 'about'} ${fmtRate(v.packets_per_s_one_core)} on it.`,
    );
  }
  if (v.weakest && v.next && v.gain) {
    out.push(
      `If ${v.weakest.name} cost as much as ${v.next.name} (${fmtVerdictNs(v.next.ns_per_packet)}/packet), the path would save ` +
        `${fmtVerdictNs(v.gain.saved_ns_per_packet)}/packet: ${fmtRate(v.gain.packets_per_s_one_core)} per core (+${pct(v.gain.rate_gain)}).`,
    );
  }
  if (v.weakest && v.next && !v.gain && v.next.too_few_samples === true) {
    out.push(`The next-worst stage, ${v.next.name}, got too few samples to say what the path would gain if ${v.weakest.name} cost as much.`);
  }
  if (v.separable === false && v.weakest && v.next) out.push(`${v.weakest.name} and ${v.next.name} are within counting noise of each other: record longer or sample faster to tell them apart.`);
  const idle = v.stages.filter((s) => s.idle_ns_per_packet !== null && s.idle_ns_per_packet > 0);
  if (idle.length) out.push(`Idle polling left out: ${idle.map((s) => `${s.name} ${fmtVerdictNs(s.idle_ns_per_packet!)}/packet`).join(', ')}.`);
  for (const i of v.idle_inclusive) {
    out.push(`${i.name}: ${fmtVerdictNs(i.ns_per_packet)}/packet including idle polling; ${pollNote({ poll_by: i.poll_by ?? undefined, calls_per_packet: i.calls_per_packet })}`);
  }
  for (const b of v.below_resolution) out.push(`${b.name}: ${b.resolution_ns !== null ? `< ${fmtVerdictNs(b.resolution_ns)}, ` : ''}below the probe's resolution.`);
  if (v.basis === 'inclusive' && v.stages.length > 1) {
    out.push('This recording does not separate idle polls or nested stages: each stage counts all its calls\' time.');
  }
  return out;
}

/** One short line for the status bar: "weakest: fwd_tx 18.1 µs/pkt (87%) · 55 kpps/core". */
export function verdictStatus(v: Verdict): string {
  const idle = v.idle_inclusive.map((i) => i.name).join(', ');
  if (!v.weakest) return idle ? `no weakest link: ${idle} not ranked (idle polling)` : 'no weakest link yet';
  // without the poll stages the path is a lower bound, so its rate an upper one
  const rate = v.packets_per_s_one_core !== null ? ` · ${idle ? '≤ ' : ''}${fmtRate(v.packets_per_s_one_core)}/core` : '';
  return `weakest: ${v.weakest.name} ${fmtVerdictNs(v.weakest.ns_per_packet)}/pkt (${pct(v.weakest.share)})${rate}${idle ? ` · ${idle} not ranked (idle polling)` : ''}`;
}
