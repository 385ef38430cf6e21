import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { exactVerdict, sampledVerdict, verdictDetails, verdictHeadline, verdictOf, verdictStatus, type VerdictRow } from '../../src/core/verdict.ts';
import { buildReport, type StageRow } from '../../src/core/report.ts';
import type { SampledReport } from '../../src/core/sampled.ts';
import { parseSession } from '../../src/core/session-io.ts';

function row(name: string, ns: number | null, extra: Partial<VerdictRow> = {}): VerdictRow {
  const base = { name, ns_per_packet: ns, packets: 1000, calls: 100 } as unknown as StageRow;
  return { ...base, ...extra };
}

test('weakest link, path rate on one core and the gain if it cost as much as the next-worst', () => {
  const v = exactVerdict({ stages: [row('rx', 100), row('parse', 50), row('tx', 850)] });
  assert.equal(v.weakest?.name, 'tx');
  assert.equal(v.weakest?.ns_per_packet, 850);
  assert.equal(v.next?.name, 'rx');
  assert.equal(v.path_ns_per_packet, 1000);
  assert.equal(v.packets_per_s_one_core, 1e6);
  assert.ok(Math.abs(v.weakest!.share - 0.85) < 1e-12);
  // tx at rx's 100 ns: the path is 250 ns, 4 Mpps on one core, +300%.
  assert.equal(v.gain?.saved_ns_per_packet, 750);
  assert.equal(v.gain?.path_ns_per_packet, 250);
  assert.equal(v.gain?.packets_per_s_one_core, 4e6);
  assert.ok(Math.abs(v.gain!.rate_gain - 3) < 1e-12);
  assert.equal(v.basis, 'inclusive');
  assert.equal(verdictHeadline(v), 'Weakest link: tx, 850 ns/packet (85% of the path)');
  const d = verdictDetails(v).join('\n');
  assert.match(d, /one core sustains about 1 Mpps/);
  assert.match(d, /If tx cost as much as rx \(100 ns\/packet\), the path would save 750 ns\/packet: 4 Mpps per core \(\+300%\)/);
  assert.match(d, /does not separate idle polls or nested stages/);
  assert.equal(verdictStatus(v), 'weakest: tx 850 ns/pkt (85%) · 1 Mpps/core');
});

test('a poll stage counts only busy time: idle polling never makes it the weakest link', () => {
  // rx is called on every poll; most of its 900 ns/packet is spent in calls that found nothing.
  const v = exactVerdict({ stages: [
    row('rx', 900, { poll: true, busy_ns_per_packet: 120, self_ns_per_packet: 900, parent: null }),
    row('tx', 400, { poll: false, self_ns_per_packet: 400, parent: null }),
  ] });
  assert.equal(v.weakest?.name, 'tx');
  assert.equal(v.stages.find((s) => s.name === 'rx')?.ns_per_packet, 120);
  assert.equal(v.stages.find((s) => s.name === 'rx')?.idle_ns_per_packet, 780);
  assert.equal(v.path_ns_per_packet, 520);
  assert.equal(v.basis, 'self');
  assert.match(verdictDetails(v).join('\n'), /Idle polling left out: rx 780 ns\/packet/);
});

test('nested stages add their own time once: the path is the sum of self times', () => {
  const v = exactVerdict({ stages: [
    row('loop', 1000, { self_ns_per_packet: 200, parent: null }),
    row('lookup', 600, { self_ns_per_packet: 600, parent: 'loop' }),
    row('hash', 200, { self_ns_per_packet: 200, parent: 'lookup' }),
  ] });
  assert.equal(v.path_ns_per_packet, 1000);
  assert.equal(v.weakest?.name, 'lookup');
  assert.equal(v.weakest?.ns_per_packet, 600);
});

