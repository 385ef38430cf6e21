import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attributeSamples,
  formatSampledReport,
  gammaP,
  poissonInterval,
  sampleShiftBound,
  sampledCpuCheck,
  sampledReport,
  sampledStageNumbers,
  samplerShare,
  type SampledStageSpec,
} from '../../src/core/sampled.ts';
import type { Frame, SampledMeasurement, Session, StackSample } from '../../src/core/session.ts';

function frame(id: number, fn: string, module = '/opt/fwd'): Frame {
  return { id, fn, off: 4, module, build_id: null, addr: `0x${(0x1000 + id).toString(16)}`, kernel: false };
}

const frames: Frame[] = [
  frame(1, 'main'),
  frame(2, 'loop'),
  frame(3, 'parse'),
  frame(4, 'route_lookup'),
  frame(5, 'rte_lpm_lookup', '/usr/lib/librte_lpm.so.23'),
  frame(6, 'rewrite.isra.0'),
  frame(7, 'memcpy', '/usr/lib/libc.so.6'),
  frame(8, 'parse', '/other/binary'),
  frame(9, 'rewriter'),
];

const specs: SampledStageSpec[] = [
  { name: 'parse', symbol: 'parse', module: 'fwd' },
  { name: 'route', symbol: 'route_lookup', module: 'fwd' },
  { name: 'rewrite', symbol: 'rewrite', module: null },
];

test('a sample goes to the stage nearest the leaf; inclusive counts every stage on the stack', () => {
  const stacks: StackSample[] = [
    { frames: [3, 2, 1], count: 10 }, // in parse itself
    { frames: [5, 4, 2, 1], count: 7 }, // library code called by route_lookup
    { frames: [4, 3, 2, 1], count: 5 }, // route_lookup called from parse: nearest is route
    { frames: [7, 6, 2, 1], count: 3 }, // a GCC clone of rewrite calling memcpy
    { frames: [2, 1], count: 4 }, // the loop: no stage
    { frames: [8, 1], count: 2 }, // `parse` of another binary is not the stage
    { frames: [9, 2, 1], count: 1 }, // `rewriter` is not `rewrite`
  ];
  const r = attributeSamples(frames, stacks, specs);
  assert.equal(r.samples, 32);
  assert.equal(r.unattributed, 7);
  assert.deepEqual(
    r.stages.map((s) => [s.name, s.samples, s.inclusive_samples]),
    [
      ['parse', 10, 15],
      ['route', 12, 12],
      ['rewrite', 3, 3],
    ],
  );
});

test('recursion counts a stack once per stage; zero and bad counts are skipped', () => {
  const stacks: StackSample[] = [
    { frames: [3, 3, 3, 2], count: 4 },
    { frames: [3], count: 0 },
    { frames: [3], count: Number.NaN },
    { frames: [99, 3], count: 1 }, // an undefined frame id is just not a stage
  ];
  const r = attributeSamples(frames, stacks, specs);
  assert.equal(r.samples, 5);
  assert.equal(r.stages[0]!.samples, 5);
  assert.equal(r.stages[0]!.inclusive_samples, 5);
});

test('regularized incomplete gamma matches closed forms', () => {
  for (const x of [0.1, 1, 2.5, 10]) assert.ok(Math.abs(gammaP(1, x) - (1 - Math.exp(-x))) < 1e-12);
  // P(2, x) = 1 - e^-x (1 + x)
  for (const x of [0.5, 3, 8]) assert.ok(Math.abs(gammaP(2, x) - (1 - Math.exp(-x) * (1 + x))) < 1e-12);
  assert.equal(gammaP(3, 0), 0);
});

test('Poisson intervals match published exact (Garwood) values', () => {
  const cases: Array<[number, number, number]> = [
    [0, 0, 3.689],
    [1, 0.0253, 5.572],
    [10, 4.795, 18.39],
    [100, 81.364, 121.627],
  ];
  for (const [k, lo, hi] of cases) {
    const [l, h] = poissonInterval(k);
    assert.ok(Math.abs(l - lo) < 0.002 * Math.max(1, lo), `k=${k} low ${l} vs ${lo}`);
    assert.ok(Math.abs(h - hi) < 0.002 * hi, `k=${k} high ${h} vs ${hi}`);
  }
  const [l90, h90] = poissonInterval(10, 0.9);
  const [l95, h95] = poissonInterval(10, 0.95);
  assert.ok(l90 > l95 && h90 < h95, 'a lower confidence gives a narrower interval');
  assert.throws(() => poissonInterval(-1), /whole number/);
  assert.throws(() => poissonInterval(2.5), /whole number/);
  assert.throws(() => poissonInterval(3, 1), /confidence/);
});

