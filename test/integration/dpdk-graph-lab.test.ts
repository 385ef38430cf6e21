// l3fwd-graph as Debian ships it between two network namespaces over af_packet (qpairs=2, all four
// rx queues polled), with real UDP traffic at tens of kpps. --auto-stages names every node; the rx
// nodes are poll functions (called whether or not frames arrived), so their idle calls are reported
// apart and never make the weakest link; the tx node counts what the sink received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExample, dpdkQuery, sendUdp, startApp, startNsLab, type DpdkApp, type NsLab } from './dpdk-lab.ts';
import type { DpdkQuery } from '../../src/tracer/dpdk-query.ts';
import { ROOT, TRACER, buildTracer } from './tracer-util.ts';
import { buildReport } from '../../src/core/report.ts';
import { formatSampledReport } from '../../src/core/sampled.ts';
import { exactStageCost, sampledVerdict, verdictDetails } from '../../src/core/verdict.ts';
import type { Session } from '../../src/core/session.ts';

const NAME = `gl${process.pid % 100000}`;
const PPS = 30_000;
let lab: NsLab | undefined;
let app: DpdkApp | undefined;
let dir: string;

before(async () => {
  buildTracer();
  const exe = buildExample('l3fwd-graph');
  dir = mkdtempSync(join(tmpdir(), 'pktpath-graph-lab-'));
  lab = startNsLab(NAME);
  app = await startApp(exe, [
    '-l', '0,1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', `pktpath-${NAME}`,
    '--vdev', `net_af_packet0,iface=${lab.ports[0]},framecnt=8192,qpairs=2`, '--vdev', `net_af_packet1,iface=${lab.ports[1]},framecnt=8192,qpairs=2`,
    '--', '-p', '0x3', '-P', '--config=(0,0,1),(0,1,1),(1,0,1),(1,1,1)', `--eth-dest=1,${lab.sinkMac}`,
  ], /\|Node\s+\|calls/); // its stats table list only nodes that had objects: its header means the graph runs
  // the main lcore busy-waits printing stats: leave the CPU to the worker lcore
  execFileSync('renice', ['-n', '19', '-p', String(app.pid)], { stdio: 'ignore' });
});

after(async () => {
  await app?.stop();
  lab?.down();
  rmSync(join('/var/run/dpdk', `pktpath-${NAME}`), { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run { session: Session; stderr: string; sent: number; sink: number; sendS: number; graph0: DpdkQuery; graph1: DpdkQuery }

/** `pktpath record` as a user runs it, with `seconds` of traffic started once it is ready. */
async function recordWithTraffic(args: string[], seconds: number): Promise<Run> {
  const out = join(dir, `s-${Date.now()}.json`);
  // rte_graph's own counters before and after: the traffic runs inside the recording
  const graph0 = dpdkQuery(app!.pid);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(app!.pid), '--tracer', TRACER, '-q', ...args, '-o', out],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let stderr = '';
  const exit = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      // exact mode says ready once probes are attached; sampled mode once its sampler runs
      if (/^(ready: |sampled mode: \d+ Hz)/m.test(stderr)) resolve();
    });
    void exit.then((c) => reject(new Error(`record exited ${c} before ready\n${stderr}`)));
  });
  const sink0 = lab!.sinkRx();
  const t0 = Date.now();
  const sent = await sendUdp(lab!, PPS, seconds);
  const sendS = (Date.now() - t0) / 1000;
  const code = await exit;
  assert.equal(code, 0, stderr);
  // the sink may lag on this busy machine: wait until its count stops moving
  let last = -1;
  for (let i = 0; i < 30 && lab!.sinkRx() !== last; i++) {
    last = lab!.sinkRx();
    await new Promise((r) => setTimeout(r, 300));
  }
  return { session: JSON.parse(readFileSync(out, 'utf8')) as Session, stderr, sent, sink: lab!.sinkRx() - sink0, sendS, graph0, graph1: dpdkQuery(app!.pid) };
}

// The four rx nodes share one process function, and so do the two tx nodes. Sampled mode makes one
// stage of each function, named after one of its nodes (a sample cannot tell the nodes apart);
// exact mode one stage per node, their calls told apart by the node argument.
const FUNCTIONS = [/^graph:ethdev_rx-[01]-[01]$/, /^graph:ethdev_tx-[01]$/, /^graph:ip4_lookup$/, /^graph:ip4_rewrite$/, /^graph:pkt_cls$/, /^graph:pkt_drop$/];
const NODES = ['ethdev_rx-0-0', 'ethdev_rx-0-1', 'ethdev_rx-1-0', 'ethdev_rx-1-1', 'ethdev_tx-0', 'ethdev_tx-1', 'ip4_lookup', 'ip4_rewrite', 'pkt_cls', 'pkt_drop'];

function assertNamed(specs: string[], stderr: string): void {
  assert.equal(specs.length, FUNCTIONS.length, specs.join(' '));
  for (const re of FUNCTIONS) assert.ok(specs.some((s) => re.test(s)), `${re} among ${specs.join(' ')}`);
  assert.match(stderr, /shares its process function with ethdev_rx-/);
}

