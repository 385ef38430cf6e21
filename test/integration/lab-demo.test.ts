// The demo labs carry real traffic: what the generator sent reaches the sink, and the forwarder's
// (or the router's) own counters agree; nothing of a lab remains after stop().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startDemoLab, startKernelLab, labLeftovers, type DemoLab, type KernelLab } from '../helpers/lab.ts';

const PPS = 20_000;
const SECONDS = 3;

function within1pct(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.01 * Math.max(a, b);
}

const started: (DemoLab | KernelLab)[] = [];
after(async () => {
  for (const lab of started) await lab.stop();
});

test('DPDK demo lab forwards 20 kpps for 3 s without loss, and the forwarder counts the same', async () => {
  const lab = await startDemoLab({ burst: 32 });
  started.push(lab);
  assert.ok(lab.fwdPid > 0);
  const t = await lab.traffic({ pps: PPS, seconds: SECONDS });
  assert.ok(t.sent >= PPS * SECONDS * 0.99, `generator sent only ${t.sent}`);
  assert.ok(t.received > 0, 'sink received nothing');
  assert.ok(within1pct(t.received, t.sent), `sent ${t.sent}, received ${t.received}`);
  const f = t.forwarder;
  assert.ok(f, 'no forwarder counters');
  assert.ok(within1pct(f.rx, t.sent), `forwarder rx ${f.rx} vs sent ${t.sent}`);
  assert.ok(within1pct(f.tx, t.received), `forwarder tx ${f.tx} vs received ${t.received}`);
  assert.equal(f.rx, f.tx + f.drop, 'every received packet is sent or dropped');
  assert.ok(f.bursts > 0 && f.bursts <= f.rx);

  await lab.stop();
  const exit = lab.exitCounters();
  assert.ok(exit, 'forwarder printed no exit counters');
  assert.ok(exit.tx >= f.tx);
  assert.deepEqual(await labLeftovers(lab.name), []);
});

test('the burst option caps the packets per rx burst', async () => {
  const lab = await startDemoLab({ burst: 1 });
  started.push(lab);
  const t = await lab.traffic({ pps: 5_000, seconds: 1 });
  const f = t.forwarder;
  assert.ok(f && f.rx > 0);
  assert.equal(f.bursts, f.rx, 'with --burst 1 every burst holds one packet');
  await lab.stop();
  assert.deepEqual(await labLeftovers(lab.name), []);
});

test('the stripped forwarder runs and forwards too', async () => {
  const lab = await startDemoLab({ stripped: true });
  started.push(lab);
  assert.notEqual(lab.runningBinary, lab.fwdBinary);
  const exe = execFileSync('readlink', [`/proc/${lab.fwdPid}/exe`]).toString().trim();
  assert.equal(exe, lab.strippedBinary);
  const t = await lab.traffic({ pps: 5_000, seconds: 1 });
  assert.ok(t.received > 0 && within1pct(t.received, t.sent), `sent ${t.sent}, received ${t.received}`);
  await lab.stop();
  assert.deepEqual(await labLeftovers(lab.name), []);
});

test('kernel lab forwards 20 kpps for 3 s through the router namespace without loss', async () => {
  const lab = await startKernelLab();
  started.push(lab);
  const t = await lab.traffic({ pps: PPS, seconds: SECONDS });
  assert.ok(t.sent >= PPS * SECONDS * 0.99, `generator sent only ${t.sent}`);
  assert.ok(t.received > 0);
  assert.ok(within1pct(t.received, t.sent), `sent ${t.sent}, received ${t.received}`);
  const r = t.router;
  assert.ok(r, 'no router counters');
  assert.ok(within1pct(r.rx, t.sent), `router rx ${r.rx} vs sent ${t.sent}`);
  assert.ok(within1pct(r.tx, t.received), `router tx ${r.tx} vs received ${t.received}`);
  await lab.stop();
  assert.deepEqual(await labLeftovers(lab.name), []);
});

test('bad traffic options are refused with a clear error', async () => {
  const lab = await startKernelLab();
  started.push(lab);
  await assert.rejects(lab.traffic({ pps: 0, seconds: 1 }), /pps must be an integer 1\.\.200000/);
  await assert.rejects(lab.traffic({ pps: 1000, seconds: 1.5 }), /seconds must be an integer/);
  await lab.stop();
  assert.deepEqual(await labLeftovers(lab.name), []);
});

test('a forwarder that cannot start fails with its own message and leaves nothing behind', async () => {
  const name = `pdbad${process.pid % 100000}`;
  await assert.rejects(startDemoLab({ name, fwdArgs: ['--routes', 'lots'] }), /--routes wants 0\.\.1000000, got 'lots'/);
  assert.deepEqual(await labLeftovers(name), []);
});
