// l3fwd (LPM) as Debian ships it, with the one edit af_packet needs (Rx checksum offload off),
// between two network namespaces over af_packet. `ethdev:rx:0` / `ethdev:tx:1` are found in the
// running process (rte_eth_fp_ops) and count what the sink received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExample, startApp, type DpdkApp } from './dpdk-lab.ts';
import { ROOT, TRACER, buildTracer } from './tracer-util.ts';
import type { Session } from '../../src/core/session.ts';

const NAME = `dpdkl${process.pid % 10000}`;
const G = `${NAME}-g`;
const S = `${NAME}-s`;
const SINK_MAC = '02:50:4b:02:00:22';
let app: DpdkApp | undefined;

const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

function down(): void {
  for (const ns of [G, S]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }
  for (const dev of [`${NAME}-gr`, `${NAME}-sr`]) {
    try {
      execFileSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
    } catch {
      // gone with its namespace peer
    }
  }
}

function up(): void {
  down();
  sh('ip', 'netns', 'add', G);
  sh('ip', 'netns', 'add', S);
  sh('ip', 'link', 'add', `${NAME}-gr`, 'type', 'veth', 'peer', 'name', 'g0', 'netns', G);
  sh('ip', 'link', 'add', `${NAME}-sr`, 'type', 'veth', 'peer', 'name', 's0', 'netns', S, 'address', SINK_MAC);
  for (const [ns, dev] of [['', `${NAME}-gr`], ['', `${NAME}-sr`], [G, 'g0'], [S, 's0']] as const) {
    const pre = ns ? ['ip', 'netns', 'exec', ns] : [];
    execFileSync(pre[0] ?? 'ethtool', [...pre.slice(1), ...(pre.length ? ['ethtool'] : []), '-K', dev, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'ignore' });
    sh(...(ns ? ['ip', '-n', ns] : ['ip']), 'link', 'set', dev, 'up');
  }
  for (const dev of [`${NAME}-gr`, `${NAME}-sr`]) sh('sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`);
  for (const ns of [G, S]) sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  sh('ip', '-n', G, 'addr', 'add', '10.202.0.1/24', 'dev', 'g0');
  sh('ip', '-n', G, 'route', 'add', '198.18.1.0/24', 'via', '10.202.0.254');
  sh('ip', '-n', G, 'neigh', 'replace', '10.202.0.254', 'lladdr', '02:50:4b:01:00:fe', 'dev', 'g0', 'nud', 'permanent');
  sh('ip', '-n', S, 'addr', 'add', '198.18.1.2/24', 'dev', 's0');
}

function sinkRx(): number {
  return Number(readFileSync(`/sys/class/net/${NAME}-sr/statistics/tx_packets`, 'utf8').trim());
}

before(async () => {
  buildTracer();
  const exe = buildExample('l3fwd', (src) => src.replace('.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,', '.offloads = 0,'));
  up();
  app = await startApp(exe, [
    '-l', '0,1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', `pktpath-${NAME}`,
    '--vdev', `net_af_packet0,iface=${NAME}-gr,framecnt=8192,qpairs=2`, '--vdev', `net_af_packet1,iface=${NAME}-sr,framecnt=8192,qpairs=2`,
    '--', '-p', '0x3', '-P', '--config=(0,0,1)', '--parse-ptype', `--eth-dest=1,${SINK_MAC}`,
  ], /entering main loop on lcore 1/);
});

after(async () => {
  await app?.stop();
  down();
});

test('ethdev:rx:0 and ethdev:tx:1 count what the sink received', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-')), 's.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(app!.pid), '--tracer', TRACER,
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
  const before0 = sinkRx();
  const n = 20000;
  // 20 kpps for 1 s from the generator namespace: af_packet carries that without loss here
  execFileSync('ip', ['netns', 'exec', G, 'python3', '-c', [
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
  for (let i = 0; i < 30 && sinkRx() !== last; i++) {
    last = sinkRx();
    await new Promise((r) => setTimeout(r, 300));
  }
  const sink = sinkRx() - before0;
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
