// l3fwd (LPM) as Debian ships it, with the one edit af_packet needs (Rx checksum offload off),
// between two network namespaces over af_packet. `ethdev:rx:0` / `ethdev:tx:1` are found in the
// running process (rte_eth_fp_ops) and count what the sink received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendUdp } from './dpdk-lab.ts';
import { startL3fwdLab, type L3fwdLab } from '../helpers/l3fwd.ts';
import { ROOT, TRACER, buildTracer } from './tracer-util.ts';
import type { Session } from '../../src/core/session.ts';
import { LocalTransport } from '../../src/remote/local.ts';
import { queryDpdk } from '../../src/tracer/dpdk-query.ts';
import { dpdkPicks } from '../../src/tracer/dpdk-picks.ts';
import { addPathPicks } from '../../src/tracer/path-stages.ts';
import { resolveDpdkStages, splitStages } from '../../src/tracer/dpdk-resolve.ts';
import { recordSession } from '../../src/tracer/record-session.ts';

const NAME = `dpdkl${process.pid % 10000}`;
let l3: L3fwdLab | undefined;
let tmp = '';

before(async () => {
  buildTracer();
  l3 = await startL3fwdLab(NAME);
});

after(async () => {
  await l3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('ethdev:rx:0 and ethdev:tx:1 count what the sink received', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-'));
  const out = join(tmp, 's.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(l3!.app.pid), '--tracer', TRACER,
    '--stage', 'rx=ethdev:rx:0', '--stage', 'tx=ethdev:tx:1', '--duration', '8', '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let err = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/^ready: /m.test(err)) resolve();
    });
    child.once('close', (c) => reject(new Error(`record exited ${c}\n${err}`)));
  });
  const exit = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  await ready;
  const before0 = l3!.lab.sinkRx();
  const n = 20000;
  // 20 kpps for 1 s from the generator namespace: af_packet carries that without loss here
  execFileSync('ip', ['netns', 'exec', l3!.lab.gen, 'python3', '-c', [
    'import socket, time',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    `n = ${n}; t0 = time.monotonic()`,
    'for i in range(n):',
    '    s.sendto(b"x" * 18, ("198.18.1.2", 9000))',
    '    if i % 200 == 199:',
    '        d = t0 + (i + 1) / 20000 - time.monotonic()',
    '        if d > 0: time.sleep(d)',
  ].join('\n')]);
  // the sink may lag on this busy machine: wait until its count stops moving
  let last = -1;
  for (let i = 0; i < 30 && l3!.lab.sinkRx() !== last; i++) {
    last = l3!.lab.sinkRx();
    await new Promise((r) => setTimeout(r, 300));
  }
  const sink = l3!.lab.sinkRx() - before0;
  assert.equal(await exit, 0, err);
  const s = JSON.parse(readFileSync(out, 'utf8')) as Session;
  const rx = s.stages.find((x) => x.name === 'rx')!;
  const tx = s.stages.find((x) => x.name === 'tx')!;
  console.log(`l3fwd: sent ${n}, sink ${sink}, ethdev:rx:0 ${rx.packets} packets in ${rx.calls} calls, ethdev:tx:1 ${tx.packets} in ${tx.calls} calls`);
  assert.match(err, /stage rx: ethdev:rx:0 is ethdev port 0 rx_pkt_burst: \/usr\/lib\/x86_64-linux-gnu\/dpdk\/pmds-23\.0\/librte_net_af_packet\.so\.23\.0\+0x/);
  assert.equal(rx.spec, 'ethdev:rx:0');
  // Each rx poll pays the uprobe (millions of empty polls a second): the poller slows and the
  // af_packet ring may drop some of the burst before l3fwd sees it. The counts must still equal
  // what went through; the lab only has to carry most of it.
  assert.ok(sink > 0.5 * n, `sink got ${sink} of ${n}`);
  assert.equal(rx.packets, sink);
  assert.equal(tx.packets, sink);
});

/** Runs `pktpath record ARGS` on l3fwd; resolves with its exit code, stderr and the session. */
async function record(args: string[]): Promise<{ code: number | null; err: string; session: Session | null }> {
  tmp ||= mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-'));
  const out = join(tmp, `auto-${args.join('').length}-${Date.now()}.json`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(l3!.app.pid), '--tracer', TRACER, ...args, '-o', out],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  let session: Session | null = null;
  try {
    session = JSON.parse(readFileSync(out, 'utf8')) as Session;
  } catch { /* asserted by the caller */ }
  return { code, err, session };
}

/** The stages --auto-stages added from its sample: `NAME=uprobe:...` lines under `auto-stages: path:`. */
function pathStages(err: string): Array<{ name: string; spec: string }> {
  return [...err.matchAll(/^auto-stages: {3}([A-Za-z0-9_.-]+)=(uprobe:\S+): /gm)].map((m) => ({ name: m[1]!, spec: m[2]! }));
}

