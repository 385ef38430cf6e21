// Two sessions side by side: per stage (matched by name), how ns per packet and the latency
// quantiles moved from A to B. Both sides use the same report math, so a correction in one and
// not the other is flagged rather than silently compared.
import { buildReport, type StageRow } from './report.ts';
import type { Session } from './session.ts';

export interface StageDiff {
  name: string;
  a: StageRow | null;
  b: StageRow | null;
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
}

const sub = (b: number | null | undefined, a: number | null | undefined) => (b == null || a == null ? null : b - a);

export function diffSessions(a: Session, b: Session): SessionDiff {
  const ra = buildReport(a);
  const rb = buildReport(b);
  const names = [...new Set([...ra.stages.map((s) => s.name), ...rb.stages.map((s) => s.name)])];
  const stages = names.map((name) => {
    const sa = ra.stages.find((s) => s.name === name) ?? null;
    const sb = rb.stages.find((s) => s.name === name) ?? null;
    const d = sub(sb?.ns_per_packet, sa?.ns_per_packet);
    return {
      name,
      a: sa,
      b: sb,
      ns_per_packet_delta: d,
      ns_per_packet_change: d !== null && sa?.ns_per_packet ? d / sa.ns_per_packet : null,
      p50_delta: sub(sb?.p50_ns, sa?.p50_ns),
      p99_delta: sub(sb?.p99_ns, sa?.p99_ns),
      correction_mismatch: sa !== null && sb !== null && sa.corrected !== sb.corrected,
    };
  });
  return { stages, a_duration_s: a.duration_s, b_duration_s: b.duration_s };
}
