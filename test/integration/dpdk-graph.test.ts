// l3fwd-graph as Debian ships it (built with its own Makefile: -O3, no -g, shared stripped DPDK
// libraries), fed by the pcap PMD replaying IPv4/UDP frames in a loop into net_null. pktpath finds
// its stages from the live process (no offsets typed) and its numbers are held against rte_graph's
// own per-node counters read from the same process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
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
let worker: number;

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
  const tids = readdirSync(`/proc/${app.pid}/task`).map(Number);
  worker = tids.find((t) => readFileSync(`/proc/${app.pid}/task/${t}/comm`, 'utf8').trim() === 'rte-worker-1')!;
  assert.ok(worker, `no rte-worker-1 thread among ${tids.join(', ')}`);
});

after(async () => {
  await app?.stop();
});

async function graphNow(): Promise<DpdkQuery> {
  const r = await run(TRACER, ['--dpdk-query', '--pid', String(app.pid), '--nodes', nodes.join(',')]);
  return parseDpdkQuery(r.stdout);
}

/** The worker thread's time on its CPU (schedstat) at a CLOCK_MONOTONIC instant (process.hrtime's clock). */
interface RunAt { mono_ns: number; run_ns: number }

function workerRun(): RunAt {
  return { run_ns: Number(readFileSync(`/proc/${app.pid}/task/${worker}/schedstat`, 'utf8').split(' ')[0]), mono_ns: Number(process.hrtime.bigint()) };
}

/** The share of [t0, t1] the worker spent on its CPU, interpolated between reads. */
function onCpuShare(runs: RunAt[], t0: number, t1: number): number {
  const at = (t: number): number => {
    for (let i = 1; i < runs.length; i++) {
      const a = runs[i - 1]!;
      const b = runs[i]!;
      if (a.mono_ns <= t && t <= b.mono_ns) return a.run_ns + ((b.run_ns - a.run_ns) * (t - a.mono_ns)) / (b.mono_ns - a.mono_ns);
    }
    throw new Error(`no schedstat reads around ${t}`);
  };
  return (at(t1) - at(t0)) / (t1 - t0);
}

interface Recorded {
  session: Session; stderr: string; readyMonoNs: bigint | null; polls: DpdkQuery[];
  /** When each sampled interval closed (its counters were read then), CLOCK_MONOTONIC ns. */
  ticks: number[];
  /** The worker's schedstat, read every 50 ms (a file read in this process, no new process). */
  runs: RunAt[];
}

/** `pktpath record` as a user runs it, with rte_graph's counters polled alongside every `pollMs` (each poll is a
 * process on this 2-core machine, so only as often as the test needs). */
