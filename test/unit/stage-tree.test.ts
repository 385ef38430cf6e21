// The stage tree and poll functions in the report: nested stages count each nanosecond once, a
// parent's corrected time drops its children's probe cost, idle polling is never the weakest link,
// and a stage within a few probe costs is below exact mode's resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, formatReportTable, RESOLUTION_FACTOR } from '../../src/core/report.ts';
import { exactVerdict } from '../../src/core/verdict.ts';
import { Histogram } from '../../src/core/histogram.ts';
import { SESSION_FORMAT, SESSION_VERSION, type Calibration, type Session, type SessionStage } from '../../src/core/session.ts';

const cal = (inner: number, outer: number): Calibration => ({
  class: 'push', method: 'self-probe', runs: 1000, inner_ns: inner, inner_spread_ns: 5, outer_ns: outer, outer_spread_ns: 5,
  inner_mean_ns: inner, inner_mean_spread_ns: 5,
});

interface Calls { n: number; ns: number; packets: number }

/** A stage whose calls come in groups of n calls of ns each, handling `packets` packets per call. */
function stage(id: number, name: string, groups: Calls[], extra: Partial<SessionStage> = {}): SessionStage {
  const h = new Histogram();
  let calls = 0, packets = 0, sum = 0, busyCalls = 0, busyNs = 0;
  for (const g of groups) {
    h.addValue(g.ns, g.n);
    calls += g.n;
    packets += g.n * g.packets;
    sum += g.n * g.ns;
    if (g.packets > 0) {
      busyCalls += g.n;
      busyNs += g.n * g.ns;
    }
  }
  return {
    id, name, kind: 'uprobe', spec: `uprobe:/bin/fwd:${name}`, packets_from: 'one',
    attach: { ok: true, error: null, binary: '/bin/fwd', symbol: name, offset: 0, first_insn: 'push %rbp', single_step: false, warning: null },
    calls, timed: calls, packets, sum_ns: sum, unmatched: 0, buckets: h.toSparse(), calibration: cal(300, 400), timeline: [],
    busy_calls: busyCalls, busy_ns: busyNs, inside: [], ...extra,
  };
}

