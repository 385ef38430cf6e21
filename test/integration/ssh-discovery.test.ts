// `pktpath ps` discovery against the real demo forwarder (DPDK over af_packet), locally and over SSH.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { discover } from '../../src/remote/discovery.ts';
import { LocalTransport } from '../../src/remote/local.ts';
import { openTransport } from '../../src/remote/open.ts';
import { startDemoLab, type DemoLab } from '../helpers/lab.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';
import { psCommand } from '../../src/cli/ps.ts';

let demo: DemoLab;
let ssh: SshLab;
before(async () => {
  demo = await startDemoLab();
  ssh = await startSshLab();
});
after(async () => {
  await ssh?.stop();
  await demo?.stop();
});

function buildIdOf(path: string): string {
  const m = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', path], { encoding: 'utf8' }));
  assert.ok(m, 'the demo forwarder has a build-id');
  return m[1]!;
}

function ticks(pid: number): number {
  const st = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** discover() under steady traffic, with the forwarder's CPU share measured independently around it. */
async function discoverUnderTraffic(run: () => ReturnType<typeof discover>): Promise<{ cands: Awaited<ReturnType<typeof discover>>; refCpu: number }> {
  const traffic = demo.traffic({ pps: 20000, seconds: 4 });
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = process.hrtime.bigint();
  const k0 = ticks(demo.fwdPid);
  const cands = await run();
  const k1 = ticks(demo.fwdPid);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const sent = await traffic;
  assert.ok(sent.received > 0);
  return { cands, refCpu: (k1 - k0) / 100 / dt };
}

function checkDemo(cands: Awaited<ReturnType<typeof discover>>, refCpu: number): void {
  const c = cands.find((x) => x.pid === demo.fwdPid);
  assert.ok(c, `the demo forwarder (pid ${demo.fwdPid}) is found among ${cands.map((x) => `${x.pid}:${x.comm}`).join(', ')}`);
  assert.ok(c.reasons.includes('dpdk'));
  assert.ok(c.reasons.includes('af_packet'));
  assert.equal(c.dpdk?.filePrefix, demo.filePrefix);
  assert.ok(c.dpdk.lcoreThreads.some((t) => /^rte-worker-\d+$|^lcore-worker-\d+$/.test(t.comm)), JSON.stringify(c.dpdk.lcoreThreads));
  // Two net_af_packet vdevs: at least one packet socket per port.
  assert.ok(c.packetSockets >= 2, `packet sockets: ${c.packetSockets}`);
  assert.equal(c.exe, demo.runningBinary);
  assert.equal(c.buildId, buildIdOf(demo.runningBinary));
  const threads = Number(/Threads:\s+(\d+)/.exec(execFileSync('cat', [`/proc/${demo.fwdPid}/status`], { encoding: 'utf8' }))![1]);
  assert.equal(c.threads, threads);
  assert.ok(c.command.includes('--file-prefix'));
  // The 0.5 s window inside the reference interval, under steady traffic: the shares agree.
  assert.ok(c.cpu > 0 && c.cpu <= 2.05, `cpu ${c.cpu}`);
  assert.ok(Math.abs(c.cpu - refCpu) <= 0.1 + 0.35 * refCpu, `cpu ${c.cpu} vs measured ${refCpu.toFixed(3)}`);
  const busiest = Math.max(...c.dpdk.lcoreThreads.map((t) => t.cpu), 0);
  assert.equal(c.busyThreads.length > 0, c.busyThreads.some((t) => t.cpu >= 0.8));
  assert.ok(busiest <= c.cpu + 1e-9);
  // The forwarder is the first candidate: DPDK ranks above the rest.
  assert.equal(cands[0]!.dpdk !== null, true);
}

test('local discovery finds the demo forwarder with its lcore threads, prefix, sockets and build-id', async () => {
  const { cands, refCpu } = await discoverUnderTraffic(() => discover(new LocalTransport()));
  checkDemo(cands, refCpu);
});

test('the same over SSH', async () => {
  const t = await openTransport({ host: ssh.alias.key, sshConfig: ssh.config });
  try {
    const { cands, refCpu } = await discoverUnderTraffic(() => discover(t));
    checkDemo(cands, refCpu);
  } finally {
    await t.close();
  }
});

test('pktpath ps --host ALIAS --json and the table', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
  assert.equal(await psCommand(['--host', ssh.alias.key, '--ssh-config', ssh.config, '--json'], io), 0);
  const j = JSON.parse(out.join('')) as { host: string; candidates: { pid: number; reasons: string[]; dpdk: { filePrefix: string } | null }[] };
  assert.equal(j.host, ssh.alias.key);
  const c = j.candidates.find((x) => x.pid === demo.fwdPid);
  assert.ok(c);
  assert.equal(c.dpdk?.filePrefix, demo.filePrefix);
  out.length = 0;
  assert.equal(await psCommand(['--host', ssh.alias.key, '--ssh-config', ssh.config], io), 0);
  const table = out.join('');
  assert.match(table, new RegExp(`^\\s*${demo.fwdPid}\\s+\\d+\\.\\d\\d\\s+\\d+\\s+dpdk,af_packet\\S*\\s+${demo.filePrefix}\\s+\\S*fwd `, 'm'));
  assert.match(table, /lcores rte-worker-\d+ \(tid \d+, \d\.\d\d\)/);
  assert.deepEqual(err, []);
});