async function record(args: string[], pollMs: number): Promise<Recorded> {
  const out = join(dir, `s-${Date.now()}.json`);
  // the tools run off the forwarder's core (lcore 1), as on a DPDK host with its cores set apart
  const child = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(app.pid), '--tracer', TRACER, '-q', ...args, '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let stderr = '';
  let readyMonoNs: bigint | null = null;
  const ticks: number[] = [];
  const runs: RunAt[] = [workerRun()];
  const runTimer = setInterval(() => runs.push(workerRun()), 50);
  child.stderr!.on('data', (b: Buffer) => {
    const now = process.hrtime.bigint();
    stderr += b.toString();
    if (readyMonoNs === null && /^ready: /m.test(stderr)) readyMonoNs = now;
    // whole lines only: a chunk may end inside one
    const closed = stderr.match(/^ {2}interval \d+: .*\n/gm)?.length ?? 0;
    while (ticks.length < closed) ticks.push(Number(now));
  });
  const exit = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  const polls: DpdkQuery[] = [];
  let done = false;
  let wake = (): void => {};
  void exit.then(() => {
    done = true;
    wake();
  });
  const poller = (async () => {
    while (!done) {
      polls.push(await graphNow());
      await new Promise<void>((r) => {
        const t = setTimeout(r, pollMs);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    polls.push(await graphNow());
  })();
  const code = await exit;
  await poller;
  clearInterval(runTimer);
  runs.push(workerRun());
  assert.equal(code, 0, stderr);
  return { session: JSON.parse(readFileSync(out, 'utf8')) as Session, stderr, readyMonoNs, polls, ticks, runs };
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

const BUSY = ['ethdev_rx-0-0', 'ip4_lookup', 'ethdev_tx-1', 'ip4_rewrite', 'pkt_cls'];

interface Compared { rec: Recorded; rows: string; graph: Map<string, number>; sampled: Map<string, number>; misses: string[] }

/** One sampled recording of every node, each node's ns per packet beside rte_graph's cycles per object over the
 * same window (the recording's own first and last counter reads). */
async function sampledAgainstGraph(): Promise<Compared> {
  // polled only at the ends: the TSC rate and the worker's own CPU time come from them
  const rec = await record(['--auto-stages', '--mode', 'sampled', '--packets-from', 'graph:pkt_cls', '--duration', '10', '--sample-hz', '999'], 60_000);
  const rep = sampledReport(rec.session)!;
  assert.ok(rep, 'a sampled report');
  const a = rec.polls[0]!;
  const b = rec.polls[rec.polls.length - 1]!;
  const hz = tscHz(a, b);
  // the counter window runs from the first interval's close to the last's
  assert.ok(rec.ticks.length >= 3, `interval lines: ${rec.ticks.length}`);
  const onCpu = onCpuShare(rec.runs, rec.ticks[0]!, rec.ticks[rec.ticks.length - 1]!);
  const graph = new Map<string, number>();
  const sampled = new Map<string, number>();
  const lines: string[] = [];
  const misses: string[] = [];
  for (const st of rep.stages) {
    const node = st.symbol.slice('graph:'.length);
    const gc = rec.session.sampled!.stages.find((s) => s.symbol === st.symbol)!.graph_counters;
    assert.ok(gc, `${st.symbol}: rte_graph's counters over the window are in the session`);
    const graphNs = gc.objs > 0 ? (gc.cycles / gc.objs / hz) * 1e9 : 0;
    // rte_graph's cycles are wall time: time the worker was off its CPU lands in the node it interrupted, in
    // proportion to the node's time. Its CPU time per object is that share of them.
    const cpuNs = graphNs * onCpu;
    graph.set(node, graphNs);
    sampled.set(node, st.ns_per_packet);
    const bound = Math.max(0.15 * cpuNs, 2);
    const ok = Math.abs(st.ns_per_packet - cpuNs) <= bound;
    if (BUSY.includes(node) && !ok) misses.push(node);
    const pct = (x: number, of: number) => `${(((x - of) / (of || 1)) * 100).toFixed(1).padStart(6)}%`;
    lines.push(`${node.padEnd(16)} sampled ${st.ns_per_packet.toFixed(1).padStart(7)} ns/pkt (${st.ci_low_ns.toFixed(1)}–${st.ci_high_ns.toFixed(1)}, ${st.samples} samples)   ` +
      `rte_graph ${graphNs.toFixed(1).padStart(7)} ns/obj ${pct(st.ns_per_packet, graphNs)}, its CPU part ${cpuNs.toFixed(1).padStart(7)} ${pct(st.ns_per_packet, cpuNs)}` +
      `${ok ? '' : '  outside ±' + bound.toFixed(1) + ' ns'}`);
  }
  const rows = `l3fwd-graph ${(rep.packets_per_second / 1e6).toFixed(2)} Mpps, TSC ${(hz / 1e9).toFixed(3)} GHz, ` +
    `worker thread on its CPU ${(onCpu * 100).toFixed(1)}% of the counter window, sampler ${((rep.sampler_share ?? 0) * 100).toFixed(1)}%\n${lines.join('\n')}`;
  return { rec, rows, graph, sampled, misses };
}

test('--auto-stages --mode sampled: one stage per node function, named, each within max(15%, 2 ns) of rte_graph\'s own cycles per object', async () => {
  // rte_graph counts TSC cycles around each node call: wall time, so the worker's preemption by anything else on
  // this 2-core machine lands in whichever node it interrupts; samples count CPU time. Each node is held to the
  // CPU part of rte_graph's number (the worker's measured share of the window: 1 when it kept its core). A
  // recording that misses is repeated (bounded), not failed.
  let c: Compared | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    c = await sampledAgainstGraph();
    console.log(`attempt ${attempt}: ${c.rows}`);
    if (c.misses.length === 0) break;
  }
  const { rec, rows, graph, sampled, misses } = c!;
  assert.match(rec.stderr, /auto-stages: rte_graph: 6 node functions in 1 graph\(s\) \(worker_1\)/);
  const specs = rec.session.sampled!.stages.map((s) => s.symbol).sort();
  assert.deepEqual(specs, ['graph:ethdev_rx-0-0', 'graph:ethdev_tx-1', 'graph:ip4_lookup', 'graph:ip4_rewrite', 'graph:pkt_cls', 'graph:pkt_drop']);
  assert.deepEqual(misses, [], `each node's ns per packet within max(15%, 2 ns) of rte_graph's\n${rows}`);
  // and so each node's share of the path
  const graphSum = BUSY.reduce((s, n) => s + graph.get(n)!, 0);
  const sampledSum = BUSY.reduce((s, n) => s + sampled.get(n)!, 0);
  for (const node of BUSY) {
    const gs = (graph.get(node)! / graphSum) * 100;
    const ss = (sampled.get(node)! / sampledSum) * 100;
    assert.ok(Math.abs(gs - ss) <= Math.max(0.15 * gs, 4), `${node}: share ${ss.toFixed(1)}% sampled vs ${gs.toFixed(1)}% rte_graph\n${rows}`);
  }
  assert.equal(sampled.get('pkt_drop'), 0);
  // at full rate the rx source node hands over a full burst on almost every call: rte_graph's counters
  // show it, but sampled mode still cannot split its samples, so the verdict leaves it out
  const rep = sampledReport(rec.session)!;
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
  const r = await record(['--stage', 'lookup=graph:ip4_lookup', '--duration', '6'], 250);
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
