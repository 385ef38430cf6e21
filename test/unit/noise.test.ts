import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { betaI, normalTwoSidedP, poissonRatesP, studentQuantile, studentTwoSidedP } from '../../src/core/stats.ts';
import { deltaTest, exactStageNoise, sampledStageNoise, type StageNoise } from '../../src/core/noise.ts';
import { diffSessions, slowerThan } from '../../src/core/diff.ts';
import { buildReport } from '../../src/core/report.ts';
import { bucketIndex, DEFAULT_LAYOUT } from '../../src/core/histogram.ts';
import { parseSession } from '../../src/core/session-io.ts';
import type { Session, SessionStage, SparseBuckets, StagePoint } from '../../src/core/session.ts';
import type { SampledReport } from '../../src/core/sampled.ts';
import { rng } from '../../bench/render-synthetic.ts';

test('special functions against known values', () => {
  assert.ok(Math.abs(normalTwoSidedP(1.959964) - 0.05) < 1e-6);
  assert.ok(Math.abs(normalTwoSidedP(2.575829) - 0.01) < 1e-6);
  assert.ok(Math.abs(studentTwoSidedP(2.228139, 10) - 0.05) < 1e-6);
  assert.ok(Math.abs(studentTwoSidedP(3.169273, 10) - 0.01) < 1e-6);
  assert.ok(Math.abs(studentTwoSidedP(63.65674, 1) - 0.01) < 1e-6);
  assert.ok(Math.abs(studentQuantile(0.01, 3) - 5.840909) < 1e-5);
  assert.ok(Math.abs(betaI(2, 3, 0.4) - 0.5248) < 1e-12);
  assert.ok(Math.abs(poissonRatesP(10, 1, 10, 1) - 1) < 1e-9);
  // 30 vs 10 at equal exposure: binomial(40, 1/2), two-sided P(X ≥ 30 or ≤ 10) = 0.002221.
  assert.ok(Math.abs(poissonRatesP(30, 1, 10, 1) - 0.0022214) < 1e-6);
  // doubled exposure, doubled count: no evidence of a change
  assert.ok(poissonRatesP(40, 2, 20, 1) > 0.9);
});

/** A stage of `calls` calls of `packets` packets each, latencies 200 ns + exponential(mean), over `intervals` intervals;
 * `drift` multiplies the mean by a random factor per interval (the machine's load changing). */
