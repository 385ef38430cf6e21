// SSH against a real OpenSSH sshd: aliases, agent, encrypted key, ProxyJump, host keys, hostile names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTransport } from '../../src/remote/open.ts';
import { SshTransport } from '../../src/remote/ssh.ts';
import type { Transport } from '../../src/remote/transport.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';

let lab: SshLab;
before(async () => {
  lab = await startSshLab();
});
after(async () => {
  await lab?.stop();
});

/** Signal pids that may have exited since they were listed. */
function signalAll(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* already gone */
    }
  }
}

async function withTransport<T>(host: string, fn: (t: Transport) => Promise<T>, extra: Parameters<typeof openTransport>[0] = {}): Promise<T> {
  const t = await openTransport({ host, sshConfig: lab.config, readyTimeoutMs: 10000, ...extra });
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

test('alias from a config file: HostName, Port, User, IdentityFile; facts and exec', async () => {
  await withTransport(lab.alias.key, async (t) => {
    assert.ok(t instanceof SshTransport);
    const f = await t.facts();
    assert.equal(f.uid, 0);
    assert.equal(f.user, 'root');
    assert.equal(f.os, 'Linux');
    assert.equal(f.arch, execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    const r = await t.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  });
  const log = readFileSync(lab.target.log, 'utf8');
  assert.match(log, /Accepted publickey for root from 127\.0\.0\.1 .*ED25519 SHA256:/);
});

test('agent authentication (the key exists only in the agent)', async () => {
  assert.equal(existsSync(lab.keys.agentOnly), false);
  const agentFp = execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: lab.agentSock }, encoding: 'utf8' }).split(' ')[1]!;
  await withTransport(lab.alias.agent, async (t) => {
    assert.equal((await t.exec(['true'])).code, 0);
  });
  assert.ok(readFileSync(lab.target.log, 'utf8').includes(`Accepted publickey for root from 127.0.0.1`));
  assert.ok(readFileSync(lab.target.log, 'utf8').includes(agentFp), 'sshd logged the agent key');
});

test('encrypted key: passphrase asked once per attempt, wrong or missing passphrase refused clearly', async () => {
  const asked: string[] = [];
  await withTransport(
    lab.alias.encrypted,
    async (t) => assert.equal((await t.exec(['true'])).code, 0),
    { passphrase: async (p) => (asked.push(p), lab.passphrase) },
  );
  assert.deepEqual(asked, [lab.keys.encrypted]);
  await assert.rejects(
    openTransport({ host: lab.alias.encrypted, sshConfig: lab.config, passphrase: async () => 'wrong' }),
    /permission denied \(publickey\).*wrong passphrase/s,
  );
  await assert.rejects(openTransport({ host: lab.alias.encrypted, sshConfig: lab.config }), /encrypted and no passphrase/);
});

