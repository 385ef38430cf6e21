// Attach on a DPDK process: the stages --auto-stages finds become picker items (pre-selected, shown
// by their graph:/ethdev: spec), and what the user keeps resolves to uprobes the way `pktpath record`
// does. From the recorded l3fwd-graph query (Debian's DPDK 22.11, pcap PMD into net_null).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDpdkQuery } from '../../src/tracer/dpdk-query.ts';
import { defaultPacketsFrom, dpdkPicks } from '../../src/tracer/dpdk-picks.ts';
import { autoStages } from '../../src/tracer/dpdk-stages.ts';
import { resolveDpdkStages, restoreSpecs, splitStages } from '../../src/tracer/dpdk-resolve.ts';
import { parseSession } from '../../src/core/session-io.ts';
import { SpecError, parseStageArg } from '../../src/tracer/spec.ts';

const q = parseDpdkQuery(readFileSync(resolve(__dirname, '../fixtures/dpdk-query-l3fwd-graph.jsonl'), 'utf8'));
const NODE_LIB = '/usr/lib/x86_64-linux-gnu/librte_node.so.23.0';

test('a graph process offers one pre-selected item per node, named as exact --auto-stages names them', () => {
  const d = dpdkPicks(q);
  assert.equal(d.none, null);
  assert.deepEqual(d.picks.map((p) => p.stage), autoStages(q, true).stages.map((s) => `${s.name}=${s.spec}`));
  // the two tx nodes run one function: two items, the busier first
  assert.deepEqual(d.picks.filter((p) => p.spec.startsWith('graph:ethdev_tx')).map((p) => p.spec), ['graph:ethdev_tx-1', 'graph:ethdev_tx-0']);
  assert.ok(d.picks.every((p) => p.picked));
  const lookup = d.picks.find((p) => p.spec === 'graph:ip4_lookup')!;
  assert.equal(lookup.name, 'ip4_lookup');
  assert.match(lookup.found, /rte_graph node ip4_lookup .*librte_node\.so\.23\.0\+0x9900/);
  assert.match(d.notes.join('\n'), /rte_graph: \d+ node functions/);
});

test('without a graph the items are the ports\' rx/tx burst functions', () => {
  const d = dpdkPicks({ ...q, nodes: [] });
  assert.deepEqual(d.picks.map((p) => p.stage), ['rx0=ethdev:rx:0', 'tx0=ethdev:tx:0', 'tx1=ethdev:tx:1']);
  assert.ok(d.picks.every((p) => p.picked));
});

test('nothing found, or nothing probeable, is said (Attach then samples what runs)', () => {
  assert.match(dpdkPicks({ ...q, nodes: [], ports: [] }).none!, /no rte_graph node and no started ethdev port in process/);
  const anon = { addr: '0x7f0000001000', module: null, elf_addr: null, fn: null, lo: null, hi: null };
  const jit = dpdkPicks({ ...q, nodes: [], ports: q.ports.map((p) => ({ ...p, burst: anon })) });
  assert.match(jit.none!, /none of the 1 DPDK stages .* can be probed/);
  assert.equal(jit.picks[0]!.picked, false);
  assert.match(jit.picks[0]!.found, /in no mapped file/);
});

