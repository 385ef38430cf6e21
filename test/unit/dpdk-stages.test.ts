// DPDK stages resolved from a recorded `--dpdk-query` answer (l3fwd-graph on Debian's DPDK 22.11,
// pcap PMD into net_null): graph:/ethdev: specs become uprobes at ELF addresses and address ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DpdkQueryError, nodeTotals, parseDpdkQuery, tscHz } from '../../src/tracer/dpdk-query.ts';
import { autoStages, parseDpdkSpec, resolveDpdkStage } from '../../src/tracer/dpdk-stages.ts';
import { splitStages } from '../../src/cli/auto-stages.ts';
import { parseCounterSource } from '../../src/tracer/counters.ts';
import { attributeSamples } from '../../src/core/sampled.ts';
import { stageFunctionOf, withPoll } from '../../src/tracer/sampled.ts';
import { resolveDpdkStages } from '../../src/tracer/dpdk-resolve.ts';
import { SpecError } from '../../src/tracer/spec.ts';

const text = readFileSync(resolve(__dirname, '../fixtures/dpdk-query-l3fwd-graph.jsonl'), 'utf8');
const q = parseDpdkQuery(text);
const NODE_LIB = '/usr/lib/x86_64-linux-gnu/librte_node.so.23.0';

test('the query lists the graph nodes and the started ports', () => {
  assert.deepEqual([...new Set(q.nodes.map((n) => n.name))].sort(), ['ethdev_rx-0-0', 'ethdev_tx-0', 'ethdev_tx-1', 'ip4_lookup', 'ip4_rewrite', 'pkt_cls', 'pkt_drop']);
  assert.deepEqual(q.ports.map((p) => `${p.dir}${p.port}`), ['rx0', 'tx0', 'tx1']);
  assert.ok(nodeTotals(q, 'pkt_cls')!.objs > 0);
  assert.equal(nodeTotals(q, 'nope'), null);
});

test('graph:NODE is the process function the graph calls, probed at its ELF address, packets = ret', () => {
  const s = resolveDpdkStage('lookup', 'graph:ip4_lookup', q);
  assert.equal(s.uprobe, `uprobe:${NODE_LIB}:0x9900:packets=ret`);
  assert.deepEqual(s.range, { module: NODE_LIB, lo: 0x9900, hi: 0xf32c });
  assert.match(s.found, /eh_frame/);
});

test('nodes sharing one function are said to, and auto-stages makes them one stage', () => {
  assert.match(resolveDpdkStage('tx', 'graph:ethdev_tx-1', q).warnings.join(), /shares its process function with ethdev_tx-0/);
  const a = autoStages(q);
  assert.deepEqual(a.stages.map((s) => s.spec).sort(), ['graph:ethdev_rx-0-0', 'graph:ethdev_tx-1', 'graph:ip4_lookup', 'graph:ip4_rewrite', 'graph:pkt_cls', 'graph:pkt_drop']);
  assert.match(a.notes.join('\n'), /also runs ethdev_tx-0/);
});

test('ethdev:rx|tx:PORT are the burst functions from rte_eth_fp_ops', () => {
  assert.match(resolveDpdkStage('rx', 'ethdev:rx:0', q).uprobe, /^uprobe:\/usr\/lib\/x86_64-linux-gnu\/dpdk\/pmds-23.0\/librte_net_pcap\.so\.23\.0:0x3f70:packets=ret$/);
  assert.throws(() => resolveDpdkStage('rx', 'ethdev:rx:1', q), /port 1 has no rx burst function .*started: ethdev:rx:0, ethdev:tx:0, ethdev:tx:1/);
  assert.throws(() => resolveDpdkStage('x', 'graph:nope', q), /no rte_graph node nope .*its nodes: /);
});

test('without a graph, auto-stages is the ports', () => {
  const a = autoStages({ ...q, nodes: [] });
  assert.deepEqual(a.stages.map((s) => `${s.name}=${s.spec}`), ['rx0=ethdev:rx:0', 'tx0=ethdev:tx:0', 'tx1=ethdev:tx:1']);
  // one PMD serving two ports: one stage, said so
  const tx0 = q.ports.find((p) => p.dir === 'tx' && p.port === 0)!;
  const shared = { ...q, nodes: [], ports: q.ports.map((p) => (p.dir === 'tx' && p.port === 1 ? { ...p, burst: tx0.burst } : p)) };
  const b = autoStages(shared);
  assert.deepEqual(b.stages.map((s) => s.spec), ['ethdev:rx:0', 'ethdev:tx:0']);
  assert.match(b.notes.join('\n'), /ethdev:tx:0: .*also port\(s\) 1: counted together/);
  assert.match(resolveDpdkStage('t', 'ethdev:tx:1', shared).warnings.join(), /also serves port\(s\) 0/);
});

test('specs and counters are checked', () => {
  assert.deepEqual(parseDpdkSpec('a', 'ethdev:tx:3'), { kind: 'ethdev', dir: 'tx', port: 3 });
  assert.throws(() => parseDpdkSpec('a', 'ethdev:up:3'), SpecError);
  assert.throws(() => parseDpdkSpec('a', 'graph:a b'), SpecError);
  const split = splitStages(['a=graph:pkt_cls', 'b=uprobe:/bin/x:f']);
  assert.deepEqual(split, { plain: ['b=uprobe:/bin/x:f'], dpdk: [{ name: 'a', spec: 'graph:pkt_cls' }] });
  assert.deepEqual(parseCounterSource('graph:pkt_cls'), { kind: 'graph', node: 'pkt_cls', pid: 0, tracer: '' });
  assert.throws(() => parseDpdkQuery('{"type":"error","message":"only DPDK 22.11"}\n'), (e: Error) => e instanceof DpdkQueryError && /22\.11/.test(e.message));
  assert.throws(() => parseDpdkQuery(''), /no answer/);
});

