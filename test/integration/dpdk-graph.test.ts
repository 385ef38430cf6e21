// l3fwd-graph as Debian ships it (built with its own Makefile: -O3, no -g, shared stripped DPDK
// libraries), fed by the pcap PMD replaying IPv4/UDP frames in a loop into net_null. pktpath finds
// its stages from the live process (no offsets typed) and its numbers are held against rte_graph's
// own per-node counters read from the same process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildExample, dpdkQuery, startApp, writeUdpPcap, type DpdkApp } from './dpdk-lab.ts';
import { ROOT, TRACER, buildTracer } from './tracer-util.ts';
import { parseDpdkQuery, tscHz, type DpdkQuery } from '../../src/tracer/dpdk-query.ts';
import { sampledReport } from '../../src/core/sampled.ts';
import { sampledVerdict, verdictDetails, verdictHeadline } from '../../src/core/verdict.ts';
import type { Session } from '../../src/core/session.ts';

const run = promisify(execFile);
let app: DpdkApp;
let dir: string;
let nodes: string[];

before(async () => {
  buildTracer();
  const exe = buildExample('l3fwd-graph');
  dir = mkdtempSync(join(tmpdir(), 'pktpath-dpdk-graph-'));
  const pcap = join(dir, 'udp.pcap');
  writeUdpPcap(pcap, 1);
  app = await startApp(exe, [
    '-l', '0,1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', `pktpath-dpdk-${process.pid}`,
    '--vdev', `net_pcap0,rx_pcap=${pcap},tx_pcap=/dev/null,tx_pcap=/dev/null,infinite_rx=1`, '--vdev', 'net_null1',
    '--', '-p', '0x3', '-P', '--config=(0,0,1)',
  ], /\|ip4_lookup\s+\|[1-9]/);
  // the main lcore busy-waits printing stats: leave the CPU to the worker lcore
  execFileSync('renice', ['-n', '19', '-p', String(app.pid)], { stdio: 'ignore' });
  nodes = dpdkQuery(app.pid).nodes.map((n) => n.addr);
});

after(async () => {
  await app?.stop();
});

async function graphNow(): Promise<DpdkQuery> {
  const r = await run(TRACER, ['--dpdk-query', '--pid', String(app.pid), '--nodes', nodes.join(',')]);
  return parseDpdkQuery(r.stdout);
}

interface Recorded { session: Session; stderr: string; readyMonoNs: bigint | null; polls: DpdkQuery[] }

