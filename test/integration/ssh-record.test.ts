// `pktpath record --host ALIAS` of the demo forwarder through a real sshd: the same stage counts as
// a local record (each within 1% of what the sink received), and a connection killed mid-record
// takes the remote tracer down within 2 s, leaves no BPF link or program of it, and the session
// that arrived so far is saved, marked partial.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSession } from '../../src/core/session-io.ts';
import { buildReport } from '../../src/core/report.ts';
import { startDemoLab, type DemoLab } from '../helpers/lab.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';
import { startRecord, stopRecord, type RecordRun } from './record-helpers.ts';
import { bpfHeldBy, bpfStillThere, sleep } from './tracer-util.ts';

const STAGES = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'];
const dir = mkdtempSync(join(tmpdir(), 'pp-sshrec-'));
let demo: DemoLab;
let ssh: SshLab;
const runs: RecordRun[] = [];

before(async () => {
  demo = await startDemoLab();
  ssh = await startSshLab();
});
after(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await ssh?.stop();
  await demo?.stop();
  rmSync(dir, { recursive: true, force: true });
  // The tracer deployed by these tests into root's cache stays: it is keyed by content and reused.
});

function recordArgs(out: string, remote: boolean): string[] {
  const args = ['--pid', String(demo.fwdPid), '-o', out];
  for (const s of STAGES) args.push('--stage', `${s}=uprobe:${demo.runningBinary}:${s}:packets=ret`);
  if (remote) args.push('--host', ssh.alias.key, '--ssh-config', ssh.config);
  return args;
}

/** Tracer processes attached to the demo forwarder, by scanning /proc (the "remote" is this host). */
function tracerPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('/pktpath-tracer') && argv.includes('--pid') && argv[argv.indexOf('--pid') + 1] === String(demo.fwdPid)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Still running: present in /proc and not a zombie. An orphaned tracer is reaped by whoever adopts it
 *  (init here), which may take a while; it has exited and released everything by then. */
const PF_EXITING = 0x4;

/** Still running: not a zombie, and not already in exit (its kernel teardown of probes can wait for RCU grace periods). */
function running(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return !/^[ZX]$/.test(f[0] ?? '') && (Number(f[6]) & PF_EXITING) === 0;
  } catch {
    return false;
  }
}

/** Each thread's state and where it waits: what a failure needs to say. */
function threadStates(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => {
      const read = (f: string): string => {
        try {
          return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
        } catch {
          return '?';
        }
      };
      const st = read('stat');
      return `${tid} ${read('comm')} state ${st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)} wchan ${read('wchan')}\n${read('stack')}`;
    }).join('\n');
  } catch {
    return 'gone';
  }
}

