import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDestination, resolveTarget } from '../../src/remote/ssh-config.ts';

const CONFIG = `
# aliases first, general settings last (first value wins)
Host lab lab-alias
  HostName 10.1.2.3
  Port 2222
  IdentityFile ~/.ssh/lab_key
  IdentityFile %d/.ssh/second_%r
  ProxyJump bastion,ops@inner:2022
  ServerAliveInterval 5
  ServerAliveCountMax 2
  UserKnownHostsFile ~/kh1 /etc/kh2
  StrictHostKeyChecking accept-new

Host bastion
  HostName bastion.example.org
  User jump
  IdentityAgent ~/agent.sock

Host inner
  HostName 192.168.7.7
  IdentityAgent none

Host *.corp
  User corpuser
  HashKnownHosts yes
  HostKeyAlias corp-key

Host *
  User fallback
`;

const base = { configText: CONFIG, home: '/home/me', localUser: 'me', env: { SSH_AUTH_SOCK: '/run/agent' } };

test('alias: HostName, Port, User fallback, IdentityFile with ~ and tokens, keepalives', () => {
  const t = resolveTarget('lab', base);
  assert.equal(t.name, 'lab');
  assert.equal(t.hostname, '10.1.2.3');
  assert.equal(t.port, 2222);
  assert.equal(t.user, 'fallback');
  assert.deepEqual(t.identityFiles, ['/home/me/.ssh/lab_key', '/home/me/.ssh/second_fallback']);
  assert.equal(t.identitiesExplicit, true);
  assert.equal(t.agent, '/run/agent');
  assert.equal(t.keepaliveIntervalMs, 5000);
  assert.equal(t.keepaliveCountMax, 2);
  assert.deepEqual(t.userKnownHostsFiles, ['/home/me/kh1', '/etc/kh2']);
  assert.equal(t.strictHostKeyChecking, 'accept-new');
  assert.equal(t.hashKnownHosts, false);
});

test('second alias on the same Host line matches too', () => {
  assert.equal(resolveTarget('lab-alias', base).hostname, '10.1.2.3');
});

test('command-line user and port win over the config', () => {
  const t = resolveTarget('root@lab:2200', base);
  assert.equal(t.user, 'root');
  assert.equal(t.port, 2200);
  assert.deepEqual(t.identityFiles[1], '/home/me/.ssh/second_root');
});

test('ProxyJump: several hops, each resolved through the config', () => {
  const t = resolveTarget('lab', base);
  assert.equal(t.jumps.length, 2);
  const [b, i] = t.jumps;
  assert.equal(b!.hostname, 'bastion.example.org');
  assert.equal(b!.user, 'jump');
  assert.equal(b!.port, 22);
  assert.equal(b!.agent, '/home/me/agent.sock');
  assert.equal(i!.hostname, '192.168.7.7');
  assert.equal(i!.user, 'ops');
  assert.equal(i!.port, 2022);
  assert.equal(i!.agent, undefined);
});

test('patterns: *.corp, HashKnownHosts, HostKeyAlias; defaults when unset', () => {
  const t = resolveTarget('db.corp', base);
  assert.equal(t.hostname, 'db.corp');
  assert.equal(t.user, 'corpuser');
  assert.equal(t.hashKnownHosts, true);
  assert.equal(t.hostKeyAlias, 'corp-key');
  assert.equal(t.identitiesExplicit, false);
  assert.ok(t.identityFiles.includes('/home/me/.ssh/id_ed25519'));
  assert.equal(t.keepaliveIntervalMs, 15000);
  assert.equal(t.strictHostKeyChecking, 'ask');
  assert.deepEqual(t.userKnownHostsFiles, ['/home/me/.ssh/known_hosts', '/home/me/.ssh/known_hosts2']);
  assert.deepEqual(t.jumps, []);
});

test('plain host not in config; IPv6 with port', () => {
  const t = resolveTarget('u@[::1]:2022', { ...base, configText: '' });
  assert.equal(t.hostname, '::1');
  assert.equal(t.port, 2022);
  assert.equal(t.user, 'u');
  const l = resolveTarget('example.org', { ...base, configText: '' });
  assert.equal(l.user, 'me');
  assert.equal(l.port, 22);
});

test('hostile destinations are refused with a clear error', () => {
  for (const bad of ['-oProxyCommand=touch x', "h';touch x;'", 'h$(touch x)', 'a b', 'h\nx', '', 'u@', 'h:99999', 'h:0', 'h:x', 'u;x@h']) {
    assert.throws(() => parseDestination(bad), /invalid|empty/, JSON.stringify(bad));
  }
  // A HostName from the config is checked as well.
  assert.throws(() => resolveTarget('evil', { ...base, configText: 'Host evil\n  HostName -oProxyCommand=x\n' }), /invalid host name/);
});

test('config file from --ssh-config; a named missing file is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-sshcfg-'));
  try {
    const f = join(dir, 'cfg');
    writeFileSync(f, 'Host x\n  HostName 127.0.0.1\n  Port 2201\n');
    const t = resolveTarget('x', { configPath: f, home: dir, localUser: 'me', env: {} });
    assert.equal(t.port, 2201);
    assert.equal(t.agent, undefined);
    assert.throws(() => resolveTarget('x', { configPath: join(dir, 'nope'), home: dir, env: {} }), /cannot read ssh config/);
    // The default ~/.ssh/config may be absent.
    assert.equal(resolveTarget('y', { home: dir, localUser: 'me', env: {} }).hostname, 'y');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
