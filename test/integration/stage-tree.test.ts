// The stage tree and poll functions with the real tracer: a busy-polling rx_poll() (nine idle polls
// of ~5 us for each busy one) calls process() (~20 us) on its busy calls (test/targets/poll_tree.c).
// The probes count busy and idle calls and process()'s calls inside rx_poll(); the report makes
// process() rx_poll()'s child, keeps the idle polling apart, and names process() the weakest link.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, buildTracer, recordExact } from '../helpers/measure.ts';

const dir = mkdtempSync(join(tmpdir(), 'pp-stages-tree-'));
let target: ChildProcess | null = null;

after(() => {
  if (target && target.exitCode === null && target.signalCode === null) target.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('stage tree: idle polls apart, the child inside its parent, the busy child the weakest link', async (ctx) => {
  buildTracer();
  const exe = join(dir, 'poll_tree');
  execFileSync('cc', ['-O2', '-fno-omit-frame-pointer', '-fno-shrink-wrap', '-o', exe, join(ROOT, 'test/targets/poll_tree.c')]);
  target = spawn(exe, [], { stdio: 'ignore' });
  const { report: r } = await recordExact(target.pid!, [
    { name: 'rx', spec: `uprobe:${exe}:rx_poll:packets=ret` },
    { name: 'proc', spec: `uprobe:${exe}:process:packets=arg0` },
  ], 3);
  const rx = r.stages.find((s) => s.name === 'rx')!;
  const proc = r.stages.find((s) => s.name === 'proc')!;
  ctx.diagnostic(JSON.stringify({ rx, proc, slowest: r.slowest, total: r.total_ns_per_packet }, (k, v: unknown) =>
    ['name', 'calls', 'packets', 'ns_per_packet', 'self_ns_per_packet', 'busy_calls', 'idle_calls', 'idle_ns', 'busy_ns_per_packet', 'parent', 'poll',
      'below_resolution', 'probe_overhead_ns', 'probe_outer_ns', 'share', 'rx', 'proc', 'slowest', 'total', ''].includes(k) ? v : undefined));
  assert.ok(rx.calls > 1000, `rx_poll ran ${rx.calls} times`);
  assert.equal(rx.poll, true);
  assert.equal(proc.poll, false);
  assert.ok(Math.abs(rx.busy_calls! * 10 - rx.calls) <= 10, `one call in ten is busy: ${rx.busy_calls} of ${rx.calls}`);
  assert.equal(rx.idle_calls, rx.calls - rx.busy_calls!);
  assert.equal(rx.packets, 4 * rx.busy_calls!);
  assert.equal(proc.parent, 'rx');
  assert.equal(rx.parent, null);
  assert.ok(Math.abs(proc.calls - rx.busy_calls!) <= 1);
  // Spins are wall-clock: on a loaded machine both stretch alike, so compare them with each other.
  // Idle: 9 × 5 us per 4 packets; process: 20 us per 4 packets.
  const idlePerPacket = rx.idle_ns! / rx.packets;
  assert.ok(idlePerPacket > 1.3 * proc.ns_per_packet!, `idle polling ${idlePerPacket} ns per packet, process ${proc.ns_per_packet}`);
  // (within 3%: rx is corrected by process's calibrated probe cost, which a loaded machine moves by ~±100 ns a call)
  assert.ok(rx.ns_per_packet! > 0.97 * (idlePerPacket + proc.ns_per_packet!),
    `rx in all holds its idle polls and process: ${rx.ns_per_packet} vs ${idlePerPacket} + ${proc.ns_per_packet}`);
  // rx's own time is its time less process's corrected time (same packets)
  assert.ok(Math.abs(rx.ns_per_packet! - rx.self_ns_per_packet! - proc.ns_per_packet!) < 0.01 * rx.ns_per_packet!,
    `rx ${rx.ns_per_packet} = self ${rx.self_ns_per_packet} + process ${proc.ns_per_packet}`);
  assert.equal(r.slowest, 'proc', 'idle polling is not the weakest link');
  // the path: process plus rx's own busy time (the call into process and back), each ns once
  assert.ok(r.total_ns_per_packet! < 1.5 * proc.ns_per_packet!, `the path counts each ns once: ${r.total_ns_per_packet}`);
  assert.ok(r.total_ns_per_packet! >= proc.ns_per_packet!);
  assert.ok(Math.abs(rx.share! + proc.share! - 1) < 1e-9);
});
