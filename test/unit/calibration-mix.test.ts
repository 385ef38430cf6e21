import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixCalibrations } from '../../src/tracer/calibration-mix.ts';
import type { Calibration } from '../../src/core/session.ts';

const cal = (inner: number, mean: number | null, spread = 10): Calibration => ({
  class: 'single_step', method: 'self-probe', runs: 100, inner_ns: inner, inner_spread_ns: spread,
  outer_ns: inner + 1000, outer_spread_ns: spread, inner_mean_ns: mean, inner_mean_spread_ns: mean === null ? null : spread,
});

test('one calibration, or no timed calls: the calibration as it came', () => {
  assert.deepEqual(mixCalibrations([{ seq: 0, cal: cal(9000, 9100) }], new Map([[0, 50]])), cal(9000, 9100));
  assert.deepEqual(mixCalibrations([{ seq: 0, cal: cal(9000, 9100) }, { seq: 1, cal: cal(9400, 9500) }], new Map()), cal(9000, 9100));
  assert.equal(mixCalibrations([], new Map([[0, 5]])), null);
});

test('drift: each interval uses the calibrations around it, weighted by its calls', () => {
  // interval 0 between cal@0 (9000) and cal@1 (9400): 9200; interval 1 between cal@1 and cal@2 (9400): 9400
  const cals = [{ seq: 0, cal: cal(9000, 9100) }, { seq: 1, cal: cal(9400, 9500) }, { seq: 2, cal: cal(9400, 9500) }];
  const m = mixCalibrations(cals, new Map([[0, 100], [1, 300]]))!;
  assert.equal(m.inner_ns, (100 * 9200 + 300 * 9400) / 400);
  assert.equal(m.inner_mean_ns, (100 * 9300 + 300 * 9500) / 400);
  assert.equal(m.outer_ns, m.inner_ns + 1000);
  assert.equal(m.calibrations, 3);
  assert.equal(m.runs, 300);
  // spread: the batches' 10 ns and, in interval 0, half the 400 ns step
  assert.equal(m.inner_spread_ns, Math.round(Math.sqrt((100 * (100 + 200 * 200) + 300 * 100) / 400) * 10) / 10);
  // the last interval has no calibration after it: the one before it alone
  const tail = mixCalibrations(cals, new Map([[5, 10]]))!;
  assert.equal(tail.inner_ns, 9400);
  assert.equal(tail.inner_spread_ns, 10);
});

test('a calibration without a mean counts with its median in the mean mix', () => {
  const m = mixCalibrations([{ seq: 0, cal: cal(9000, null) }, { seq: 1, cal: cal(9000, 9200) }], new Map([[0, 10]]))!;
  assert.equal(m.inner_mean_ns, 9100);
  const none = mixCalibrations([{ seq: 0, cal: cal(9000, null) }, { seq: 1, cal: cal(9100, null) }], new Map([[0, 10]]))!;
  assert.equal(none.inner_mean_ns, null);
});

test('a background calibration measured during an interval is that interval\'s alone', () => {
  // start 600 (a burst that caught a high level), then 650 measured all through interval 0 and 700
  // all through interval 1; interval 2 has no record of its own and falls back to bracketing.
  const cals = [
    { seq: 0, cal: cal(600, 600) },
    { seq: 1, during: 0, cal: cal(650, 650) },
    { seq: 2, during: 1, cal: cal(700, 700) },
  ];
  const m = mixCalibrations(cals, new Map([[0, 100], [1, 100], [2, 200]]))!;
  assert.equal(m.inner_mean_ns, (100 * 650 + 100 * 700 + 200 * 700) / 400);
  // its own spread only: no step between records in the intervals it covers
  const own = mixCalibrations(cals, new Map([[0, 100], [1, 100]]))!;
  assert.equal(own.inner_spread_ns, 10);
});