test('ProxyJump through the second sshd', async () => {
  await withTransport(lab.alias.jump, async (t) => {
    assert.equal((await t.exec(['printf', '%s', 'via-hop'])).stdout, 'via-hop');
  });
  const hopLog = readFileSync(lab.hop.log, 'utf8');
  assert.match(hopLog, new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${lab.target.port}\\b`));
});

test('changed host key is refused with an OpenSSH-like message', async () => {
  const kh = join(lab.dir, 'known_hosts_changed');
  const other = join(lab.dir, 'other_host_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  writeFileSync(kh, `# first line\n[127.0.0.1]:${lab.target.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const cfg = lab.writeConfig('cfg_changed', `Host x\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  User root\n  IdentityFile ${lab.keys.plain}\n  IdentityAgent none\n  UserKnownHostsFile ${kh}\n  GlobalKnownHostsFile none\n`);
  const realFp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${lab.target.hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  for (const accept of [false, true]) {
    const err = await openTransport({ host: 'x', sshConfig: cfg, acceptNewHostKey: accept }).then(
      () => assert.fail('connected despite a changed host key'),
      (e: Error) => e.message,
    );
    assert.match(err, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.ok(err.includes(realFp), err);
    assert.ok(err.includes(`Offending ED25519 key in ${kh}:2`), err);
  }
  // Nothing was written and no session ran.
  assert.equal(readFileSync(kh, 'utf8').split('\n').filter((l) => l.startsWith('[')).length, 1);
});

test('unknown host key: refused by default, recorded (hashed) with --accept-new-host-key', async () => {
  const kh = join(lab.dir, 'known_hosts_new');
  const cfg = lab.writeConfig('cfg_new', `Host y\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  User root\n  IdentityFile ${lab.keys.plain}\n  IdentityAgent none\n  UserKnownHostsFile ${kh}\n  GlobalKnownHostsFile none\n  HashKnownHosts yes\n`);
  await assert.rejects(openTransport({ host: 'y', sshConfig: cfg }), /authenticity of host '\[127\.0\.0\.1\]:\d+' can't be established.*--accept-new-host-key/s);
  assert.equal(existsSync(kh), false);
  const t = await openTransport({ host: 'y', sshConfig: cfg, acceptNewHostKey: true });
  await t.close();
  const text = readFileSync(kh, 'utf8');
  assert.match(text, /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
  // OpenSSH finds what we wrote, and the next connection needs no flag.
  const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${lab.target.port}`, '-f', kh], { encoding: 'utf8' });
  assert.ok(found.includes(readFileSync(`${lab.target.hostKey}.pub`, 'utf8').split(' ')[1]!));
  const again = await openTransport({ host: 'y', sshConfig: cfg });
  await again.close();
});

test('hostile binary paths, arguments, env and host names execute nothing', async () => {
  const canary = join(lab.dir, 'canary');
  const payloads = [
    `x';touch ${canary};'`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `x\ntouch ${canary}`,
    `x; touch ${canary}`,
    `x" && touch "${canary}`,
  ];
  await withTransport(lab.alias.key, async (t) => {
    for (const p of payloads) {
      // As a program path: it must be looked up literally and fail.
      const asBin = await t.exec([p, '--check']);
      assert.equal(asBin.code, 127, `${JSON.stringify(p)} ran: ${asBin.stderr}`);
      // As an argument (a stage name or spec): it must arrive byte for byte.
      const asArg = await t.exec(['printf', '%s', `rx=uprobe:${p}:sym`]);
      assert.equal(asArg.stdout, `rx=uprobe:${p}:sym`);
      const asEnv = await t.exec(['sh', '-c', 'printf %s "$PP_STAGE"'], { env: { PP_STAGE: p } });
      assert.equal(asEnv.stdout, p);
      const asRoot = await t.exec(['printf', '%s', p], { root: true, env: { PP_STAGE: p } });
      assert.equal(asRoot.stdout, p);
    }
  });
  for (const p of payloads) {
    await assert.rejects(openTransport({ host: p, sshConfig: lab.config }), /invalid (host|user|port)|empty/);
  }
  assert.equal(existsSync(canary), false, 'a payload ran');
});

test('closed resolves when the connection is lost; commands see it', async () => {
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  const cmd = t.run(['sleep', '30']);
  await new Promise((r) => setTimeout(r, 300));
  const before = new Set(lab.sessionPids());
  assert.ok(before.size > 0);
  signalAll([...before], 'SIGKILL');
  const t0 = Date.now();
  await t.closed;
  const st = await cmd.exit;
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(st.code, null);
  await t.close();
});

test('ProxyJump with two hops (comma list), each resolved through the config', async () => {
  const cfg = lab.writeConfig('cfg_2hops', `Host two\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  ProxyJump ${lab.alias.hop},${lab.alias.hop}\n  IdentityFile ${lab.keys.plain}\n  IdentityAgent none\n${readFileSync(lab.config, 'utf8')}`);
  const before = (readFileSync(lab.hop.log, 'utf8').match(/Accepted publickey/g) ?? []).length;
  const t = await openTransport({ host: 'two', sshConfig: cfg });
  try {
    assert.equal((await t.exec(['printf', 'ok'])).stdout, 'ok');
  } finally {
    await t.close();
  }
  const after = (readFileSync(lab.hop.log, 'utf8').match(/Accepted publickey/g) ?? []).length;
  assert.equal(after - before, 2, 'two logins on the hop: one per listed hop');
});

test('keepalives notice a silent peer: closed resolves after ServerAliveInterval x CountMax', async () => {
  // The config says ServerAliveInterval 1, ServerAliveCountMax 3. A stopped sshd session keeps the
  // TCP connection open but answers nothing, like a dead link without a reset.
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  const sessions = lab.sessionPids();
  assert.ok(sessions.length > 0);
  const t0 = Date.now();
  signalAll(sessions, 'SIGSTOP');
  try {
    const lost = await Promise.race([t.closed.then(() => Date.now() - t0), new Promise<null>((r) => setTimeout(() => r(null), 10000))]);
    assert.ok(lost !== null, 'the connection was not noticed dead within 10 s');
    assert.ok(lost >= 2500 && lost <= 6000, `noticed after ${lost} ms`);
  } finally {
    signalAll(sessions, 'SIGCONT');
    signalAll(sessions, 'SIGKILL');
    await t.close();
  }
});

test('SFTP: upload (atomic, with mode) and readFile round-trip bytes; errors name the path', async () => {
  const { randomBytes } = await import('node:crypto');
  const { statSync } = await import('node:fs');
  const local = join(lab.dir, 'blob.bin');
  const data = randomBytes(300_000);
  writeFileSync(local, data);
  const remote = join(lab.dir, "up dir 'q'", 'blob.bin');
  await withTransport(lab.alias.key, async (t) => {
    await t.upload(local, remote, 0o640);
    assert.ok(Buffer.compare(await t.readFile(remote), data) === 0);
    assert.equal(statSync(remote).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(join(lab.dir, "up dir 'q'")), ['blob.bin'], 'no temporary file left');
    await assert.rejects(t.readFile(join(lab.dir, 'missing')), /cannot read .*missing/);
  });
});

test('the agent through SSH_AUTH_SOCK when the config names none', async () => {
  const cfg = lab.writeConfig('cfg_env_agent', `Host envagent\n  HostName 127.0.0.1\n  Port ${lab.target.port}\n  User root\n  IdentityFile ${join(lab.dir, 'no-such-key')}\n  UserKnownHostsFile ${lab.knownHosts}\n  GlobalKnownHostsFile none\n`);
  const saved = process.env.SSH_AUTH_SOCK;
  try {
    delete process.env.SSH_AUTH_SOCK;
    await assert.rejects(openTransport({ host: 'envagent', sshConfig: cfg }), /permission denied \(publickey\).*no agent \(SSH_AUTH_SOCK unset/s);
    process.env.SSH_AUTH_SOCK = lab.agentSock;
    const t = await openTransport({ host: 'envagent', sshConfig: cfg });
    await t.close();
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
  }
});
