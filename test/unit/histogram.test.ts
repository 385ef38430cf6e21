import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, bucketCount, bucketIndex, bucketLower, bucketUpper, DEFAULT_LAYOUT } from '../../src/core/histogram.ts';
import { HIST_BUCKETS } from '../../src/tracer/protocol.ts';
import { headerConstants } from '../helpers/tracer-source.ts';
import { rng } from '../../bench/render-synthetic.ts'; // deterministic: a failure can be replayed

test('layout matches pktpath.h', () => {
  const h = headerConstants();
  assert.equal(bucketCount(), h.get('HIST_BUCKETS'));
  assert.equal(HIST_BUCKETS, h.get('HIST_BUCKETS'));
  assert.deepEqual(DEFAULT_LAYOUT, { sub_bits: h.get('HIST_SUB_BITS'), max_pow: h.get('HIST_MAX_POW') });
});

test('index follows the header formula for known values', () => {
  assert.equal(bucketIndex(0), 0);
  assert.equal(bucketIndex(15), 15);
  assert.equal(bucketIndex(16), 16);
  assert.equal(bucketIndex(31), 31);
  assert.equal(bucketIndex(32), 32); // p=5: (5-4+1)*16 + ((32>>1)&15) = 32
  assert.equal(bucketIndex(34), 33);
  assert.equal(bucketIndex(1000), (9 - 4 + 1) * 16 + ((1000 >> 5) & 15));
  assert.equal(bucketIndex(2 ** 37), 544);
  assert.equal(bucketIndex(2 ** 45), 559, 'beyond the top clamps into the last bucket');
});

test('bounds are contiguous, monotone and round-trip', () => {
  for (let i = 0; i < HIST_BUCKETS; i++) {
    const lo = bucketLower(i);
    const hi = bucketUpper(i);
    assert.ok(hi > lo, `bucket ${i} non-empty`);
    assert.equal(bucketIndex(lo), i, `index(lower(${i}))`);
    assert.equal(bucketIndex(hi - 1), i, `index(upper(${i})-1)`);
    if (i + 1 < HIST_BUCKETS) assert.equal(bucketLower(i + 1), hi, `bucket ${i + 1} starts where ${i} ends`);
    if (i >= 16) assert.ok((hi - lo) / lo <= 1 / 16 + 1e-12, 'relative width at most 1/16');
  }
  const r = rng(1);
  let prev = -1;
  for (let k = 0; k < 20000; k++) {
    const v = Math.floor(2 ** (r() * 38));
    const i = bucketIndex(v);
    assert.ok(bucketLower(i) <= v && v < bucketUpper(i), `value ${v} inside bucket ${i}`);
    prev = Math.max(prev, i);
  }
  const sorted = Array.from({ length: 5000 }, () => Math.floor(2 ** (r() * 30))).sort((a, b) => a - b);
  for (let k = 1; k < sorted.length; k++) assert.ok(bucketIndex(sorted[k]!) >= bucketIndex(sorted[k - 1]!), 'monotone');
});

function exactQuantile(sorted: number[], q: number): number {
  const k = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[k - 1]!;
}

const DISTS: Record<string, (r: () => number) => number> = {
  uniform: (r) => 200 + Math.floor(r() * 800),
  lognormal: (r) => Math.floor(Math.exp(6 + 1.5 * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()))),
  bimodal: (r) => (r() < 0.9 ? 50 + Math.floor(r() * 20) : 15000 + Math.floor(r() * 3000)),
  tiny: (r) => Math.floor(r() * 20),
};

test('quantiles lie within one bucket width of the exact value (brute force)', () => {
  for (const [name, gen] of Object.entries(DISTS)) {
    for (const seed of [3, 4, 5]) {
      const r = rng(seed);
      const vals = Array.from({ length: 20000 }, () => gen(r));
      const h = new Histogram();
      for (const v of vals) h.addValue(v);
      assert.equal(h.count, vals.length);
      vals.sort((a, b) => a - b);
      for (const q of [0.01, 0.5, 0.9, 0.99, 0.999, 1]) {
        const exact = exactQuantile(vals, q);
        const got = h.quantile(q);
        const i = bucketIndex(exact);
        const w = bucketUpper(i) - bucketLower(i);
        assert.ok(Math.abs(got - exact) <= w, `${name}/${seed} q=${q}: got ${got}, exact ${exact}, width ${w}`);
      }
    }
  }
});

test('merge equals the histogram of the union; sparse round-trip', () => {
  const r = rng(9);
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let k = 0; k < 3000; k++) {
    const v = Math.floor(2 ** (r() * 25));
    (k % 2 ? a : b).addValue(v);
    all.addValue(v);
  }
  a.merge(b);
  assert.deepEqual(a.toSparse(), all.toSparse());
  assert.deepEqual(Histogram.fromSparse(all.toSparse()).toSparse(), all.toSparse());
  assert.equal(new Histogram().quantile(0.5), NaN);
});

test('shift subtracts a constant from every value, clamping at 0', () => {
  const r = rng(11);
  const vals = Array.from({ length: 10000 }, () => 500 + Math.floor(r() * 2000));
  const h = new Histogram();
  let sum = 0;
  for (const v of vals) {
    h.addValue(v);
    sum += v;
  }
  const d = 300;
  const s = h.shift(d);
  const shifted = vals.map((v) => Math.max(0, v - d)).sort((a, b) => a - b);
  for (const q of [0.5, 0.99, 0.999]) {
    const exact = exactQuantile(shifted, q);
    const w = bucketUpper(bucketIndex(exact + d)) - bucketLower(bucketIndex(exact + d));
    assert.ok(Math.abs(s.quantile(q) - exact) <= w, `q=${q}`);
  }
  // No value below d: the corrected mean is exact.
  assert.ok(Math.abs(s.meanFromSum(sum) - (sum / vals.length - d)) < 1e-9);
  // A shift past most values: clamping matters, estimate stays close to the truth.
  const big = h.shift(1500);
  const truth = vals.reduce((a, v) => a + Math.max(0, v - 1500), 0) / vals.length;
  assert.ok(Math.abs(big.meanFromSum(sum) - truth) < 0.03 * truth + 5, `clamped mean ${big.meanFromSum(sum)} vs ${truth}`);
  assert.equal(h.shift(1e9).quantile(0.99), 0);
  assert.equal(h.shift(1e9).meanFromSum(sum), 0);
  assert.equal(DEFAULT_LAYOUT.sub_bits, 4);
});
