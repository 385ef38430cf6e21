// `pktpath record` on the demo DPDK forwarder under 20 kpps: every stage counted, and the tx
// stage's packets match what the sink received.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoLab, type DemoLab } from '../helpers/lab.ts';
import { startRecord, stopRecord, type RecordRun } from './record-helpers.ts';
import { loadSession } from '../../src/core/session-io.ts';
import { buildReport } from '../../src/core/report.ts';

const STAGES = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'];
const dir = mkdtempSync(join(tmpdir(), 'pktpath-rec-'));
let lab: DemoLab | undefined;
let rec: RecordRun | undefined;

before(async () => {
  lab = await startDemoLab();
});

after(async () => {
  if (rec && rec.child.exitCode === null) rec.child.kill('SIGKILL');
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('record the demo forwarder: calls on every stage, tx packets = sink packets ±1%', { timeout: 180_000 }, async () => {
  assert.ok(lab);
  const out = join(dir, 'demo.pktpath.json');
  const args = ['--pid', String(lab.fwdPid), '--sample-hz', '99', '-o', out];
  for (const s of STAGES) args.push('--stage', `${s}=uprobe:${lab.runningBinary}:${s}:packets=ret`);
  rec = startRecord(args);
  await rec.ready;
  // traffic() returns once the sink has the packets and the forwarder has answered a counters
  // request, so every fwd_tx call has returned; stopping drains the last interval
  const traffic = await lab.traffic({ pps: 20000, seconds: 4 });
  const code = await stopRecord(rec);
  assert.equal(code, 0, rec.stderr());
  assert.ok(traffic.received > 0.99 * traffic.sent, `lab lost packets: sent ${traffic.sent}, received ${traffic.received}`);

  const s = await loadSession(out);
  assert.equal(s.partial, false, s.partial_reason ?? '');
  assert.deepEqual(s.stages.map((x) => x.name), STAGES);
  const r = buildReport(s);
  for (const st of r.stages) {
    assert.ok(st.attached, `${st.name} attached: ${st.attach_error}`);
    assert.ok(st.calls > 0, `${st.name}: calls > 0`);
    assert.ok(st.p50_ns !== null && st.raw_mean_ns !== null && st.raw_mean_ns > 0, `${st.name}: latencies`);
  }
  const tx = r.stages.find((x) => x.name === 'fwd_tx')!;
  const rel = Math.abs(tx.packets - traffic.received) / traffic.received;
  assert.ok(rel <= 0.01, `fwd_tx packets ${tx.packets} vs sink ${traffic.received} (${(rel * 100).toFixed(2)}%)`);
  assert.ok(r.duration_s > 4, `duration ${r.duration_s}`);
  // Progress went to stderr while recording.
  assert.match(rec.stderr(), /kpps \(fwd_\w+\)\s+slowest /);
  console.log(JSON.stringify({ sent: traffic.sent, received: traffic.received, stages: r.stages.map((x) => ({ name: x.name, calls: x.calls, packets: x.packets, ns_per_packet: x.ns_per_packet, raw_ns_per_packet: x.raw_ns_per_packet, p50: x.p50_ns, overhead: x.probe_overhead_ns })) }));
});

test('the tracer killed mid-recording: the session is saved, partial, with what arrived', { timeout: 120_000 }, async () => {
  assert.ok(lab);
  const out = join(dir, 'killed.pktpath.json.gz');
  rec = startRecord(['--pid', String(lab.fwdPid), '--stage', `fwd_tx=uprobe:${lab.runningBinary}:fwd_tx:packets=ret`, '-o', out]);
  await rec.ready;
  const traffic = lab.traffic({ pps: 20000, seconds: 3 });
  await rec.intervalsWithPackets(1);
  const tracerPid = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(rec.child.pid)], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
  assert.ok(tracerPid > 0, 'found the tracer process');
  process.kill(tracerPid, 'SIGKILL');
  const code = await rec.exit;
  await traffic;
  assert.equal(code, 3, 'a cut recording exits 3 (ended early)');
  assert.match(rec.stderr(), /PARTIAL: the tracer was killed by SIGKILL/);
  const s = await loadSession(out);
  assert.equal(s.partial, true);
  assert.match(s.partial_reason ?? '', /killed by SIGKILL/);
  assert.ok(s.stages[0]!.calls > 0 && s.stages[0]!.packets > 0, 'the intervals that arrived are kept');
  assert.ok(s.duration_s >= 1);
});

test('a stripped forwarder probed by address: the same packet counts', { timeout: 180_000 }, async () => {
  const stripped = await startDemoLab({ stripped: true });
  try {
    // Addresses from the unstripped twin (same build), as nm prints them.
    const nm = execFileSync('nm', ['--defined-only', stripped.fwdBinary], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    const addr = (sym: string) => {
      const m = new RegExp(`^([0-9a-f]+) [Tt] ${sym}$`, 'm').exec(nm);
      assert.ok(m, `${sym} in nm output`);
      return `0x${m[1]!.replace(/^0+/, '')}`;
    };
    const out = join(dir, 'stripped.pktpath.json');
    rec = startRecord([
      '--pid', String(stripped.fwdPid), '-q', '-o', out,
      '--stage', `rx=uprobe:${stripped.strippedBinary}:${addr('fwd_rx')}:packets=ret`,
      '--stage', `tx=uprobe:${stripped.strippedBinary}:${addr('fwd_tx')}:packets=ret`,
    ]);
    await rec.ready;
    const traffic = await stripped.traffic({ pps: 20000, seconds: 2 });
    assert.equal(await stopRecord(rec), 0, rec.stderr());
    const s = await loadSession(out);
    const tx = s.stages.find((x) => x.name === 'tx')!;
    assert.equal(tx.attach.symbol, null);
    assert.ok(tx.calls > 0);
    const rel = Math.abs(tx.packets - traffic.received) / traffic.received;
    assert.ok(rel <= 0.01, `tx packets ${tx.packets} vs sink ${traffic.received}`);
  } finally {
    await stripped.stop();
  }
});