test('the interval narrows like 1/sqrt(k): about ±2% at 10,000 samples', () => {
  const [l, h] = poissonInterval(10000);
  assert.ok(Math.abs(l / 10000 - 0.9804) < 0.001 && Math.abs(h / 10000 - 1.0198) < 0.001, `${l} ${h}`);
});

function measurement(over: Partial<SampledMeasurement> = {}): SampledMeasurement {
  return {
    sample_hz: 1000,
    samples: 5000,
    unattributed: 1000,
    window_s: 5,
    packets: 100000,
    packets_source: 'netdev lo tx_packets',
    counter_packets: 100400,
    counter_window_s: 5.02,
    stages: [
      { name: 'parse', symbol: 'parse', module: null, samples: 1000, inclusive_samples: 1000 },
      { name: 'route', symbol: 'route_lookup', module: null, samples: 3000, inclusive_samples: 3000 },
      { name: 'idle', symbol: 'nothing', module: null, samples: 0, inclusive_samples: 0 },
    ],
    ...over,
  };
}

test('ns per packet = samples / hz × 1e9 / packets, with the interval scaled alike', () => {
  const r = sampledStageNumbers(measurement());
  // 1000 samples at 1 kHz = 1 s of CPU over 100,000 packets = 10,000 ns per packet.
  const parse = r.stages[0]!;
  assert.equal(parse.ns_per_packet, 10000);
  assert.equal(parse.share, 0.2);
  const [lo, hi] = poissonInterval(1000);
  assert.ok(Math.abs(parse.ci_low_ns - lo * 10) < 1e-6 && Math.abs(parse.ci_high_ns - hi * 10) < 1e-6);
  assert.ok(parse.ci_low_ns < 10000 && parse.ci_high_ns > 10000);
  assert.equal(r.stages[1]!.ns_per_packet, 30000);
  const idle = r.stages[2]!;
  assert.equal(idle.ns_per_packet, 0);
  assert.equal(idle.ci_low_ns, 0);
  assert.ok(idle.ci_high_ns > 0, 'no samples is an upper bound, not certainty');
  assert.equal(r.packets_per_second, 20000);
  const text = formatSampledReport(r);
  assert.match(text, /route\s+3000\s+60\.0%\s+30000\.0/);
  assert.match(text, /95% interval/);
});

test('no packets or no rate is an error, not a division by zero', () => {
  assert.throws(() => sampledStageNumbers(measurement({ packets: 0 })), /no packets/);
  assert.throws(() => sampledStageNumbers(measurement({ sample_hz: 0 })), /sample rate/);
});

test('sampledReport is null for a session recorded with probes', () => {
  const s = { sampled: undefined } as unknown as Session;
  assert.equal(sampledReport(s), null);
  const t = { sampled: measurement() } as unknown as Session;
  assert.equal(sampledReport(t)?.stages.length, 3);
});

test('samples against the threads\' task-clock: within 10% is quiet, lost samples are named', () => {
  assert.deepEqual(sampledCpuCheck(990, 1000, 1), { ratio: 0.99, warning: null });
  assert.deepEqual(sampledCpuCheck(5, 1000, undefined), { ratio: null, warning: null });
  assert.equal(sampledCpuCheck(50, 1000, 0.06).warning, null, 'too few samples to judge');
  const c = sampledCpuCheck(800, 1000, 1);
  assert.equal(c.ratio, 0.8);
  assert.match(c.warning ?? '', /ran 1\.000 s \(task-clock\).*0\.800 s.*-20%.*lost or throttled/);
});