/** `pktpath record` as a user runs it, with rte_graph's counters polled alongside. */
async function record(args: string[]): Promise<Recorded> {
  const out = join(dir, `s-${Date.now()}.json`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(app.pid), '--tracer', TRACER, '-q', ...args, '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let stderr = '';
  let readyMonoNs: bigint | null = null;
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (readyMonoNs === null && /^ready: /m.test(stderr)) readyMonoNs = process.hrtime.bigint();
  });
  const exit = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  const polls: DpdkQuery[] = [];
  let done = false;
  void exit.then(() => (done = true));
  const poller = (async () => {
    while (!done) {
      polls.push(await graphNow());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const code = await exit;
  await poller;
  assert.equal(code, 0, stderr);
  return { session: JSON.parse(readFileSync(out, 'utf8')) as Session, stderr, readyMonoNs, polls };
}

/** rte_graph's objects of a node at a CLOCK_MONOTONIC instant, interpolated between polls. */
function objsAt(polls: DpdkQuery[], node: string, monoNs: number): number {
  const v = (q: DpdkQuery) => q.nodes.filter((n) => n.name === node).reduce((s, n) => s + n.objs, 0);
  for (let i = 1; i < polls.length; i++) {
    const a = polls[i - 1]!;
    const b = polls[i]!;
    if (a.mono_ns <= monoNs && monoNs <= b.mono_ns) return v(a) + ((v(b) - v(a)) * (monoNs - a.mono_ns)) / (b.mono_ns - a.mono_ns);
  }
  throw new Error(`no rte_graph polls around ${monoNs}`);
}

test('--auto-stages --mode sampled: one stage per node function, named, against rte_graph\'s own cycles per object', async () => {
  const r = await record(['--auto-stages', '--mode', 'sampled', '--packets-from', 'graph:pkt_cls', '--duration', '10', '--sample-hz', '999']);
  assert.match(r.stderr, /auto-stages: rte_graph: 6 node functions in 1 graph\(s\) \(worker_1\)/);
  const rep = sampledReport(r.session)!;
  assert.ok(rep, 'a sampled report');
  const specs = r.session.sampled!.stages.map((s) => s.symbol).sort();
  assert.deepEqual(specs, ['graph:ethdev_rx-0-0', 'graph:ethdev_tx-1', 'graph:ip4_lookup', 'graph:ip4_rewrite', 'graph:pkt_cls', 'graph:pkt_drop']);
  const a = r.polls[0]!;
  const b = r.polls[r.polls.length - 1]!;
  const hz = tscHz(a, b);
  const rows: string[] = [];
  const busy = ['ethdev_rx-0-0', 'ip4_lookup', 'ethdev_tx-1', 'ip4_rewrite'];
  let graphSum = 0;
  let sampledSum = 0;
  const cmp = new Map<string, { graph: number; sampled: number }>();
  for (const st of rep.stages) {
    const node = st.symbol.slice('graph:'.length);
    const on = (q: DpdkQuery) => q.nodes.filter((n) => n.name === node);
    const dc = on(b).reduce((s, n) => s + n.cycles, 0) - on(a).reduce((s, n) => s + n.cycles, 0);
    const dobj = on(b).reduce((s, n) => s + n.objs, 0) - on(a).reduce((s, n) => s + n.objs, 0);
    const graphNs = dobj > 0 ? (dc / dobj / hz) * 1e9 : 0;
    cmp.set(node, { graph: graphNs, sampled: st.ns_per_packet });
    graphSum += graphNs;
    sampledSum += st.ns_per_packet;
    rows.push(`${node.padEnd(16)} sampled ${st.ns_per_packet.toFixed(1).padStart(7)} ns/pkt (${st.ci_low_ns.toFixed(1)}–${st.ci_high_ns.toFixed(1)}, ${st.samples} samples)   rte_graph ${graphNs.toFixed(1).padStart(7)} ns/obj`);
  }
  const cpu = rep.cpu_s !== undefined ? rep.cpu_s / rep.window_s : null;
  console.log(`l3fwd-graph ${(rep.packets_per_second / 1e6).toFixed(2)} Mpps, TSC ${(hz / 1e9).toFixed(3)} GHz, worker on CPU ${cpu === null ? '?' : `${(cpu * 100).toFixed(0)}%`} of the window\n${rows.join('\n')}\n` +
    `sum: sampled ${sampledSum.toFixed(1)} ns/pkt, rte_graph ${graphSum.toFixed(1)} ns/obj`);
  // rte_graph counts TSC cycles around each node call: wall time, the worker's preemption included
  // (this 2-core machine is shared); samples count CPU time. So the two agree on each node's share
  // of the path; in absolute ns they agree only as far as the worker kept its CPU.
  for (const node of busy) {
    const c = cmp.get(node)!;
    const gs = (c.graph / graphSum) * 100;
    const ss = (c.sampled / sampledSum) * 100;
    assert.ok(Math.abs(gs - ss) <= Math.max(0.15 * gs, 4), `${node}: share ${ss.toFixed(1)}% sampled vs ${gs.toFixed(1)}% rte_graph\n${rows.join('\n')}`);
  }
  assert.equal(cmp.get('pkt_drop')!.sampled, 0);
  // at full rate the rx source node hands over a full burst on almost every call: rte_graph's counters
  // show it, but sampled mode still cannot split its samples, so the verdict leaves it out
  const rx = rep.stages.find((s) => s.symbol === 'graph:ethdev_rx-0-0')!;
  const v = sampledVerdict(rep);
  console.log(`rx: poll ${rx.poll} (${rx.poll_by}), rte_graph ${rx.graph_calls} calls for ${rx.graph_objs} objects ` +
    `(${rx.calls_per_packet} calls per packet); verdict: ${verdictHeadline(v)}\n${verdictDetails(v).join('\n')}`);
  assert.equal(rx.poll_by, 'graph-source');
  assert.ok(rx.calls_per_packet !== null && rx.calls_per_packet !== undefined && rx.calls_per_packet < 0.1, `rx: ${rx.calls_per_packet} calls per packet`);
  assert.deepEqual(v.idle_inclusive.map((i) => i.name), [rx.name]);
  assert.notEqual(v.weakest?.name, rx.name);
});

test('graph:ip4_lookup in exact mode counts rte_graph\'s objects within 5%', async () => {
  const r = await record(['--stage', 'lookup=graph:ip4_lookup', '--duration', '6']);
  assert.match(r.stderr, /stage lookup: graph:ip4_lookup is rte_graph node ip4_lookup \(graph worker_1\): \/usr\/lib\/x86_64-linux-gnu\/librte_node\.so\.23\.0\+0x[0-9a-f]+ \[0x[0-9a-f]+, 0x[0-9a-f]+\) by \.eh_frame/);
  const st = r.session.stages.find((s) => s.name === 'lookup')!;
  assert.equal(st.spec, 'graph:ip4_lookup', 'the session keeps the spec as given');
  const tl = st.timeline;
  assert.ok(tl.length >= 4, `intervals: ${tl.length}`);
  assert.ok(r.readyMonoNs !== null);
  // interior intervals only: the first starts at "ready", which this process sees a little late
  const inner = tl.slice(1);
  const t0 = Number(r.readyMonoNs) + tl[0]!.t_s * 1e9;
  const t1 = Number(r.readyMonoNs) + inner[inner.length - 1]!.t_s * 1e9;
  const probed = inner.reduce((s, p) => s + p.packets, 0);
  const graph = objsAt(r.polls, 'ip4_lookup', t1) - objsAt(r.polls, 'ip4_lookup', t0);
  console.log(`graph:ip4_lookup exact: ${probed} objects by the probe, ${Math.round(graph)} by rte_graph over ${((t1 - t0) / 1e9).toFixed(2)} s (${(probed / ((t1 - t0) / 1e9) / 1e6).toFixed(2)} M/s)`);
  assert.ok(Math.abs(probed - graph) <= 0.05 * graph, `probe ${probed} vs rte_graph ${graph}`);
});
