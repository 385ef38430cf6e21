// A non-root SSH login: root through `sudo -n` — a clear error while sudo wants a password, and
// with NOPASSWD the tracer is deployed into that user's cache and checked as root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTracer, deployTracer } from '../../src/remote/deploy.ts';
import { openTransport } from '../../src/remote/open.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';
import { psCommand } from '../../src/cli/ps.ts';

const user = `pp${process.pid % 100000}s`;
const sudoers = `/etc/sudoers.d/pktpath-test-${user}`;
let lab: SshLab;
let cfg = '';

before(async () => {
  lab = await startSshLab();
  // '*' (no password, not locked): with UsePAM no, sshd refuses locked ('!') accounts even for keys.
  execFileSync('useradd', ['-m', '-s', '/bin/sh', '-p', '*', user]);
  // sshd reads authorized_keys as the user: let it through the lab's directory.
  chmodSync(lab.dir, 0o755);
  chmodSync(join(lab.dir, 'authorized_keys'), 0o644);
  cfg = lab.writeConfig('cfg_sudo', `Host nonroot\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  User ${user}\n  IdentityFile ${lab.keys.plain}\n  IdentityAgent none\n  UserKnownHostsFile ${lab.knownHosts}\n  GlobalKnownHostsFile none\n`);
});
after(async () => {
  rmSync(sudoers, { force: true });
  await lab?.stop(); // sessions of the user end before the user goes
  try {
    execFileSync('userdel', ['-r', '-f', user], { stdio: 'ignore' });
  } catch {
    /* never created */
  }
});

test('sudo wanting a password: a clear error, nothing run as root', async () => {
  const t = await openTransport({ host: 'nonroot', sshConfig: cfg });
  try {
    const f = await t.facts();
    assert.equal(f.user, user);
    assert.notEqual(f.uid, 0);
    const r = await t.exec(['id', '-u'], { root: true });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`${user}@nonroot is not root and sudo needs a password`));
  } finally {
    await t.close();
  }
});

test('with NOPASSWD: root through sudo -n, env intact, tracer deployed to the user cache and checked', async () => {
  writeFileSync(sudoers, `${user} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
  const t = await openTransport({ host: 'nonroot', sshConfig: cfg });
  try {
    const r = await t.exec(['id', '-u'], { root: true });
    assert.equal(r.stdout.trim(), '0', r.stderr);
    const e = await t.exec(['sh', '-c', 'printf %s "$PP_X"'], { root: true, env: { PP_X: "a'b $(c)" } });
    assert.equal(e.stdout, "a'b $(c)");
    const d = await deployTracer(t);
    assert.ok(d.path.startsWith(`/home/${user}/.cache/pktpath/tracer-`), d.path);
    const c = await checkTracer(t, d.path);
    assert.equal(c.via, 'sudo');
    assert.equal(c.ok, true, c.error ?? '');
    assert.equal(c.features.uprobes, true);
  } finally {
    await t.close();
  }
});

test('pktpath ps without root: says why and lists what the user can see', async () => {
  rmSync(sudoers, { force: true });
  const out: string[] = [];
  const err: string[] = [];
  const code = await psCommand(['--host', 'nonroot', '--ssh-config', cfg, '--json'], { out: (s) => void out.push(s), err: (s) => void err.push(s) });
  assert.equal(code, 0);
  assert.match(err.join(''), /sudo needs a password[\s\S]*without root/);
  const j = JSON.parse(out.join('')) as { candidates: unknown[] };
  assert.ok(Array.isArray(j.candidates));
});
