// Least privilege through a real sshd: a non-root login with no sudo records its own process once
// the deployed tracer holds CAP_BPF + CAP_PERFMON (the tracer runs as that user, not as root); before
// that, and after the tracer changed, `pktpath record` says what is missing and the setcap command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSession } from '../../src/core/session-io.ts';
import { buildReport } from '../../src/core/report.ts';
import { checkTracer, deployTracer, localTracerFor } from '../../src/remote/deploy.ts';
import { openTransport } from '../../src/remote/open.ts';
import { TracerPrivilegeError } from '../../src/remote/privilege.ts';
import { tracerOnHost } from '../../src/tracer/record-session.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';
import { startRecord, stopRecord } from './record-helpers.ts';

const ROOT = resolve(__dirname, '../..');
const user = `pp${process.pid % 100000}c`;
const dir = mkdtempSync(join(tmpdir(), 'pp-privilege-'));
const spinExe = join(dir, 'spin');
let lab: SshLab;
let cfg = '';
let uid = 0;
let spin: ChildProcess | undefined;
let spinPid = 0;
let rootSpin: ChildProcess | undefined;

async function startSpin(ids: { uid?: number; gid?: number }): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(spinExe, ['600'], { ...ids, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (c) => rej(new Error(`spin exited (${c}) before ready`)));
  });
  return { child, pid };
}

before(async () => {
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-o', spinExe, join(ROOT, 'test/targets/spin.c')]);
  chmodSync(dir, 0o755);
  lab = await startSshLab();
  // '*' (no password, not locked): with UsePAM no, sshd refuses locked ('!') accounts even for keys.
  execFileSync('useradd', ['-m', '-s', '/bin/sh', '-p', '*', user]);
  uid = Number(execFileSync('id', ['-u', user]).toString());
  const gid = Number(execFileSync('id', ['-g', user]).toString());
  chmodSync(lab.dir, 0o755);
  chmodSync(join(lab.dir, 'authorized_keys'), 0o644);
  cfg = lab.writeConfig('cfg_caps', `Host capuser\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  User ${user}\n  IdentityFile ${lab.keys.plain}\n  IdentityAgent none\n  UserKnownHostsFile ${lab.knownHosts}\n  GlobalKnownHostsFile none\n`);
  // The target belongs to the SSH user: what a capability-holding tracer may trace without more.
  ({ child: spin, pid: spinPid } = await startSpin({ uid, gid }));
});

after(async () => {
  spin?.kill('SIGKILL');
  rootSpin?.kill('SIGKILL');
  await lab?.stop(); // sessions of the user end before the user goes
  try {
    execFileSync('userdel', ['-r', '-f', user], { stdio: 'ignore' });
  } catch {
    /* never created */
  }
  rmSync(dir, { recursive: true, force: true });
});

function recordArgs(out: string, durationS?: number, pid = spinPid): string[] {
  return ['--pid', String(pid), '--stage', `a=uprobe:${spinExe}:hot_a`, '--no-calibrate', '-o', out, '--host', 'capuser', '--ssh-config', cfg,
    ...(durationS !== undefined ? ['--duration', String(durationS)] : [])];
}

async function runRecord(args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout.resume();
  const code = await new Promise<number | null>((r) => child.once('close', r));
  return { code, err };
}

/** Pids of tracers attached to the spin target (the "remote" host is this one). */
function tracerPids(pid = spinPid): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('/pktpath-tracer') && argv[argv.indexOf('--pid') + 1] === String(pid)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const deployedRe = new RegExp(`setcap cap_bpf,cap_perfmon\\+ep '(/home/${user}/\\.cache/pktpath/tracer-[0-9a-f]{64}/pktpath-tracer)'`);
let deployed = '';

test('no root, no sudo, no capabilities: record says what is missing and the one command that fixes it', { timeout: 120_000 }, async () => {
  const out = join(dir, 'denied.pktpath.json');
  const r = await runRecord(recordArgs(out, 2));
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`${user}@capuser \\(uid ${uid}\\) is not root`));
  assert.match(r.err, /lacks CAP_BPF and CAP_PERFMON \(file capabilities: none; the login's: none\)/);
  assert.match(r.err, /sudo -n: .*(password is required|not allowed|not in the sudoers)/);
  const m = deployedRe.exec(r.err);
  assert.ok(m, r.err);
  deployed = m[1]!;
  assert.ok(existsSync(deployed), 'the tracer was deployed before the privilege check');
  assert.equal(existsSync(out), false, 'no session without a tracer');
  assert.equal(tracerPids().length, 0);
});