test('picked items resolve to uprobes as the CLI resolves them; the session shows the specs', () => {
  const picked = [...dpdkPicks(q).picks.filter((p) => p.spec === 'graph:ip4_lookup' || p.spec === 'graph:pkt_cls').map((p) => p.stage), 'fwd=uprobe:/bin/x:fwd'];
  const split = splitStages(picked);
  assert.deepEqual(split.plain, ['fwd=uprobe:/bin/x:fwd']);
  const said: string[] = [];
  const r = resolveDpdkStages(q, split.dpdk, false, 'exact', new Set(['fwd']), (l) => said.push(l));
  assert.ok(r.exact.includes(`ip4_lookup=uprobe:${NODE_LIB}:0x9900:packets=ret`));
  assert.equal(r.exact.length, 2);
  assert.equal(r.original.get('ip4_lookup'), 'graph:ip4_lookup');
  assert.match(said.join('\n'), /stage ip4_lookup: graph:ip4_lookup is rte_graph node/);
  const s = parseSession(readFileSync(resolve(__dirname, '../fixtures/demo-session.pktpath.json')), 'demo');
  const renamed = { ...s, stages: s.stages.map((st, i) => (i === 0 ? { ...st, name: 'ip4_lookup', spec: r.exact[0]!.slice(r.exact[0]!.indexOf('=') + 1) } : st)) };
  const shown = restoreSpecs(renamed, r.original);
  assert.equal(shown.stages[0]!.spec, 'graph:ip4_lookup');
  assert.equal(shown.stages[1]!.spec, s.stages[1]!.spec);
  assert.equal(restoreSpecs(s, r.original), s);
});

test('nodes of one function: exact mode keeps each node\'s calls by its node argument; sampled mode folds them into the first', () => {
  const tx = dpdkPicks(q).picks.filter((p) => p.spec.startsWith('graph:ethdev_tx')).map((p) => p.stage);
  const addr = (n: string) => q.nodes.find((x) => x.name === n)!.addr;
  const e = resolveDpdkStages(q, splitStages(tx).dpdk, false, 'exact', new Set(), () => undefined);
  assert.deepEqual(e.exact, [
    `ethdev_tx-1=uprobe:${NODE_LIB}:0x4830:packets=ret:arg1=${addr('ethdev_tx-1')}`,
    `ethdev_tx-0=uprobe:${NODE_LIB}:0x4830:packets=ret:arg1=${addr('ethdev_tx-0')}`,
  ]);
  for (const st of e.exact) parseStageArg(st);
  const said: string[] = [];
  const sm = resolveDpdkStages(q, splitStages(tx).dpdk, false, 'sampled', new Set(), (l) => said.push(l));
  // one stage, whose rte_graph counters are both nodes'
  assert.deepEqual(sm.sampled.map((x) => [x.name, x.graphNodes]), [['ethdev_tx-1', q.nodes.filter((n) => n.name.startsWith('ethdev_tx')).map((n) => n.addr)]]);
  assert.match(said.join('\n'), /stage ethdev_tx-0: graph:ethdev_tx-0 runs the function of stage ethdev_tx-1: in sampled mode its samples are ethdev_tx-1's/);
  // --auto-stages: one stage per node in exact mode, per function in sampled mode
  assert.equal(resolveDpdkStages(q, [], true, 'exact', new Set(), () => undefined).exact.length, 7);
  assert.equal(resolveDpdkStages(q, [], true, 'sampled', new Set(), () => undefined).sampled.length, 6);
});

test('a stage the query does not know is refused with what it has', () => {
  assert.throws(() => resolveDpdkStages(q, splitStages(['x=graph:nope']).dpdk, false, 'exact', new Set(), () => undefined), (e: unknown) => e instanceof SpecError && /its nodes: /.test(e.message));
});

test('sampled mode counts packets on the busiest rte_graph node, else on the first rx port\'s telemetry', () => {
  assert.equal(defaultPacketsFrom(q, 'x'), 'graph:ethdev_rx-0-0');
  const fresh = { ...q, nodes: q.nodes.map((n) => ({ ...n, objs: n.name === 'pkt_cls' ? 10 : 0 })) };
  assert.equal(defaultPacketsFrom(fresh, null), 'graph:pkt_cls');
  assert.equal(defaultPacketsFrom({ ...q, nodes: [] }, 'l3fwd-7'), 'dpdk:/var/run/dpdk/l3fwd-7/dpdk_telemetry.v2:0:rx');
  assert.equal(defaultPacketsFrom({ ...q, nodes: [] }, null), 'dpdk:/var/run/dpdk/rte/dpdk_telemetry.v2:0:rx');
  assert.equal(defaultPacketsFrom({ ...q, nodes: [], ports: q.ports.filter((p) => p.dir === 'tx') }, null), null);
});