function stage(r: () => number, o: { calls: number; mean: number; intervals: number; drift?: number; packetsPerCall?: number }): SessionStage {
  const counts = new Map<number, number>();
  const timeline: StagePoint[] = [];
  let sum = 0;
  const per = Math.floor(o.calls / o.intervals);
  const ppc = o.packetsPerCall ?? 4;
  for (let i = 0; i < o.intervals; i++) {
    const m = o.mean * (1 + (o.drift ?? 0) * (r() * 2 - 1));
    let s = 0;
    for (let c = 0; c < per; c++) {
      const x = 200 - m * Math.log(1 - r());
      s += x;
      const b = bucketIndex(x);
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    sum += s;
    timeline.push({ t_s: i + 1, calls: per, packets: per * ppc, sum_ns: s, timed: per });
  }
  const buckets: SparseBuckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const calls = per * o.intervals;
  return {
    id: 0, name: 's', kind: 'uprobe', spec: 'uprobe:/x:f', packets_from: 'arg0',
    attach: { ok: true, error: null, binary: '/x', symbol: 'f', offset: 0, first_insn: null, single_step: false, warning: null },
    calls, packets: calls * ppc, sum_ns: sum, unmatched: 0, buckets, calibration: null, timeline, timed: calls,
  };
}

function noiseOf(st: SessionStage): StageNoise {
  const s = { stages: [st], hist: DEFAULT_LAYOUT, duration_s: st.timeline.length, target: { host: 'h', pid: 1, kernel: false }, tracer: { version: 't' },
    samples: 0, lost_samples: 0, drops: {}, warnings: [], created: '', partial: false, partial_reason: null, frames: [], stacks: [] } as unknown as Session;
  const row = buildReport(s).stages[0]!;
  return exactStageNoise(st, row, DEFAULT_LAYOUT)!;
}

test('exact mode: two recordings of the same stage are rarely "significant" (false-positive rate near alpha)', () => {
  const r = rng(1);
  let hits = 0;
  const trials = 300;
  for (let i = 0; i < trials; i++) {
    const a = noiseOf(stage(r, { calls: 2000, mean: 800, intervals: 5 }));
    const b = noiseOf(stage(r, { calls: 2000, mean: 800, intervals: 5 }));
    if (deltaTest(a, b).significant) hits++;
  }
  // alpha = 1%: 3 expected; 10 or more in 300 would mean the test is far too eager
  assert.ok(hits < 10, `${hits} of ${trials} identical pairs called significant`);
});

test('exact mode: drift between intervals widens the noise, so a drifting machine does not fake a change', () => {
  const r = rng(2);
  let hits = 0;
  let byIntervals = 0;
  for (let i = 0; i < 200; i++) {
    const a = noiseOf(stage(r, { calls: 20000, mean: 800, intervals: 5, drift: 0.2 }));
    const b = noiseOf(stage(r, { calls: 20000, mean: 800, intervals: 5, drift: 0.2 }));
    if (a.method === 'intervals') byIntervals++;
    if (deltaTest(a, b).significant) hits++;
  }
  assert.ok(byIntervals > 150, `interval-to-interval variance dominates under drift (${byIntervals}/200)`);
  assert.ok(hits < 10, `${hits} of 200 called significant under ±20% drift`);
});

test('exact mode: a real 10% change with enough calls is found, with the right sign and size', () => {
  const r = rng(3);
  let found = 0;
  for (let i = 0; i < 50; i++) {
    const a = noiseOf(stage(r, { calls: 20000, mean: 1000, intervals: 5 }));
    const b = noiseOf(stage(r, { calls: 20000, mean: 1120, intervals: 5 }));
    const t = deltaTest(a, b);
    if (t.significant) found++;
    assert.ok(t.delta_ci_ns![0] < t.delta_ns_per_packet && t.delta_ns_per_packet < t.delta_ci_ns![1]);
  }
  assert.ok(found >= 45, `found ${found} of 50`);
  // per packet: (200 + 1120 − 200 − 1000) / 4 = 30 ns, +10%
  const t = deltaTest(noiseOf(stage(r, { calls: 100000, mean: 1000, intervals: 5 })), noiseOf(stage(r, { calls: 100000, mean: 1120, intervals: 5 })));
  assert.ok(Math.abs(t.delta_ns_per_packet - 30) < 3, `delta ${t.delta_ns_per_packet}`);
  assert.ok(Math.abs(t.delta_pct! - 10) < 1, `pct ${t.delta_pct}`);
});

test('sampled mode: counts over exposures, tested exactly', () => {
  const base = { symbol: 'f', inclusive_samples: 0, share: 0, confidence: 0.95, ci_low_ns: 0, ci_high_ns: 0 };
  const mk = (samples: number, packets: number): SampledReport => ({
    sample_hz: 1000, samples, window_s: 1, packets, packets_source: 'x', packets_per_second: packets,
    stages: [{ ...base, name: 's', samples, ns_per_packet: (samples * 1e6) / packets, raw_ns_per_packet: (samples * 1e6) / packets }],
  });
  const a = mk(100, 10000);
  const b = mk(200, 20000); // same ns per packet
  const na = sampledStageNoise(a, a.stages[0]!)!;
  const nb = sampledStageNoise(b, b.stages[0]!)!;
  assert.equal(na.value, 1e4);
  assert.equal(deltaTest(na, nb).significant, false);
  const c = mk(400, 20000); // twice the ns per packet
  assert.equal(deltaTest(na, sampledStageNoise(c, c.stages[0]!)!).significant, true);
  // a count against a latency sum is not tested
  assert.equal(deltaTest(na, { value: 1, variance: 1, df: Infinity, method: 'histogram' }).p_value, null);
});

const demo = (): Session => parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');

test('diff: a session against itself changes nothing; a slowed stage is flagged and gates', () => {
  const a = demo();
  const same = diffSessions(a, a);
  for (const s of same.stages) {
    assert.equal(s.delta_ns_per_packet, 0);
    assert.equal(s.significant, false);
    assert.equal(s.matched_by, 'name');
  }
  // B: fwd_parse takes 3× per call (sum and every interval): four 1 s intervals of this demo leave 3 degrees of freedom.
  const slow = (st: SessionStage): SessionStage => st.name !== 'fwd_parse' ? st : {
    ...st, sum_ns: st.sum_ns * 3, timeline: st.timeline.map((p) => ({ ...p, sum_ns: p.sum_ns * 3 })),
    buckets: st.buckets.map(([i, c]) => [Math.min(i + 16, 559), c] as [number, number]),
  };
  const b: Session = { ...a, stages: a.stages.map(slow) };
  const d = diffSessions(a, b);
  const parse = d.stages.find((s) => s.name === 'fwd_parse')!;
  assert.ok(parse.delta_ns_per_packet! > 0 && parse.delta_pct! > 20, `fwd_parse +${parse.delta_pct}%`);
  assert.equal(parse.significant, true);
  assert.equal(d.stages.find((s) => s.name === 'fwd_tx')!.significant, false);
  assert.deepEqual(slowerThan(d, 10).map((s) => s.name), ['fwd_parse']);
  assert.deepEqual(slowerThan(d, 1000), []);
  for (const k of ['delta_ns_per_packet', 'delta_pct', 'significant']) assert.ok(k in parse, k);
});

test('diff: a renamed stage is matched by the function it probes', () => {
  const a = demo();
  const b: Session = { ...a, stages: a.stages.map((s) => (s.name === 'fwd_tx' ? { ...s, name: 'transmit' } : s)) };
  const d = diffSessions(a, b);
  const tx = d.stages.find((s) => s.name === 'fwd_tx')!;
  assert.equal(tx.matched_by, 'function');
  assert.equal(tx.b_name, 'transmit');
  assert.equal(tx.delta_ns_per_packet, 0);
  assert.equal(d.stages.length, a.stages.length);
});