test('short slices: the stated share of displaced samples is lateness × slices / CPU', () => {
  // 20 µs bursts here: ~36 µs of CPU per slice, the timer 12 µs late
  assert.ok(Math.abs(sampleShiftBound({ cpu_s: 0.65, slices: 18000, timer_late_ns: 12000 })! - 0.3323) < 1e-3);
  // a timer late by less than the kernel's 10 µs re-arm still displaces that much
  assert.ok(Math.abs(sampleShiftBound({ cpu_s: 0.609, slices: 22480, timer_late_ns: 3100 })! - 0.3691) < 1e-3);
  assert.equal(sampleShiftBound({ cpu_s: 0.65, slices: 18000 }), null);
  assert.equal(sampleShiftBound({ cpu_s: 0.001, slices: 1e6, timer_late_ns: 1e6 }), 1);
  const r = sampledStageNumbers(measurement({ cpu_s: 5.05, sched_s: 6.2, slices: 150000, timer_late_ns: 10000 }));
  assert.ok(Math.abs(r.samples_per_cpu! - 5 / 5.05) < 1e-9);
  assert.ok(Math.abs(r.shift_bound! - 0.297) < 1e-3);
  const text = formatSampledReport(r);
  assert.match(text, /ran 5\.050 s \(task-clock\); the samples account for 5\.000 s \(99\.0%\)/);
  assert.match(text, /scheduler charged 6\.200 s \(\+23%/);
  assert.match(text, /up to 30% of the samples/);
  // an older recording has none of it
  const old = sampledStageNumbers(measurement());
  assert.equal(old.cpu_s, undefined);
  assert.doesNotMatch(formatSampledReport(old), /task-clock/);
});

test('the sampler\'s own time (timer delivery + program) is removed from ns per packet, the raw value kept', () => {
  // 10 µs late + 2.5 µs of program per sample at 1 kHz: 1.25% of the thread's CPU is the sampler's
  const r = sampledStageNumbers(measurement({ timer_late_ns: 10000, sample_run_ns: 2500 }));
  const parse = r.stages[0]!;
  assert.equal(parse.raw_ns_per_packet, 10000);
  assert.ok(Math.abs(parse.ns_per_packet - 9875) < 1e-9);
  const [lo, hi] = poissonInterval(1000);
  assert.ok(Math.abs(parse.ci_low_ns - lo * 10 * 0.9875) < 1e-6 && Math.abs(parse.ci_high_ns - hi * 10 * 0.9875) < 1e-6);
  assert.equal(r.sampler_stall_ns, 12500);
  assert.ok(Math.abs(r.sampler_share! - 0.0125) < 1e-12);
  assert.match(formatSampledReport(r), /sampler's own time: 12\.5 µs per sample .*1\.3% of the threads' CPU/);
  // without both numbers nothing is corrected, and the text says so
  const old = sampledStageNumbers(measurement({ timer_late_ns: 10000 }));
  assert.equal(old.stages[0]!.ns_per_packet, 10000);
  assert.equal(old.sampler_share, undefined);
  assert.match(formatSampledReport(old), /Not corrected for the sampler's own time/);
  // a stall that fills half the period or more is not a correction anyone should trust
  assert.equal(samplerShare({ sample_hz: 1000, timer_late_ns: 400000, sample_run_ns: 100000 }), null);
  assert.equal(samplerShare({ sample_hz: 0, timer_late_ns: 1, sample_run_ns: 1 }), null);
});

test('a stage given by address ranges takes the frames of its module inside [lo, hi) and nothing by name', () => {
  const at = (id: number, fn: string, module: string, elf: number | null): Frame => ({
    ...frame(id, fn, module), ...(elf === null ? {} : { elf_addr: `0x${elf.toString(16)}` }),
  });
  const fr: Frame[] = [
    at(1, 'main', '/opt/fwd', 0x1000),
    at(2, 'librte_node.so.23.0+0x4600', '/usr/lib/librte_node.so.23.0', 0x4674), // inside the node
    at(3, 'librte_node.so.23.0+0x4600', '/usr/lib/librte_node.so.23.0', 0x4700), // hi is outside
    at(4, 'node_process', '/usr/lib/librte_node.so.23.0', null), // no elf_addr: never in a range
    at(5, 'x', '/elsewhere/librte_node.so.23.0', 0x4610), // same basename: in
    at(6, 'x', '/usr/lib/librte_eal.so.23.0', 0x4610), // other module
  ];
  const sp: SampledStageSpec[] = [
    { name: 'node', symbol: 'node_process', module: 'librte_node.so.23.0', ranges: [{ module: '/usr/lib/librte_node.so.23.0', lo: 0x4600, hi: 0x4700 }] },
  ];
  const stacks: StackSample[] = [
    { frames: [2, 1], count: 5 },
    { frames: [3, 1], count: 2 },
    { frames: [4, 1], count: 3 },
    { frames: [5, 1], count: 1 },
    { frames: [6, 2, 1], count: 4 }, // called from the node: inclusive only... and self, as nearest
  ];
  const r = attributeSamples(fr, stacks, sp);
  assert.equal(r.stages[0]!.samples, 10);
  assert.equal(r.stages[0]!.inclusive_samples, 10);
  assert.equal(r.unattributed, 5);
  assert.deepEqual(r.stages[0]!.ranges, sp[0]!.ranges);
});

test('a stage with fewer than 10 samples is flagged and the table says too few samples instead of reading it', () => {
  // 30 kpps, 999 Hz, 8 s: a 20 ns/pkt stage is 30e3 × 20e-9 × 999 ≈ 0.6 samples a second
  const m = measurement({
    sample_hz: 999, window_s: 8, packets: 240_000, samples: 4000,
    stages: [
      { name: 'rx', symbol: 'graph:ethdev_rx-0-0', module: null, samples: 3900, inclusive_samples: 3900 },
      { name: 'lookup', symbol: 'graph:ip4_lookup', module: null, samples: 4, inclusive_samples: 4 },
      { name: 'drop', symbol: 'graph:pkt_drop', module: null, samples: 0, inclusive_samples: 0 },
      { name: 'edge', symbol: 'graph:pkt_cls', module: null, samples: 10, inclusive_samples: 10 },
    ],
  });
  const r = sampledStageNumbers(m);
  assert.deepEqual(r.stages.map((s) => [s.name, s.too_few_samples]), [['rx', false], ['lookup', true], ['drop', true], ['edge', false]]);
  const lookup = r.stages[1]!;
  assert.ok(lookup.ci_low_ns < lookup.ns_per_packet / 2 && lookup.ci_high_ns > lookup.ns_per_packet * 2, 'four samples: the interval spans > 2× either way');
  const text = formatSampledReport(r);
  assert.match(text, /^lookup .*too few samples$/m);
  assert.doesNotMatch(text, /^rx .*too few samples$/m);
  assert.match(text, /too few samples: lookup \(4\), drop \(0\) had fewer than 10/);
  assert.match(text, /30000 pps at 999 Hz gives a 33 ns\/pkt stage one sample a second/);
});

test('a poll stage keeps its samples and ns/pkt, marked as including idle polling, with rte_graph\'s calls per packet', () => {
  const m = measurement({
    sample_hz: 999, window_s: 7, packets: 84_000, samples: 2000,
    stages: [
      { name: 'ethdev_rx-0-0', symbol: 'graph:ethdev_rx-0-0', module: null, samples: 1616, inclusive_samples: 1616, poll: true, poll_by: 'graph-source',
        graph_counters: { calls: 12_660_000, objs: 84_000, cycles: 9_000_000_000 } },
      { name: 'ethdev_tx-1', symbol: 'graph:ethdev_tx-1', module: null, samples: 351, inclusive_samples: 351,
        graph_counters: { calls: 7000, objs: 84_000, cycles: 900_000_000 } },
      { name: 'pkt_drop', symbol: 'graph:pkt_drop', module: null, samples: 0, inclusive_samples: 0, graph_counters: { calls: 0, objs: 0, cycles: 0 } },
    ],
  });
  const r = sampledStageNumbers(m);
  const rx = r.stages[0]!;
  assert.equal(rx.poll, true);
  assert.equal(rx.poll_by, 'graph-source');
  assert.ok(Math.abs(rx.ns_per_packet - (1616 / 999) * 1e9 / 84_000) < 1e-6, 'the number is all its samples, idle included');
  assert.equal(rx.calls_per_packet, 12_660_000 / 84_000);
  assert.equal(r.stages[1]!.poll, undefined);
  assert.equal(r.stages[1]!.calls_per_packet, 7000 / 84_000);
  assert.equal(r.stages[2]!.calls_per_packet, null, 'no objects: no ratio');
  const text = formatSampledReport(r);
  assert.match(text, /^ethdev_rx-0-0 .*poll: idle included$/m);
  assert.doesNotMatch(text, /^ethdev_tx-1 .*poll/m);
  assert.match(text, /ethdev_rx-0-0: rte_graph counted 12660000 calls for 84000 objects \(150\.7 calls per packet\)\./);
  assert.match(text, /ethdev_tx-1: rte_graph counted 7000 calls for 84000 objects \(0\.0833 calls per packet\)\./);
  assert.match(text, /ethdev_rx-0-0: an rte_graph source node, called whether or not packets arrived: its samples include idle polling/);
  assert.match(text, /Record it in exact mode \(--mode exact\) to split busy from idle\./);
});
