// The editor's Attach on l3fwd-graph as Debian ships it, without the UI: discovery marks the process
// DPDK, the query's stages become pre-selected picks (one per node function, named as --auto-stages
// names them), the picks resolve to uprobes as `pktpath record` resolves them, a short exact
// recording counts on them, and the session shows graph:NODE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExample, startApp, writeUdpPcap, type DpdkApp } from './dpdk-lab.ts';
import { TRACER, buildTracer } from './tracer-util.ts';
import { LocalTransport } from '../../src/remote/local.ts';
import { discover } from '../../src/remote/discovery.ts';
import { queryDpdk } from '../../src/tracer/dpdk-query.ts';
import { defaultPacketsFrom, dpdkPicks } from '../../src/tracer/dpdk-picks.ts';
import { autoStages } from '../../src/tracer/dpdk-stages.ts';
import { resolveDpdkStages, restoreSpecs, splitStages } from '../../src/tracer/dpdk-resolve.ts';
import { recordSession } from '../../src/tracer/record-session.ts';
import { recordSampled } from '../../src/tracer/sampled.ts';
import { parseCounterSource } from '../../src/tracer/counters.ts';
import { sampledReport } from '../../src/core/sampled.ts';
import { sampledVerdict } from '../../src/core/verdict.ts';

let app: DpdkApp;
const t = new LocalTransport();

before(async () => {
  buildTracer();
  const exe = buildExample('l3fwd-graph');
  const pcap = join(mkdtempSync(join(tmpdir(), 'pktpath-attach-auto-')), 'udp.pcap');
  writeUdpPcap(pcap, 1);
  app = await startApp(exe, [
    '-l', '0,1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', `pktpath-attach-${process.pid}`,
    '--vdev', `net_pcap0,rx_pcap=${pcap},tx_pcap=/dev/null,tx_pcap=/dev/null,infinite_rx=1`, '--vdev', 'net_null1',
    '--', '-p', '0x3', '-P', '--config=(0,0,1)',
  ], /\|ip4_lookup\s+\|[1-9]/);
  execFileSync('renice', ['-n', '19', '-p', String(app.pid)], { stdio: 'ignore' });
});

after(async () => {
  await app?.stop();
  await t.close();
});

test('Attach on a graph process pre-selects its nodes and records them as graph:NODE', async () => {
  const c = (await discover(t)).find((x) => x.pid === app.pid);
  assert.ok(c?.dpdk, 'discovery marks l3fwd-graph as DPDK');
  const q = await queryDpdk(t, TRACER, app.pid);
  const d = dpdkPicks(q);
  assert.equal(d.none, null);
  assert.ok(d.picks.every((p) => p.picked), d.picks.map((p) => `${p.stage}: ${p.found}`).join('\n'));
  assert.deepEqual(d.picks.map((p) => p.stage), autoStages(q, true).stages.map((s) => `${s.name}=${s.spec}`));
  assert.ok(d.picks.some((p) => p.spec === 'graph:ip4_lookup'));

  const split = splitStages(d.picks.map((p) => p.stage));
  const r = resolveDpdkStages(q, split.dpdk, false, 'exact', new Set(), () => undefined);
  const recorded = await recordSession(t, { pid: app.pid, stages: r.exact, durationS: 2, intervalMs: 500, tracer: TRACER });
  assert.equal(recorded.partial, false, recorded.partial_reason ?? '');
  const s = restoreSpecs(recorded, r.original);
  assert.deepEqual(s.stages.map((st) => st.spec).sort(), d.picks.map((p) => p.spec).sort());
  const lookup = s.stages.find((st) => st.spec === 'graph:ip4_lookup')!;
  assert.ok(lookup.calls > 0 && lookup.packets > 0, `ip4_lookup: ${lookup.calls} calls, ${lookup.packets} packets`);
});

test('Attach in sampled mode: the nodes by address range, packets on the busiest node, every node sampled', async () => {
  const c = (await discover(t)).find((x) => x.pid === app.pid);
  const q = await queryDpdk(t, TRACER, app.pid);
  const packetsFrom = defaultPacketsFrom(q, c?.dpdk?.filePrefix ?? null);
  assert.ok(packetsFrom?.startsWith('graph:'), `a graph process counts on a node: ${packetsFrom}`);
  const split = splitStages(dpdkPicks(q).picks.map((p) => p.stage));
  const r = resolveDpdkStages(q, split.dpdk, false, 'sampled', new Set(), () => undefined);
  // one stage per node function: a sample cannot tell apart the nodes sharing one (the tx nodes)
  assert.equal(r.sampled.length, autoStages(q).stages.length);
  assert.ok(split.dpdk.length > r.sampled.length, `${split.dpdk.length} picks, ${r.sampled.length} sampled stages`);
  // what the editor's sampled recording does with Attach's request (src/vscode/sampled-recording.ts)
  const src = parseCounterSource(packetsFrom!);
  assert.equal(src.kind, 'graph');
  const s = await recordSampled(t, {
    tracer: TRACER, root: true, pid: app.pid, stages: r.sampled, packets: { ...src, pid: app.pid, tracer: TRACER } as typeof src,
    durationS: 3, sampleHz: 999, intervalMs: 500,
  });
  const rep = sampledReport(s);
  assert.ok(rep && rep.packets > 0, `packets counted on ${packetsFrom}: ${rep?.packets}`);
  const byName = new Map(rep.stages.map((x) => [x.name, x]));
  const lookup = [...byName.values()].find((x) => x.symbol === 'graph:ip4_lookup' || x.name === 'ip4_lookup');
  assert.ok(lookup && lookup.samples > 0, `ip4_lookup sampled: ${rep.stages.map((x) => `${x.name} ${x.samples}`).join(', ')}`);
  const v = sampledVerdict(rep);
  console.log(`sampled Attach: ${rep.samples} samples, ${rep.packets} packets on ${packetsFrom}; ${rep.stages.map((x) => `${x.name} ${x.ns_per_packet.toFixed(1)} ns/pkt (${x.samples})`).join(', ')}; weakest ${v.weakest?.name}`);
  assert.ok(v.weakest, v.reason ?? '');
});
