import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCpuFlame, buildLatencyFlame, stageFunctions } from '../../src/core/flamegraph.ts';
import { sourceOf, type FlameData } from '../../src/shared/view-types.ts';
import type { Frame, Session, SessionStage } from '../../src/core/session.ts';

// A tiny hand-made session (synthetic): main → rx → recv ; main → route → lookup → hash ;
// main → route → rx (a stage under another stage) ; main (self).
function stage(id: number, name: string, symbol: string): SessionStage {
  return {
    id, name, kind: 'uprobe', spec: `uprobe:/bin/fwd:${symbol}:packets=ret`, packets_from: 'ret',
    attach: { ok: true, error: null, binary: '/bin/fwd', symbol, offset: 0, first_insn: null, single_step: false, warning: null },
    calls: 10, packets: 100, sum_ns: 1000, unmatched: 0, buckets: [], calibration: null, timeline: [],
  };
}
function frame(id: number, fn: string, module = '/bin/fwd', addr = 0x1000 + id): Frame {
  return { id, fn, off: 4, module, build_id: 'ab', addr: `0x${addr.toString(16)}`, kernel: false };
}
function session(): Session {
  return {
    format: 'pktpath-session', version: 1, created: '2026-01-01T00:00:00Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 1, kernel: false, command: null, binary: '/bin/fwd', build_id: null },
    tracer: { stream_version: 1, version: 't', kernel: 'k', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 1, interval_ms: 1000, sample_hz: 99, hist: { sub_bits: 4, max_pow: 37 },
    stages: [stage(0, 'rx', 'rx'), stage(1, 'route', 'route')],
    // Two frame ids for `rx` (different sampled addresses) must become one node.
    frames: [frame(1, 'main'), frame(2, 'rx'), frame(3, 'recv', '/lib/libc.so'), frame(4, 'route'),
      frame(5, 'lookup'), frame(6, 'hash'), frame(7, 'rx', '/bin/fwd', 0x2222)],
    stacks: [
      { frames: [3, 2, 1], count: 6 },
      { frames: [6, 5, 4, 1], count: 3 },
      { frames: [5, 4, 1], count: 1 },
      { frames: [7, 4, 1], count: 2 },
      { frames: [1], count: 4 },
      { frames: [99, 1], count: 1 }, // a frame id the session never defined
    ],
    samples: 17, lost_samples: 0, drops: {}, warnings: [],
  };
}

function paths(d: FlameData): Map<string, { total: number; self: number; stage: number; samples: number }> {
  const out = new Map<string, { total: number; self: number; stage: number; samples: number }>();
  const stack: string[] = [];
  for (let i = 0; i < d.frame.length; i++) {
    stack.length = d.depth[i]!;
    stack.push(d.frames[d.frame[i]!]!.name);
    out.set(stack.join('/'), { total: d.total[i]!, self: d.self[i]!, stage: d.stage[i]!, samples: (d.samples ?? d.total)[i]! });
  }
  return out;
}

test('stageFunctions reads the probed symbol and binary', () => {
  assert.deepEqual(stageFunctions(session().stages), [
    { stage: 0, symbol: 'rx', module: 'fwd' }, { stage: 1, symbol: 'route', module: 'fwd' },
  ]);
});

test('CPU flame: totals, self, merged frames and nearest-stage colouring', () => {
  const d = buildCpuFlame(session());
  const p = paths(d);
  assert.equal(d.unit, 'samples');
  assert.deepEqual(p.get('all samples'), { total: 17, self: 0, stage: -1, samples: 17 });
  assert.deepEqual(p.get('all samples/main'), { total: 17, self: 4, stage: -1, samples: 17 });
  assert.deepEqual(p.get('all samples/main/rx'), { total: 6, self: 0, stage: 0, samples: 6 });
  assert.deepEqual(p.get('all samples/main/rx/recv'), { total: 6, self: 6, stage: 0, samples: 6 });
  assert.deepEqual(p.get('all samples/main/route'), { total: 6, self: 0, stage: 1, samples: 6 });
  assert.deepEqual(p.get('all samples/main/route/lookup/hash'), { total: 3, self: 3, stage: 1, samples: 3 });
  // rx under route is coloured by rx: the nearest stage function wins.
  assert.deepEqual(p.get('all samples/main/route/rx'), { total: 2, self: 2, stage: 0, samples: 2 });
  assert.equal(p.get('all samples/main/[unknown frame 99]')?.total, 1);
  // Preorder with children sorted by name, so snapshots keep node order.
  const kids = [...p.keys()].filter((k) => k.split('/').length === 3);
  assert.deepEqual(kids, ['all samples/main/[unknown frame 99]', 'all samples/main/route', 'all samples/main/rx']);
  // Every node's children sum to at most its total.
  for (let i = 0; i < d.frame.length; i++) {
    let sum = d.self[i]!;
    for (let j = i + 1; j < d.frame.length && d.depth[j]! > d.depth[i]!; j++) if (d.depth[j] === d.depth[i]! + 1) sum += d.total[j]!;
    assert.equal(sum, d.total[i], `node ${i}`);
  }
  const rx = d.frames.findIndex((f) => f.name === 'rx');
  assert.equal(sourceOf(d, rx)?.module, '/bin/fwd');
  assert.equal(sourceOf(d, rx)?.elf_addr, null);
  assert.equal(sourceOf(d, 0), null); // the root opens nothing
  // The wire format: each module path once, frames only as used, no samples column for samples.
  assert.deepEqual([...d.modules].sort(), ['', '/bin/fwd', '/lib/libc.so']);
  assert.equal(d.samples, null);
  assert.equal(new Set(d.frame).size, d.frames.length);
});

test('latency flame: stages in path order, width = ns/packet, split by samples under the stage', () => {
  const d = buildLatencyFlame(session(), [30, 120]);
  const p = paths(d);
  assert.equal(d.unit, 'ns');
  assert.equal(p.get('packet path')?.total, 150);
  assert.equal(d.frames[d.frame[1]!]!.name, 'rx');
  assert.equal(d.frames[d.frame[1]!]!.kind, 'stage');
  // rx: 6 samples via main→rx, 2 via main→route→rx (outermost rx frame in each stack): 8 samples.
  assert.equal(p.get('packet path/rx')?.total, 30);
  assert.equal(p.get('packet path/rx')?.samples, 8);
  assert.equal(p.get('packet path/rx/recv')?.total, 30 * 6 / 8);
  assert.equal(p.get('packet path/rx')?.self, 30 * 2 / 8);
  // route: 6 samples; hash 3, lookup self 1, rx 2.
  assert.equal(p.get('packet path/route')?.total, 120);
  assert.equal(p.get('packet path/route/lookup')?.total, 120 * 4 / 6);
  assert.equal(p.get('packet path/route/lookup/hash')?.total, 120 * 3 / 6);
  assert.equal(p.get('packet path/route/rx')?.stage, 0);
  assert.equal(p.get('packet path/route/rx')?.total, 120 * 2 / 6);
  // The stage node opens the stage function's source.
  assert.equal(sourceOf(d, d.frame[1]!)?.fn, 'rx');
  assert.equal(sourceOf(d, d.frame[1]!)?.module, '/bin/fwd');
});

test('latency flame: a stage without samples is one block; null ns leaves it out', () => {
  const s = session();
  s.stacks = [];
  const d = buildLatencyFlame(s, [40, null]);
  assert.equal(d.frame.length, 2);
  assert.equal(d.total[1], 40);
  assert.equal(d.self[1], 40);
  assert.equal(d.total[0], 40);
});