test('setcap on the deployed tracer: the user records its own process over SSH as itself', { timeout: 180_000 }, async () => {
  assert.ok(deployed, 'the first test found the deployed path');
  execFileSync('setcap', ['cap_bpf,cap_perfmon+ep', deployed]);
  const t = await openTransport({ host: 'capuser', sshConfig: cfg });
  try {
    assert.notEqual((await t.exec(['sudo', '-n', 'true'])).code, 0, 'the user has no sudo');
    const again = await deployTracer(t);
    assert.equal(again.path, deployed);
    assert.equal(again.uploaded, false, 'an unchanged tracer stays in place, with its capabilities');
    const c = await checkTracer(t, deployed);
    assert.equal(c.via, 'caps');
    assert.equal(c.ok, true, c.error ?? '');
    assert.equal(c.features.bpf_allowed, true);
  } finally {
    await t.close();
  }
  const out = join(dir, 'caps.pktpath.json');
  const rec = startRecord(recordArgs(out));
  await rec.ready;
  const pids = tracerPids();
  assert.equal(pids.length, 1, `one tracer: ${pids.join(',')}`);
  const status = readFileSync(`/proc/${pids[0]}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'), 'the tracer runs as the SSH user, not root');
  const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
  assert.equal(eff, (1n << 38n) | (1n << 39n), 'exactly CAP_PERFMON + CAP_BPF');
  await rec.intervalsWithPackets(2);
  const code = await stopRecord(rec);
  assert.equal(code, 0, rec.stderr());
  const s = await loadSession(out);
  assert.equal(s.partial, false, s.partial_reason ?? '');
  const st = buildReport(s).stages.find((x) => x.name === 'a');
  assert.ok(st?.attached, `stage attached: ${st?.attach_error}`);
  assert.ok(st.calls > 0, `stage calls ${st.calls}`);
  console.log(JSON.stringify({ via: 'caps', calls: st.calls, duration_s: buildReport(s).duration_s }));
});

test("another user's process: the stage attaches, stack sampling is refused and the caps to add are named; with them it samples", { timeout: 180_000 }, async () => {
  assert.ok(deployed);
  const started = await startSpin({}); // root's
  rootSpin = started.child;
  const out = join(dir, 'other.pktpath.json');
  const args = [...recordArgs(out, 2, started.pid), '--sample-hz', '99'];
  const denied = await runRecord(args);
  assert.equal(denied.code, 1, denied.err);
  assert.match(denied.err, /stack sampling: .*Permission denied \(the tracer runs as \S+ with capabilities only; processes of other users need cap_sys_ptrace and cap_dac_read_search too/);
  assert.ok(denied.err.includes(`setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+ep '${deployed}'`), denied.err);
  const partly = buildReport(await loadSession(out)).stages.find((x) => x.name === 'a');
  assert.ok(partly?.attached && partly.calls > 0, 'uprobe stages need no more than CAP_BPF + CAP_PERFMON');

  execFileSync('setcap', ['cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+ep', deployed]);
  try {
    const ok = await runRecord(args);
    assert.equal(ok.code, 0, ok.err);
    const s = await loadSession(out);
    assert.ok(s.samples > 0, `samples ${s.samples}`);
    const st = buildReport(s).stages.find((x) => x.name === 'a');
    assert.ok(st && st.calls > 0);
    console.log(JSON.stringify({ otherUser: { calls: st.calls, samples: s.samples } }));
  } finally {
    execFileSync('setcap', ['cap_bpf,cap_perfmon+ep', deployed]);
    rootSpin.kill('SIGKILL');
  }
});

test('a changed tracer is a new file without capabilities: the message says so and names it', { timeout: 120_000 }, async () => {
  assert.ok(deployed);
  const changed = join(dir, 'pktpath-tracer');
  copyFileSync(localTracerFor('x86_64'), changed);
  appendFileSync(changed, Buffer.from([0])); // another sha256, the same program
  chmodSync(changed, 0o755);
  const t = await openTransport({ host: 'capuser', sshConfig: cfg });
  try {
    await assert.rejects(tracerOnHost(t, changed), (e: unknown) => {
      assert.ok(e instanceof TracerPrivilegeError, String(e));
      assert.ok(e.message.includes(`${deployed} has them, but this version is a new file`), e.message);
      const m = deployedRe.exec(e.message);
      assert.ok(m && m[1] !== deployed, e.message);
      return true;
    });
    const none = await checkTracer(t, join(dir, 'no-such-tracer'));
    assert.equal(none.ok, false);
    assert.equal(none.via, 'none');
    assert.match(none.error ?? '', new RegExp(`no-such-tracer --check did not run as ${user}: .*not found.*; through sudo -n: sudo: `));
  } finally {
    await t.close();
  }
});