test('two queries give the TSC rate', () => {
  const b = { ...q, tsc: q.tsc + 2_500_000_000, mono_ns: q.mono_ns + 1_000_000_000 };
  assert.equal(tscHz(q, b), 2.5e9);
});

test('sampled mode matches a graph stage by its range, not by name', () => {
  const s = resolveDpdkStage('lookup', 'graph:ip4_lookup', q);
  const spec = stageFunctionOf({ name: 'lookup', spec: 'graph:ip4_lookup', ranges: [s.range!] });
  const frames = [
    { id: 1, fn: 'librte_node.so.23.0+0x9900', off: 0x10, module: NODE_LIB, build_id: null, addr: '0x7f00', kernel: false, elf_addr: '0x9910' },
    { id: 2, fn: 'librte_node.so.23.0+0x10d20', off: 0, module: NODE_LIB, build_id: null, addr: '0x7f01', kernel: false, elf_addr: '0x10d20' },
  ];
  const r = attributeSamples(frames, [{ frames: [1], count: 3 }, { frames: [2], count: 5 }], [spec]);
  assert.equal(r.stages[0]!.samples, 3);
  assert.equal(r.unattributed, 5);
});

// The same answer as a tracer with "source" writes it: ethdev_rx-0-0 is the graph's one source node.
const withSource = text.split('\n').map((l) => (l.includes('"type":"node"') ? l.replace(/\}$/, `,"source":${l.includes('"ethdev_rx-0-0"')}}`) : l)).join('\n');

test('source nodes (RTE_NODE_SOURCE_F) and rx burst functions are poll stages; an older answer says nothing', () => {
  const qs = parseDpdkQuery(withSource);
  assert.deepEqual(qs.nodes.filter((n) => n.source).map((n) => n.name), ['ethdev_rx-0-0']);
  assert.ok(q.nodes.every((n) => n.source === null), 'no "source" in the answer: unknown, not false');
  assert.throws(() => parseDpdkQuery(withSource.replace('"source":true', '"source":1')), /"source" is not true or false/);
  const rx = resolveDpdkStage('rx', 'graph:ethdev_rx-0-0', qs);
  assert.equal(rx.poll, 'graph-source');
  assert.deepEqual(rx.nodes, ['0x11e483e40']);
  assert.match(rx.found, /a poll function \(rte_graph source node\)/);
  assert.equal(resolveDpdkStage('lookup', 'graph:ip4_lookup', qs).poll, null);
  assert.equal(resolveDpdkStage('rx', 'graph:ethdev_rx-0-0', q).poll, null, 'an older tracer: not known to poll');
  // the tx nodes share one function: its samples and its counters are both nodes'
  assert.deepEqual(resolveDpdkStage('tx', 'graph:ethdev_tx-1', qs).nodes, ['0x11e483ac0', '0x11e483c00']);
  assert.equal(resolveDpdkStage('rx0', 'ethdev:rx:0', q).poll, 'ethdev-rx');
  assert.equal(resolveDpdkStage('tx1', 'ethdev:tx:1', q).poll, null);
  assert.deepEqual(resolveDpdkStage('rx0', 'ethdev:rx:0', q).nodes, []);
});

test('sampled mode: the resolved stages carry poll and their nodes; the session stage gets the counters\' deltas', () => {
  const r = resolveDpdkStages(parseDpdkQuery(withSource), [], true, 'sampled', new Set(), () => {});
  const rx = r.sampled.find((s) => s.spec === 'graph:ethdev_rx-0-0')!;
  assert.equal(rx.poll, 'graph-source');
  assert.deepEqual(rx.graphNodes, ['0x11e483e40']);
  assert.equal(r.sampled.find((s) => s.spec === 'graph:ip4_lookup')!.poll, undefined);
  const base = { name: 'rx', symbol: 'graph:ethdev_rx-0-0', module: 'librte_node.so.23.0', samples: 10, inclusive_samples: 10 };
  const at = (calls: number, objs: number) => new Map([['0x11e483e40', { calls, objs, cycles: calls * 100 }]]);
  const s = withPoll(base, rx, at(1000, 50), at(3_800_000, 20_050));
  assert.equal(s.poll, true);
  assert.equal(s.poll_by, 'graph-source');
  assert.deepEqual(s.graph_counters, { calls: 3_799_000, objs: 20_000, cycles: 379_900_000 });
  // a read that failed, a node missing, or a counter that went backwards: no counters, still a poll stage
  assert.equal(withPoll(base, rx, null, at(2, 2)).graph_counters, undefined);
  assert.equal(withPoll(base, rx, at(1, 1), new Map()).graph_counters, undefined);
  assert.equal(withPoll(base, rx, at(10, 10), at(5, 20)).graph_counters, undefined);
  assert.equal(withPoll(base, rx, at(10, 10), at(5, 20)).poll, true);
  assert.deepEqual(withPoll(base, { name: 'x', spec: 'uprobe:/bin/x:f' }, null, null), base);
});