/** rte_graph's objects and calls of a node between two queries. */
function graphDelta(r: Run, node: string): { objs: number; calls: number } {
  const at = (q: DpdkQuery) => q.nodes.find((n) => n.name === node) ?? { objs: 0, calls: 0 };
  return { objs: at(r.graph1).objs - at(r.graph0).objs, calls: at(r.graph1).calls - at(r.graph0).calls };
}

test('exact --auto-stages: a stage per node, each counting its own objects as rte_graph does; rx polling idle apart and not the weakest link, tx counts the sink', async () => {
  const r = await recordWithTraffic(['--auto-stages', '--duration', '9'], 4);
  assert.ok(r.sendS < 8, `the sender took ${r.sendS} s: traffic outlasted the recording`);
  assert.match(r.stderr, /auto-stages: rte_graph: \d+ node functions in 1 graph\(s\) \(worker_1\)/);
  assert.match(r.stderr, /graph:ethdev_rx-\d-\d, graph:ethdev_rx-\d-\d, graph:ethdev_rx-\d-\d, graph:ethdev_rx-\d-\d: .* \(one function: each node's calls by their node argument\)/);
  const rep = buildReport(r.session);
  assert.deepEqual(r.session.stages.map((s) => s.spec.slice('graph:'.length)).sort(), NODES);
  // all the traffic ran inside the recording: each node's packets are its own objects by rte_graph's count, the idle
  // port's rx nodes none, though all four share one function
  const perNode = NODES.map((n) => {
    const st = r.session.stages.find((s) => s.spec === `graph:${n}`)!;
    return { n, packets: st.packets, calls: st.calls, graph: graphDelta(r, n) };
  });
  const nodeRows = perNode.map((x) => `${x.n.padEnd(14)} probe ${String(x.packets).padStart(7)} pkts ${String(x.calls).padStart(9)} calls   rte_graph ${String(x.graph.objs).padStart(7)} objs ${String(x.graph.calls).padStart(9)} calls`);
  console.log(nodeRows.join('\n'));
  for (const x of perNode) {
    assert.ok(Math.abs(x.packets - x.graph.objs) <= 0.03 * x.graph.objs, `${x.n}: ${x.packets} packets by the probe, ${x.graph.objs} objects by rte_graph\n${nodeRows.join('\n')}`);
    assert.ok(x.calls <= x.graph.calls, `${x.n}: ${x.calls} calls probed, more than rte_graph's ${x.graph.calls}`);
  }
  assert.ok(perNode.filter((x) => x.n.startsWith('ethdev_rx-')).every((x) => x.calls > 0), 'every rx node polled');
  const rows = rep.stages.map((s) =>
    `${s.name.padEnd(16)} calls ${String(s.calls).padStart(9)} pkts ${String(s.packets).padStart(7)} poll ${String(s.poll).padEnd(5)} ` +
    `busy ${s.busy_calls ?? '-'} idle ${s.idle_calls ?? '-'} (${s.idle_ns === null ? '-' : (s.idle_ns / 1e6).toFixed(1)} ms) ` +
    `ns/pkt ${s.ns_per_packet?.toFixed(1) ?? '-'} busy ${s.busy_ns_per_packet?.toFixed(1) ?? '-'} self ${s.self_ns_per_packet?.toFixed(1) ?? '-'}${s.below_resolution ? ' (below resolution)' : ''}`);
  const tx = rep.stages.find((s) => s.spec === 'graph:ethdev_tx-1')!;
  const txPerS = tx.packets / r.session.duration_s;
  console.log(`l3fwd-graph over af_packet: sent ${r.sent} in ${r.sendS.toFixed(2)} s (${(r.sent / r.sendS / 1000).toFixed(1)} kpps), sink ${r.sink}, ` +
    `ethdev_tx-1 ${tx.packets}; slowest ${rep.slowest}, total ${rep.total_ns_per_packet?.toFixed(1)} ns/pkt\n${rows.join('\n')}`);
  assert.ok(r.sink > 0.9 * r.sent, `the sink got ${r.sink} of ${r.sent}`);
  assert.ok(Math.abs(tx.packets - r.sink) <= 0.03 * r.sink, `ethdev_tx-1 ${tx.packets} vs sink ${r.sink}`);
  assert.ok(txPerS > 0, `${txPerS}`);
  for (const s of rep.stages.filter((x) => x.spec.startsWith('graph:ethdev_rx-'))) {
    // every graph walk polls all four queues; traffic comes in on port 0's two
    assert.equal(s.poll, true, `${s.name} is a poll function`);
    assert.ok((s.idle_calls ?? 0) > 0 && (s.idle_ns ?? 0) > 0, `${s.name}: idle calls apart`);
    // the idle port's queues: polled, never a packet, so no cost per packet and never the weakest link
    if (s.packets === 0) {
      assert.equal(exactStageCost(s), null, `${s.name}: no packets, no cost per packet`);
      assert.notEqual(rep.slowest, s.name);
      continue;
    }
    // ranked on busy time only: it may be the weakest link when its busy calls cost the most (af_packet's rx copies
    // every frame; on a quiet host its busy µs/pkt rivals tx's sendto), never because of its idle polls
    const cost = exactStageCost(s)!;
    assert.ok(s.busy_ns_per_packet !== null && cost.ns <= s.busy_ns_per_packet + 1e-6 && cost.idle !== null && cost.idle > 0,
      `${s.name}: ranked on ${cost.ns} ns/pkt, not on its busy time\n${rows.join('\n')}`);
    if (rep.slowest === s.name) {
      for (const o of rep.stages.filter((x) => x !== s && !x.below_resolution)) {
        assert.ok(cost.ns >= (exactStageCost(o)?.ns ?? 0), `${s.name}'s idle polling made it the weakest link\n${rows.join('\n')}`);
      }
    }
  }
  const rx = rep.stages.filter((s) => s.spec.startsWith('graph:ethdev_rx-')).reduce((a, s) => a + s.packets, 0);
  assert.ok(Math.abs(rx - tx.packets) <= 0.03 * tx.packets, `rx ${rx} vs tx ${tx.packets}`);
});

test('sampled --auto-stages at tens of kpps: each node a number with its interval, or too few samples said; the rx poll is not the weakest link', async () => {
  const r = await recordWithTraffic(['--auto-stages', '--mode', 'sampled', '--packets-from', 'graph:ethdev_tx-1', '--duration', '8', '--sample-hz', '999'], 5);
  const rep = buildReport(r.session);
  const sp = rep.sampled!;
  assert.ok(sp, `a sampled report: ${rep.sampled_error}`);
  assertNamed(sp.stages.map((s) => s.symbol), r.stderr);
  console.log(`sent ${r.sent} (${(r.sent / r.sendS / 1000).toFixed(1)} kpps), sink ${r.sink}\n${formatSampledReport(sp)}`);
  // the window's packets are rte_graph's own count over the sampled window, which covers only part of the traffic
  assert.ok(sp.packets > 0 && sp.packets <= r.sink * 1.01, `packets ${sp.packets} (${sp.packets_source}) vs sink ${r.sink}`);
  const v = sampledVerdict(sp);
  console.log(`sampled verdict: weakest ${v.weakest?.name} ${v.weakest?.ns_per_packet.toFixed(0)} ns/pkt\n${verdictDetails(v).join('\n')}`);
  // the rx nodes are the graph's source nodes (read from its source list): their samples are mostly empty polls
  const rx = sp.stages.find((s) => /^graph:ethdev_rx-/.test(s.symbol))!;
  assert.equal(rx.poll, true, 'the rx node is a poll stage');
  assert.equal(rx.poll_by, 'graph-source');
  assert.match(r.stderr, /graph:ethdev_rx-[01]-[01] is .*a poll function \(rte_graph source node\)/);
  for (const s of sp.stages.filter((x) => x !== rx)) assert.notEqual(s.poll, true, `${s.name} is not a source node`);
  // rte_graph's own counters over the window: the rx function (all four queues) is called many times per packet
  assert.ok(rx.graph_calls !== undefined && rx.graph_objs !== undefined && rx.calls_per_packet !== null && rx.calls_per_packet !== undefined, 'rx has rte_graph counters');
  assert.ok(rx.calls_per_packet > 2, `rx: ${rx.calls_per_packet} calls per packet`);
  // read beside the tx counter, at the same two instants: what came in is what went out
  const txObjs = r.session.sampled!.counter_packets;
  assert.ok(Math.abs(rx.graph_objs - txObjs) <= 0.05 * txObjs + 50, `rx objects ${rx.graph_objs} vs tx ${txObjs} over the counter window`);
  assert.notEqual(v.weakest?.name, rx.name, `the sampled verdict named the rx poll the weakest link\n${formatSampledReport(sp)}`);
  assert.ok(v.weakest !== null, `a weakest link among the other nodes: ${v.reason}`);
  assert.deepEqual(v.idle_inclusive.map((i) => i.name), [rx.name]);
  assert.match(verdictDetails(v).join('\n'), /including idle polling; an rte_graph source node.*exact mode/);
  assert.match(formatSampledReport(sp), /poll: idle included/);
  for (const s of sp.stages) {
    assert.ok(s.ci_low_ns <= s.ns_per_packet && s.ns_per_packet <= s.ci_high_ns, `${s.name}: ${s.ns_per_packet} outside its interval`);
    assert.equal(s.too_few_samples, s.samples < 10, `${s.name}: ${s.samples} samples`);
  }
  // the tx-side nodes of tens of ns at tens of kpps are a handful of samples: the report says so
  assert.ok(sp.stages.some((s) => s.too_few_samples), 'some node had too few samples to read');
  assert.match(formatSampledReport(sp), /too few samples/);
});