async function recordUnderTraffic(remote: boolean): Promise<{ received: number; packets: Map<string, number> }> {
  const out = join(dir, `${remote ? 'ssh' : 'local'}.pktpath.json`);
  const rec = startRecord(recordArgs(out, remote));
  runs.push(rec);
  await rec.ready;
  if (remote) {
    // Over SSH the tracer is the deployed copy in the per-user cache, not the build tree's.
    const pids = tracerPids();
    assert.equal(pids.length, 1);
    assert.match(readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8'), /\/\.cache\/pktpath\/tracer-[0-9a-f]{64}\/pktpath-tracer\0/);
  }
  // every fwd_tx call has returned once traffic() does; stopping drains the last interval
  const traffic = await demo.traffic({ pps: 20000, seconds: 4 });
  const code = await stopRecord(rec);
  assert.equal(code, 0, rec.stderr());
  assert.ok(traffic.received > 0.99 * traffic.sent, `lab lost packets: sent ${traffic.sent}, received ${traffic.received}`);
  const s = await loadSession(out);
  assert.equal(s.partial, false, s.partial_reason ?? '');
  if (remote) assert.equal(s.target.host, ssh.alias.key);
  const r = buildReport(s);
  return { received: traffic.received, packets: new Map(r.stages.map((x) => [x.name, x.packets])) };
}

test('record over SSH gives the same stage counts as a local record (each within 1% of the sink)', { timeout: 240_000 }, async () => {
  const local = await recordUnderTraffic(false);
  const remote = await recordUnderTraffic(true);
  for (const [name, run] of [['local', local], ['ssh', remote]] as const) {
    for (const st of STAGES) {
      const p = run.packets.get(st) ?? 0;
      const rel = Math.abs(p - run.received) / run.received;
      assert.ok(rel <= 0.01, `${name} ${st}: ${p} packets vs sink ${run.received} (${(rel * 100).toFixed(2)}%)`);
    }
  }
  console.log(JSON.stringify({ local: { sink: local.received, ...Object.fromEntries(local.packets) }, ssh: { sink: remote.received, ...Object.fromEntries(remote.packets) } }));
});

test('connection killed mid-record: remote tracer gone within 2 s, no BPF left, partial session saved', { timeout: 180_000 }, async () => {
  const out = join(dir, 'killed.pktpath.json');
  const rec = startRecord(recordArgs(out, true));
  runs.push(rec);
  await rec.ready;
  const traffic = demo.traffic({ pps: 20000, seconds: 6 });
  await rec.intervalsWithPackets(2);
  const pids = tracerPids();
  assert.equal(pids.length, 1, `one tracer runs: ${pids.join(',')}`);
  const tracer = pids[0]!;
  const held = bpfHeldBy(tracer);
  assert.ok(held.links.length > 0 && held.progs.length > 0, `the tracer holds links and programs: ${JSON.stringify(held)}`);
  // Kill the server side of every session of this lab abruptly: the connection is gone, the
  // client survives and must save what it has.
  const sessions = ssh.sessionPids();
  assert.ok(sessions.length > 0);
  const t0 = Date.now();
  for (const p of sessions) process.kill(p, 'SIGKILL');
  while (running(tracer) && Date.now() - t0 < 5000) await sleep(20);
  const goneMs = Date.now() - t0;
  assert.equal(running(tracer), false, `the remote tracer still runs 5 s after the connection died:\n${threadStates(tracer)}`);
  let left = bpfStillThere(held);
  for (let i = 0; i < 50 && (left.links.length || left.progs.length); i++) {
    await sleep(100); // programs are freed after an RCU grace period
    left = bpfStillThere(held);
  }
  assert.deepEqual(left, { progs: [], links: [] }, 'BPF links/programs of the tracer remain');

  await traffic.catch(() => {});
  const code = await stopRecord(rec, 20_000);
  assert.equal(code, 3, `a partial recording exits 3 (ended early)\n${rec.stderr()}`);
  assert.match(rec.stderr(), /PARTIAL/);
  const s = await loadSession(out);
  assert.equal(s.partial, true);
  assert.match(s.partial_reason ?? '', /connection|lost|closed/i);
  const r = buildReport(s);
  assert.ok(r.stages.every((x) => x.calls > 0), 'what arrived before the drop is kept');
  console.log(JSON.stringify({ tracerGoneMs: goneMs, partial_reason: s.partial_reason, duration_s: r.duration_s }));
  // Last, so that everything above is checked even when this fails: the 2 s bound on the remote tracer's exit.
  assert.ok(goneMs <= 2000, `the remote tracer took ${goneMs} ms to exit after the connection died`);
});

test('the client killed mid-record (SIGKILL): the remote tracer goes away within 2 s, no BPF left', { timeout: 180_000 }, async () => {
  const out = join(dir, 'client-killed.pktpath.json');
  const rec = startRecord(recordArgs(out, true));
  runs.push(rec);
  await rec.ready; // the tracer has attached every stage
  const pids = tracerPids();
  assert.equal(pids.length, 1, `one tracer runs: ${pids.join(',')}`);
  const tracer = pids[0]!;
  const held = bpfHeldBy(tracer);
  assert.ok(held.links.length > 0);
  const t0 = Date.now();
  rec.child.kill('SIGKILL'); // the kernel closes the client's socket; sshd sees the connection end
  while (running(tracer) && Date.now() - t0 < 5000) await sleep(20);
  const goneMs = Date.now() - t0;
  assert.equal(running(tracer), false, `the remote tracer still runs 5 s after its client died:\n${threadStates(tracer)}`);
  let left = bpfStillThere(held);
  for (let i = 0; i < 50 && (left.links.length || left.progs.length); i++) {
    await sleep(100);
    left = bpfStillThere(held);
  }
  assert.deepEqual(left, { progs: [], links: [] });
  console.log(JSON.stringify({ clientKilled_tracerGoneMs: goneMs }));
  assert.ok(goneMs <= 2000, `the remote tracer took ${goneMs} ms to exit after its client died`);
});

test('hostile binary path through `pktpath record --host`: reaches the tracer byte for byte, runs nothing', { timeout: 120_000 }, async () => {
  const { mkdirSync, symlinkSync, existsSync } = await import('node:fs');
  const { homedir } = await import('node:os');
  const { spawn } = await import('node:child_process');
  const canary = `pp-canary-${process.pid}`;
  // The remote shell starts in the user's home; relative payloads would land there or in our cwd.
  const places = [join(homedir(), canary), join(process.cwd(), canary), join(dir, canary)];
  const hostileDir = join(dir, `x';touch ${canary};'`, `$(touch ${canary})`, `\`touch ${canary}\``);
  mkdirSync(hostileDir, { recursive: true });
  const bin = join(hostileDir, 'fwd');
  symlinkSync(demo.runningBinary, bin);
  const out = join(dir, 'hostile.pktpath.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(demo.fwdPid), '--duration', '2', '--no-calibrate',
    '--stage', `fwd_tx=uprobe:${bin}:fwd_tx:packets=ret`, '-o', out, '--host', ssh.alias.key, '--ssh-config', ssh.config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout.resume();
  const code = await new Promise<number | null>((r) => child.once('close', r));
  assert.equal(code, 0, err);
  const s = await loadSession(out);
  const r = buildReport(s);
  assert.ok(r.stages[0]!.attached, `the stage attached through the hostile path: ${r.stages[0]!.attach_error}`);
  for (const p of places) assert.equal(existsSync(p), false, `payload ran: ${p}`);
});
