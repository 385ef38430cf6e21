// Packet counters without probes, read over the local Transport: interface statistics inside a
// test-made network namespace, and a real DPDK process's telemetry socket (dpdk-testpmd on
// net_null ports, no hugepages, no NICs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalTransport } from '../../src/remote/local.ts';
import { findTelemetrySockets, readCounter, telemetry, ethdevList } from '../../src/tracer/counters.ts';
import { buildKnownCost, runKnownCost } from '../helpers/known-cost.ts';

const ns = `pp${process.pid % 100000}c`;
const prefix = `pp${process.pid % 100000}tp`;
const t = new LocalTransport();
let testpmd: ChildProcess | null = null;

before(() => {
  buildKnownCost();
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
});

after(async () => {
  if (testpmd && testpmd.exitCode === null && testpmd.pid) {
    testpmd.kill('SIGINT');
    await Promise.race([new Promise((r) => testpmd!.once('exit', r)), sleep(5000)]);
    if (testpmd.exitCode === null) testpmd.kill('SIGKILL');
  }
  rmSync(`/var/run/dpdk/${prefix}`, { recursive: true, force: true });
  try {
    execFileSync('ip', ['netns', 'del', ns]);
  } catch {
    // already gone
  }
  await t.close();
});

test('interface counters in a namespace count exactly the datagrams the target sent', async () => {
  const src = { kind: 'netdev' as const, iface: 'lo', field: 'tx_packets' as const, netns: ns };
  const before = await readCounter(t, src);
  const done = await runKnownCost(['run', '--seconds', '1', '--only', 'kc_push_1us', '--udp-port', '9999'], ns);
  const afterRead = await readCounter(t, src);
  assert.ok(done.sent > 1000, `the target sent ${done.sent}`);
  assert.equal(afterRead.packets - before.packets, done.sent);
  assert.ok(afterRead.at_ms > before.at_ms);
});

test('a missing interface is a clear error', async () => {
  await assert.rejects(readCounter(t, { kind: 'netdev', iface: 'nosuchdev0', field: 'rx_packets', netns: ns }), /nosuchdev0/);
});

test('DPDK telemetry: ports and ethdev stats of a running DPDK process', async (ctx) => {
  if (!existsSync('/usr/bin/dpdk-testpmd')) {
    ctx.skip('dpdk-testpmd is not installed (apt-get install dpdk)');
    return;
  }
  // --stats-period keeps it running without a terminal (it would exit at end of stdin).
  testpmd = spawn(
    'dpdk-testpmd',
    ['--no-huge', '-m', '256', '--no-pci', '--vdev=net_null0', '--vdev=net_null1', `--file-prefix=${prefix}`, '-l', '0,1',
      '--', '--forward-mode=io', '--auto-start', '--no-mlockall', '--total-num-mbufs=2048', '--stats-period', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const sock = `/var/run/dpdk/${prefix}/dpdk_telemetry.v2`;
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
  assert.ok(existsSync(sock), 'testpmd created its telemetry socket');
  assert.ok((await findTelemetrySockets(t)).includes(sock));
  const [list] = await telemetry(t, sock, ['/ethdev/list']);
  assert.deepEqual(ethdevList(list), [0, 1]);
  const a = await readCounter(t, { kind: 'dpdk', socket: sock, port: 'all', field: 'ipackets' });
  await sleep(300);
  const b = await readCounter(t, { kind: 'dpdk', socket: sock, port: 0, field: 'ipackets' });
  const c = await readCounter(t, { kind: 'dpdk', socket: sock, port: 'all', field: 'ipackets' });
  // net_null makes packets as fast as it is polled: the counters must be moving.
  assert.ok(c.packets > a.packets, `ipackets ${a.packets} -> ${c.packets}`);
  assert.ok(b.packets > 0 && b.packets <= c.packets);
  await assert.rejects(telemetry(t, `/var/run/dpdk/${prefix}/nope.v2`, ['/ethdev/list']), /DPDK telemetry .*nope\.v2/);
  await assert.rejects(telemetry(t, sock, ['/ethdev/stats;rm -rf /']), /not a telemetry command/);
});