test('below-resolution stages are named with their resolution, never a 0', () => {
  const v = exactVerdict({ stages: [row('rx', 300), row('tiny', 0, { below_resolution: true, resolution_ns: 5 }), row('tx', 700)] });
  assert.deepEqual(v.below_resolution, [{ name: 'tiny', resolution_ns: 5 }]);
  assert.ok(!v.stages.some((s) => s.name === 'tiny'));
  assert.match(verdictDetails(v).join('\n'), /tiny: < 5 ns, below the probe's resolution/);
});

test('no verdict without a measured stage; one stage has no next-worst and no gain', () => {
  const none = exactVerdict({ stages: [row('rx', null)] });
  assert.equal(none.weakest, null);
  assert.match(verdictHeadline(none), /^No weakest link: no stage measured/);
  const one = exactVerdict({ stages: [row('rx', 250)] });
  assert.equal(one.weakest?.name, 'rx');
  assert.equal(one.next, null);
  assert.equal(one.gain, null);
  assert.equal(one.packets_per_s_one_core, 4e6);
});

/** A sampled report of `samples` samples over 1000 packets in 1 s, with these stages. */
function sampledOf(samples: number, stages: Array<Partial<SampledReport['stages'][number]> & { name: string }>): SampledReport {
  const base = { symbol: 's', inclusive_samples: 0, share: 0, raw_ns_per_packet: 0, confidence: 0.95 };
  return {
    sample_hz: 999, samples, window_s: 1, packets: 1000, packets_source: 'x', packets_per_second: 1000,
    stages: stages.map((st) => ({ ...base, ...st })),
  } as SampledReport;
}

test('sampled mode: the costs and intervals from samples; overlapping intervals are not separable', () => {
  const r = sampledOf(100, [
    { name: 'a', samples: 40, ns_per_packet: 400, ci_low_ns: 300, ci_high_ns: 520 },
    { name: 'b', samples: 35, ns_per_packet: 350, ci_low_ns: 250, ci_high_ns: 470 },
  ]);
  const v = sampledVerdict(r);
  assert.equal(v.mode, 'sampled');
  assert.equal(v.weakest?.name, 'a');
  assert.equal(v.separable, false);
  assert.match(verdictDetails(v).join('\n'), /within counting noise/);
  r.stages[1]!.ci_high_ns = 290;
  assert.equal(sampledVerdict(r).separable, true);
});

test('sampled mode: a next-worst of too few samples gives no gain, and the details say why', () => {
  const r = sampledOf(400, [
    { name: 'tx', samples: 351, ns_per_packet: 1232, ci_low_ns: 1100, ci_high_ns: 1370 },
    { name: 'pkt_cls', samples: 1, ns_per_packet: 9, ci_low_ns: 0.2, ci_high_ns: 50, too_few_samples: true },
  ]);
  const v = sampledVerdict(r);
  assert.equal(v.weakest?.name, 'tx');
  assert.equal(v.next?.name, 'pkt_cls');
  assert.equal(v.gain, null);
  assert.match(verdictDetails(v).join('\n'), /pkt_cls, got too few samples to say what the path would gain/);
  r.stages[1] = { ...r.stages[1]!, samples: 60, ns_per_packet: 540, too_few_samples: false };
  assert.ok(sampledVerdict(r).gain, 'with enough samples the gain is stated');
});

test('sampled mode: a poll stage\'s samples include idle polling: listed with its number, never ranked', () => {
  // the DPDK lab at ~12 kpps: the rx node's samples are mostly empty polls (19 µs/pkt), tx pays a sendto per burst
  const base = { symbol: 's', inclusive_samples: 0, share: 0, raw_ns_per_packet: 0, confidence: 0.95 };
  const r = {
    sample_hz: 999, samples: 2000, window_s: 7, packets: 84000, packets_source: 'x', packets_per_second: 12000,
    stages: [
      { ...base, name: 'ethdev_rx-0-0', samples: 1616, ns_per_packet: 19255, ci_low_ns: 18340, ci_high_ns: 20210, poll: true, poll_by: 'graph-source', calls_per_packet: 150.7 },
      { ...base, name: 'pkt_cls', samples: 1, ns_per_packet: 12, ci_low_ns: 0.3, ci_high_ns: 66, too_few_samples: true },
      { ...base, name: 'ethdev_tx-1', samples: 351, ns_per_packet: 4182, ci_low_ns: 3756, ci_high_ns: 4643 },
    ],
  } as SampledReport;
  const v = sampledVerdict(r);
  assert.equal(v.weakest?.name, 'ethdev_tx-1');
  assert.equal(v.next?.name, 'pkt_cls');
  assert.ok(!v.stages.some((s) => s.name === 'ethdev_rx-0-0'), 'rx is not among the ranked stages');
  assert.deepEqual(v.idle_inclusive, [{ name: 'ethdev_rx-0-0', ns_per_packet: 19255, ci_ns: [18340, 20210], poll_by: 'graph-source', calls_per_packet: 150.7 }]);
  // the path is what was measured without the poll stage, and says so
  assert.equal(v.path_ns_per_packet, 4194);
  const d = verdictDetails(v).join('\n');
  assert.match(d, /The path without ethdev_rx-0-0 costs 4\.19 µs of busy time per packet: one core sustains at most/);
  assert.match(d, /ethdev_rx-0-0: 19\.3 µs\/packet including idle polling; an rte_graph source node.*it is not ranked/);
  assert.match(d, /\(150\.7 calls per packet\)/);
  assert.match(d, /exact mode \(--mode exact\) to split busy from idle/);
  assert.equal(verdictHeadline(v), 'Weakest link: ethdev_tx-1, 4.18 µs/packet (100% of the path)');
  assert.equal(verdictStatus(v), 'weakest: ethdev_tx-1 4.18 µs/pkt (100%) · ≤ 238 kpps/core · ethdev_rx-0-0 not ranked (idle polling)');
  // exact mode's split, when a recording has it, is used as before
  const split = sampledVerdict({ ...r, stages: [{ ...r.stages[0]!, busy_ns_per_packet: 2300 } as SampledReport['stages'][number], r.stages[2]!] });
  assert.equal(split.weakest?.name, 'ethdev_tx-1');
  assert.equal(split.stages.find((s) => s.name === 'ethdev_rx-0-0')?.ns_per_packet, 2300);
  assert.deepEqual(split.idle_inclusive, []);
});

test('sampled mode: only poll stages sampled: no weakest link, and the reason says what to do', () => {
  const base = { symbol: 's', inclusive_samples: 0, share: 0, raw_ns_per_packet: 0, confidence: 0.95 };
  const v = sampledVerdict({
    sample_hz: 999, samples: 100, window_s: 1, packets: 1000, packets_source: 'x', packets_per_second: 1000,
    stages: [{ ...base, name: 'rx0', samples: 100, ns_per_packet: 100000, ci_low_ns: 81000, ci_high_ns: 121000, poll: true, poll_by: 'ethdev-rx' }],
  } as SampledReport);
  assert.equal(v.weakest, null);
  assert.equal(v.path_ns_per_packet, null);
  assert.match(verdictHeadline(v), /^No weakest link: the only stage sampled \(rx0\) polls for packets/);
  assert.equal(verdictStatus(v), 'no weakest link: rx0 not ranked (idle polling)');
  assert.match(verdictDetails(v).join('\n'), /rx0: 100 µs\/packet including idle polling; an ethdev rx burst function/);
});

test('the demo forwarder\'s recorded session: the weakest link is fwd_tx', () => {
  const s = parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');
  const v = verdictOf(buildReport(s));
  assert.equal(v.weakest?.name, 'fwd_tx');
  assert.ok(v.packets_per_s_one_core! > 0);
  assert.ok(v.gain && v.gain.rate_gain > 1, 'fwd_tx dominates: bringing it to the next-worst more than doubles the rate');
});
