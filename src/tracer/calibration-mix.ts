// Combines a stage's calibrations over a recording: the probe cost drifts (single-stepped
// sites by several hundred ns over seconds), so the tracer measures it again each interval. Each
// interval's timed calls are corrected with the mean of the calibration measured just before it and
// the one just after (linear drift inside the interval); the stage's calibration is the call-weighted
// average of that. The stated spread combines the batches' own spread with half the step between the
// two bracketing calibrations: how far the cost moved while those calls ran. A calibration measured in
// the background during an interval (`during`) is that interval's time average: its calls use it alone.
import type { Calibration } from '../core/session.ts';

export interface TimedCalibration {
  /** Interval at whose start it was measured; 0 for the one before counting began. */
  seq: number;
  /** Measured in the background all through this interval: that interval's calls use it alone. */
  during?: number;
  cal: Calibration;
}

type Pick = (c: Calibration) => { v: number; sp: number } | null;

const median: Pick = (c) => ({ v: c.inner_ns, sp: c.inner_spread_ns });
const outer: Pick = (c) => ({ v: c.outer_ns, sp: c.outer_spread_ns });
const mean: Pick = (c) =>
  typeof c.inner_mean_ns === 'number' && Number.isFinite(c.inner_mean_ns)
    ? { v: c.inner_mean_ns, sp: typeof c.inner_mean_spread_ns === 'number' && Number.isFinite(c.inner_mean_spread_ns) ? c.inner_mean_spread_ns : c.inner_spread_ns }
    : null;

/**
 * cals: in stream order; timedBySeq: timed calls per interval. Returns null without calibrations.
 * One calibration, or no timed calls: the first calibration, unchanged.
 */
export function mixCalibrations(cals: readonly TimedCalibration[], timedBySeq: ReadonlyMap<number, number>): Calibration | null {
  if (cals.length === 0) return null;
  const first = cals[0]!.cal;
  const sorted = [...cals].sort((a, b) => a.seq - b.seq); // stable: equal seqs keep stream order
  const weights = [...timedBySeq.entries()].filter(([, w]) => w > 0);
  const total = weights.reduce((a, [, w]) => a + w, 0);
  if (cals.length === 1 || total === 0) return { ...first };
  const mix = (pick: Pick): { v: number; sp: number } | null => {
    let v = 0;
    let sp2 = 0;
    for (const [k, w] of weights) {
      const over = sorted.find((c) => c.during === k);
      if (over) {
        const o = pick(over.cal) ?? median(over.cal)!;
        v += w * o.v;
        sp2 += w * o.sp * o.sp;
        continue;
      }
      let before = sorted[0]!;
      for (const c of sorted) if (c.seq <= k) before = c;
      const after = sorted.find((c) => c.seq > k) ?? before;
      const a = pick(before.cal) ?? median(before.cal)!;
      const b = pick(after.cal) ?? median(after.cal)!;
      v += (w * (a.v + b.v)) / 2;
      const within = (a.sp + b.sp) / 2;
      const step = Math.abs(a.v - b.v) / 2;
      sp2 += w * (within * within + step * step);
    }
    return { v: v / total, sp: Math.sqrt(sp2 / total) };
  };
  const inner = mix(median)!;
  const out = mix(outer)!;
  const anyMean = cals.some((c) => mean(c.cal) !== null);
  const m = anyMean ? mix(mean) : null;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const placed = new Set(cals.flatMap((c) => (c.cal.placement ? [c.cal.placement] : [])));
  const placement = placed.size === 0 ? undefined : placed.size === 1 ? [...placed][0] : 'mixed';
  return {
    ...first,
    runs: cals.reduce((a, c) => a + c.cal.runs, 0),
    inner_ns: r1(inner.v),
    inner_spread_ns: r1(inner.sp),
    outer_ns: r1(out.v),
    outer_spread_ns: r1(out.sp),
    inner_mean_ns: m ? r1(m.v) : null,
    inner_mean_spread_ns: m ? r1(m.sp) : null,
    calibrations: cals.length,
    ...(placement ? { placement } : {}),
  };
}
