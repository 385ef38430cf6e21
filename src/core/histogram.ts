// The tracer's log-linear latency histogram (docs/stream.md; constants in native-tracer/pktpath.h): bucket math, merging and
// quantiles. Values below 2^sub_bits have a bucket each (exact values); above, each power of two
// is split into 2^sub_bits equal sub-buckets. Indices past the last bucket clamp into it, as the
// tracer does: the top bucket holds everything from its lower bound up.
//
// Quantiles: rank r = q·n; the bucket where the cumulative count first reaches r is found, and the
// value is interpolated linearly inside it (values assumed uniform within a bucket), so the result
// lies in the same bucket as the exact nearest-rank value: within one bucket width (≤ 6.25% at
// sub_bits 4). Width-1 buckets hold exact values and return them. The top bucket interpolates up
// to its nominal upper bound (2^(max_pow+1)).
//
// Overhead correction shifts every value down by a constant d, clamping at 0. Quantiles commute
// with that monotone map; the mean is corrected from the exact sum, adding back the estimated mass
// that the clamp cut off (zero unless values below d were recorded).
import type { HistLayout, SparseBuckets } from './session.ts';
import { HIST_MAX_POW, HIST_SUB_BITS } from '../tracer/protocol.ts';

export const DEFAULT_LAYOUT: HistLayout = { sub_bits: HIST_SUB_BITS, max_pow: HIST_MAX_POW };

export function bucketCount(l: HistLayout = DEFAULT_LAYOUT): number {
  return (l.max_pow - l.sub_bits + 2) * 2 ** l.sub_bits;
}

function floorLog2(v: number): number {
  let p = Math.floor(Math.log2(v));
  while (2 ** p > v) p--;
  while (2 ** (p + 1) <= v) p++;
  return p;
}

/** Bucket of a value in ns (fractions are floored, negatives count as 0). */
export function bucketIndex(value: number, l: HistLayout = DEFAULT_LAYOUT): number {
  const v = Math.max(0, Math.floor(value));
  const sub = 2 ** l.sub_bits;
  if (v < sub) return v;
  const p = floorLog2(v);
  const idx = (p - l.sub_bits + 1) * sub + (Math.floor(v / 2 ** (p - l.sub_bits)) % sub);
  return Math.min(idx, bucketCount(l) - 1);
}

/** Smallest value of bucket i (inclusive). */
export function bucketLower(i: number, l: HistLayout = DEFAULT_LAYOUT): number {
  const sub = 2 ** l.sub_bits;
  if (i < sub) return i;
  const p = Math.floor(i / sub) + l.sub_bits - 1;
  return 2 ** p + (i % sub) * 2 ** (p - l.sub_bits);
}

/** Upper bound of bucket i (exclusive); for the top bucket, its nominal bound. */
export function bucketUpper(i: number, l: HistLayout = DEFAULT_LAYOUT): number {
  const sub = 2 ** l.sub_bits;
  if (i < sub) return i + 1;
  const p = Math.floor(i / sub) + l.sub_bits - 1;
  return bucketLower(i, l) + 2 ** (p - l.sub_bits);
}

export class Histogram {
  readonly layout: HistLayout;
  private readonly counts: Float64Array;
  private n = 0;
  /** Values are reported as max(0, raw - offset): the probe-overhead correction. */
  readonly offset: number;

  constructor(layout: HistLayout = DEFAULT_LAYOUT, offset = 0) {
    this.layout = layout;
    this.counts = new Float64Array(bucketCount(layout));
    this.offset = offset;
  }

  static fromSparse(b: SparseBuckets, layout: HistLayout = DEFAULT_LAYOUT): Histogram {
    const h = new Histogram(layout);
    h.addSparse(b);
    return h;
  }

  get count(): number {
    return this.n;
  }

  get buckets(): number {
    return this.counts.length;
  }

  /** Adds `count` to bucket `idx`; out-of-range indices clamp into the top bucket. */
  addBucket(idx: number, count: number): void {
    if (count <= 0) return;
    const i = Math.min(Math.max(0, Math.floor(idx)), this.counts.length - 1);
    this.counts[i]! += count;
    this.n += count;
  }

  addValue(v: number, count = 1): void {
    this.addBucket(bucketIndex(v, this.layout), count);
  }

  addSparse(b: SparseBuckets): void {
    for (const [i, c] of b) this.addBucket(i, c);
  }

  merge(other: Histogram): void {
    if (other.layout.sub_bits !== this.layout.sub_bits || other.layout.max_pow !== this.layout.max_pow) {
      throw new Error('cannot merge histograms of different layouts');
    }
    for (let i = 0; i < other.counts.length; i++) this.addBucket(i, other.counts[i]!);
  }

  bucketCountAt(i: number): number {
    return this.counts[i] ?? 0;
  }

  toSparse(): SparseBuckets {
    const out: SparseBuckets = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) out.push([i, this.counts[i]!]);
    return out;
  }

  /** The same counts, every value shifted down by d more (clamped at 0). */
  shift(d: number): Histogram {
    const h = new Histogram(this.layout, this.offset + d);
    h.counts.set(this.counts);
    h.n = this.n;
    return h;
  }

  /** Quantile q in [0, 1] of the (shifted) values; NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const qq = Math.min(1, Math.max(0, q));
    const r = qq * this.n;
    let cum = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      if (cum + c >= r) {
        const lo = bucketLower(i, this.layout);
        const hi = bucketUpper(i, this.layout);
        const raw = hi - lo === 1 ? lo : lo + (Math.max(0, r - cum) / c) * (hi - lo);
        return Math.max(0, raw - this.offset);
      }
      cum += c;
    }
    return NaN; // unreachable: cum reaches n
  }

  /**
   * Mean of the (shifted) values given the exact sum of the raw values. Without a shift this is
   * sum / n; with one, the clamp at 0 is accounted for from the buckets below the offset.
   */
  meanFromSum(sumNs: number): number {
    if (this.n === 0) return NaN;
    const d = this.offset;
    let clipped = 0; // Σ max(0, d - v) over all values, estimated per bucket
    if (d > 0) {
      for (let i = 0; i < this.counts.length; i++) {
        const c = this.counts[i]!;
        if (c === 0) continue;
        const lo = bucketLower(i, this.layout);
        if (lo >= d) break;
        const hi = bucketUpper(i, this.layout);
        if (hi - lo === 1) clipped += c * (d - lo);
        else if (hi <= d) clipped += c * (d - (lo + hi) / 2);
        else clipped += (c * (d - lo) ** 2) / (2 * (hi - lo));
      }
    }
    return Math.max(0, (sumNs - d * this.n + clipped) / this.n);
  }
}