function session(stages: SessionStage[]): Session {
  return {
    format: SESSION_FORMAT, version: SESSION_VERSION, created: '2026-01-01T00:00:00Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 1, kernel: false, command: null, binary: null, build_id: null },
    tracer: { stream_version: 1, version: 't', kernel: 'k', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 10, interval_ms: 1000, sample_hz: 0, hist: { sub_bits: 4, max_pow: 37 },
    stages, frames: [], stacks: [], samples: 0, lost_samples: 0, drops: {}, warnings: [],
  };
}

test('busy polling: 1.57M polls for 160k packets is idle time, not the weakest link', () => {
  // rx returns the packets it found: 10k calls brought 16 each, 1.56M found none (3.3 µs each raw).
  const rx = stage(0, 'rx', [{ n: 10_000, ns: 5000, packets: 16 }, { n: 1_560_000, ns: 3300, packets: 0 }], { packets_from: 'ret' });
  const fwd = stage(1, 'fwd', [{ n: 160_000, ns: 2000, packets: 1 }]);
  const r = buildReport(session([rx, fwd]));
  const [a, b] = r.stages;
  assert.equal(a!.packets, 160_000);
  assert.ok(a!.ns_per_packet! > 25_000, `rx reads ${a!.ns_per_packet} ns/pkt with its idle polls`);
  assert.equal(a!.poll, true);
  assert.equal(a!.busy_calls, 10_000);
  assert.equal(a!.idle_calls, 1_560_000);
  assert.equal(a!.idle_ns, 1_560_000 * (3300 - 300));
  assert.ok(Math.abs(a!.busy_ns_per_packet! - (10_000 * (5000 - 300)) / 160_000) < 1e-6);
  assert.equal(b!.poll, false);
  assert.equal(r.slowest, 'fwd');
  assert.ok(Math.abs(r.total_ns_per_packet! - (293.75 + 1700)) < 1e-6, `total ${r.total_ns_per_packet}`);
  assert.ok(Math.abs(a!.share! + b!.share! - 1) < 1e-12);
  const v = exactVerdict(r);
  assert.equal(v.weakest?.name, 'fwd');
  assert.ok(Math.abs(v.stages.find((s) => s.name === 'rx')!.ns_per_packet - 293.75) < 1e-6);
  const text = formatReportTable(r);
  assert.match(text, /rx: poll function: 10\.0k calls handled packets, 1\.56M found none/);
  assert.match(text, /weakest link: fwd/);
});

test('nested stages: the parent drops its children\'s probe cost and time; shares and the total count each ns once', () => {
  // route (5 µs raw a call) calls lookup once a call (1.5 µs raw); both probes cost 300 ns inside, 400 ns to the caller.
  const route = stage(0, 'route', [{ n: 1000, ns: 5000, packets: 1 }]);
  const lookup = stage(1, 'lookup', [{ n: 1000, ns: 1500, packets: 1 }], { inside: [{ parent: 0, calls: 1000, sum_ns: 1000 * 1500 }] });
  const r = buildReport(session([route, lookup]));
  const [p, c] = r.stages;
  assert.equal(c!.parent, 'route');
  assert.equal(p!.parent, null);
  assert.ok(Math.abs(p!.mean_ns! - (5000 - 300 - 400)) < 1e-6, `route mean ${p!.mean_ns}`);
  assert.ok(Math.abs(p!.ns_per_packet! - 4300) < 1e-6);
  assert.ok(Math.abs(p!.self_ns_per_packet! - (4300 - 1200)) < 1e-6, `route self ${p!.self_ns_per_packet}`);
  assert.ok(Math.abs(c!.self_ns_per_packet! - 1200) < 1e-6);
  assert.ok(Math.abs(r.total_ns_per_packet! - 4300) < 1e-6, 'the path is the parent\'s corrected time, once');
  assert.ok(Math.abs(p!.share! - 3100 / 4300) < 1e-12);
  assert.ok(Math.abs(c!.share! - 1200 / 4300) < 1e-12);
  assert.equal(r.slowest, 'route');
  assert.match(formatReportTable(r), /└ lookup/);
  // a recording without the tree keeps the per-stage numbers
  const old = buildReport(session([{ ...route, inside: undefined, busy_calls: undefined, busy_ns: undefined }, { ...lookup, inside: undefined, busy_calls: undefined, busy_ns: undefined }]));
  assert.equal(old.stages[1]!.parent, null);
  assert.equal(old.stages[0]!.self_ns_per_packet, null);
  assert.ok(Math.abs(old.stages[0]!.ns_per_packet! - 4700) < 1e-6);
});

test('a stage within a few probe costs is below resolution, points to sampled mode, and is never the weakest link', () => {
  const parse = stage(0, 'parse', [{ n: 1000, ns: 1000, packets: 1 }]); // 700 ns corrected ≤ 3 × 300
  const big = stage(1, 'rewrite', [{ n: 1000, ns: 300 + 300 * RESOLUTION_FACTOR + 100, packets: 1 }]); // 1000 ns corrected > 900
  // parse costs more per packet than rewrite but cannot be resolved: it is named, not ranked
  const many = stage(2, 'classify', [{ n: 4000, ns: 900, packets: 1 }]);
  const r = buildReport(session([parse, big, { ...many, packets: 1000 }]));
  assert.equal(r.stages[0]!.below_resolution, true);
  assert.equal(r.stages[0]!.resolution_ns, 900);
  assert.equal(r.stages[1]!.below_resolution, false);
  assert.equal(r.stages[2]!.below_resolution, true);
  assert.ok(r.stages[2]!.ns_per_packet! > r.stages[1]!.ns_per_packet!);
  assert.equal(r.slowest, 'rewrite');
  assert.match(formatReportTable(r), /parse: below exact mode's resolution.*--mode sampled/);
  const v = exactVerdict(r);
  assert.deepEqual(v.below_resolution.map((b) => b.name).sort(), ['classify', 'parse']);
  assert.equal(v.weakest?.name, 'rewrite');
});