test('--auto-stages under traffic adds the functions a 1 s sample shows between ethdev rx and tx', async () => {
  const stop = new AbortController();
  const sending = sendUdp(l3!.lab, 20000, 60, 8, stop.signal).catch(() => 0);
  try {
    const r = await record(['--auto-stages', '--duration', '4']);
    console.log(r.err.split('\n').filter((l) => /^(auto-stages|stage )/.test(l)).join('\n'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^auto-stages: no rte_graph: ethdev burst functions of 2 started port\(s\)/m);
    // the poll loop (everything of the LPM path inlined into it at -O3) is found by calling the burst functions, and is no stage
    assert.match(r.err, /^auto-stages: path: .*a 1 s sample at 999 Hz of the polling thread \(\d+ of \d+ samples under [^;]*; loop: [^)]*lpm_main_loop/m);
    const added = pathStages(r.err);
    // under traffic the sample sees the rx callback (--parse-ptype) and the tx wrapper, never inlined
    assert.ok(added.some((a) => /^(lpm_cb_parse_ptype|send_burst)$/.test(a.name)), `path stages: ${added.map((a) => a.name).join(', ')}`);
    const s = r.session!;
    for (const a of added) {
      const st = s.stages.find((x) => x.name === a.name);
      assert.ok(st, `stage ${a.name} is in the session`);
      assert.equal(st.spec, a.spec);
      assert.ok(st.calls > 0, `stage ${a.name} (${a.spec}) counted ${st.calls} calls`);
    }
    console.log(`l3fwd --auto-stages path stages: ${added.map((a) => `${a.name} ${s.stages.find((x) => x.name === a.name)!.calls} calls`).join(', ') || 'none'}`);
    for (const n of ['rx0', 'tx0']) assert.ok((s.stages.find((x) => x.name === n)?.packets ?? 0) > 0, `${n} counted packets`);
  } finally {
    stop.abort();
    await sending;
  }
});

test('--auto-stages --mode sampled under traffic: the path functions are stages by their ranges, with samples', async () => {
  const stop = new AbortController();
  const sending = sendUdp(l3!.lab, 20000, 60, 8, stop.signal).catch(() => 0);
  try {
    const r = await record(['--auto-stages', '--mode', 'sampled', '--packets-from', `dpdk:${l3!.app.telemetry}:1:tx`, '--duration', '6']);
    console.log(r.err.split('\n').filter((l) => /^auto-stages: (path| {2}[A-Za-z0-9_.-]+=uprobe)/.test(l)).join('\n'));
    assert.equal(r.code, 0, r.err);
    const added = pathStages(r.err);
    assert.ok(added.length > 0, r.err);
    const st = r.session!.sampled!.stages;
    for (const a of added) assert.ok(st.find((y) => y.name === a.name), `stage ${a.name} is in the sampled session`);
    // send_burst holds the tx burst stage: its samples under tx count there (samples: nearest stage
    // from the leaf). A function the 1 s pre-sample saw once may get none in 6 s on a busy machine;
    // the ones it saw most do.
    const sampled = added.filter((a) => (st.find((y) => y.name === a.name)?.inclusive_samples ?? 0) > 0);
    assert.ok(sampled.length > 0, `no added stage has samples: ${st.map((x) => `${x.name} ${x.inclusive_samples}`).join(', ')}`);
    console.log(`l3fwd --auto-stages --mode sampled: ${st.map((x) => `${x.name} ${x.samples} samples (${x.inclusive_samples} inclusive)`).join(', ')} of ${r.session!.sampled!.samples}`);
  } finally {
    stop.abort();
    await sending;
  }
});

test('--auto-stages with no traffic says what the idle poll loop\'s sample shows, and keeps the ethdev stages', async () => {
  const r = await record(['--auto-stages', '--duration', '2']);
  const path = r.err.split('\n').filter((l) => /^auto-stages: (path| {2}[A-Za-z0-9_.-]+=uprobe)/.test(l));
  console.log(`idle l3fwd:\n${path.join('\n')}`);
  assert.equal(r.code, 0, r.err);
  assert.match(path[0] ?? '', /^auto-stages: path: .*a 1 s sample at 999 Hz/);
  const names = r.session!.stages.map((s) => s.name);
  for (const n of ['rx0', 'tx0', ...pathStages(r.err).map((a) => a.name)]) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
});

test('Attach without the UI: after the ethdev picks, the path functions --auto-stages adds, pre-selected; they record calls', async () => {
  const stop = new AbortController();
  const sending = sendUdp(l3!.lab, 20000, 60, 8, stop.signal).catch(() => 0);
  const t = new LocalTransport();
  try {
    const q = await queryDpdk(t, TRACER, l3!.app.pid);
    const d = dpdkPicks(q);
    assert.equal(d.none, null);
    const ethdev = d.picks.length;
    const said: string[] = [];
    await addPathPicks(t, l3!.app.pid, TRACER, q, d, (l) => said.push(l));
    console.log(said.join('\n'));
    const path = d.picks.slice(ethdev);
    assert.ok(path.some((p) => p.picked && /^(lpm_cb_parse_ptype|send_burst)=uprobe:/.test(p.stage)), `path picks: ${path.map((p) => p.stage).join(', ')}\n${said.join('\n')}`);
    // what the picker returns, recorded in exact mode as Attach records it
    const split = splitStages(d.picks.filter((p) => p.picked).map((p) => p.stage));
    const r = resolveDpdkStages(q, split.dpdk, false, 'exact', new Set(split.plain.map((s) => s.slice(0, s.indexOf('=')))), () => undefined);
    const s = await recordSession(t, { pid: l3!.app.pid, stages: [...split.plain, ...r.exact], durationS: 3, intervalMs: 500, tracer: TRACER });
    assert.equal(s.partial, false, s.partial_reason ?? '');
    const counted = path.filter((p) => p.picked).map((p) => [p.name, s.stages.find((x) => x.name === p.name)?.calls ?? -1] as const);
    console.log(`Attach path stages: ${counted.map(([n, c]) => `${n} ${c} calls`).join(', ')}`);
    // the function the pre-sample saw most ran in the recording too
    assert.ok(counted.length > 0 && counted[0]![1] > 0, counted.join('; '));
  } finally {
    stop.abort();
    await sending;
    await t.close();
  }
});
