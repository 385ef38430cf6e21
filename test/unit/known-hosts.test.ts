// known_hosts logic against keys and files made by OpenSSH's own ssh-keygen: hashed entries it wrote
// must match, and the lines we append must be found by `ssh-keygen -F`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHost, changedKeyMessage, fingerprint, hostsMatch, knownKeyTypes, loadKnownHosts, parseKnownHosts, verifyHostKey,
} from '../../src/remote/known-hosts.ts';

let dir = '';
const keys: Record<string, { blob: Buffer; line: string; fp: string }> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pp-kh-'));
  for (const [name, type] of [['a', 'ed25519'], ['b', 'ed25519'], ['r', 'rsa']] as const) {
    const f = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f]);
    const line = readFileSync(`${f}.pub`, 'utf8').trim();
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    keys[name] = { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, fp };
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const pub = (k: string): string => keys[k]!.line.split(' ').slice(0, 2).join(' ');

test('fingerprint equals ssh-keygen -l', () => {
  for (const k of Object.values(keys)) assert.equal(fingerprint(k.blob), k.fp);
});

test('plain, [host]:port, patterns and negation', () => {
  const f = join(dir, 'kh_plain');
  writeFileSync(f, [
    '# comment',
    `host1,10.0.0.1 ${pub('a')}`,
    `[host1]:2222 ${pub('b')}`,
    `*.lab,!bad.lab ${pub('a')}`,
    'garbage line',
    '',
  ].join('\n'));
  const e = loadKnownHosts([f, join(dir, 'missing')]);
  assert.equal(e.length, 3);
  assert.equal(verifyHostKey(e, 'host1', 22, keys.a!.blob).kind, 'ok');
  assert.equal(verifyHostKey(e, '10.0.0.1', 22, keys.a!.blob).kind, 'ok');
  assert.equal(verifyHostKey(e, 'HOST1', 2222, keys.b!.blob).kind, 'ok');
  const ch = verifyHostKey(e, 'host1', 2222, keys.a!.blob);
  assert.equal(ch.kind, 'changed');
  assert.equal(verifyHostKey(e, 'x.lab', 22, keys.a!.blob).kind, 'ok');
  assert.equal(verifyHostKey(e, 'bad.lab', 22, keys.a!.blob).kind, 'unknown');
  assert.equal(verifyHostKey(e, 'other', 22, keys.a!.blob).kind, 'unknown');
  assert.deepEqual(knownKeyTypes(e, 'host1', 22), ['ssh-ed25519']);
});

test('changed key: OpenSSH-like message with fingerprint and file:line', () => {
  const f = join(dir, 'kh_changed');
  writeFileSync(f, `other ${pub('b')}\nhost2 ${pub('a')}\n`);
  const v = verifyHostKey(loadKnownHosts([f]), 'host2', 22, keys.b!.blob);
  assert.equal(v.kind, 'changed');
  if (v.kind !== 'changed') return;
  const msg = changedKeyMessage(v);
  assert.match(msg, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
  assert.ok(msg.includes(keys.b!.fp), msg);
  assert.ok(msg.includes(`Offending ED25519 key in ${f}:2`), msg);
  // A key of another type on record is a change too, never a new host.
  assert.equal(verifyHostKey(loadKnownHosts([f]), 'host2', 22, keys.r!.blob).kind, 'changed');
});

test('hashed entries written by ssh-keygen -H match; wrong host does not', () => {
  const f = join(dir, 'kh_hashed');
  writeFileSync(f, `hashme ${pub('a')}\n[hashme]:2200 ${pub('b')}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
  const text = readFileSync(f, 'utf8');
  assert.ok(!text.includes('hashme'), 'ssh-keygen hashed the file');
  const e = parseKnownHosts(text, f);
  assert.equal(verifyHostKey(e, 'hashme', 22, keys.a!.blob).kind, 'ok');
  assert.equal(verifyHostKey(e, 'hashme', 2200, keys.b!.blob).kind, 'ok');
  assert.equal(verifyHostKey(e, 'hashme', 2200, keys.a!.blob).kind, 'changed');
  assert.equal(verifyHostKey(e, 'hashmf', 22, keys.a!.blob).kind, 'unknown');
});

test('@revoked refuses; @cert-authority is never taken for the host key', () => {
  const e = parseKnownHosts(`@cert-authority *.lab ${pub('a')}\n@revoked h3 ${pub('b')}\nh3 ${pub('b')}\n@bogus h4 ${pub('a')}\n`, 'f');
  assert.equal(verifyHostKey(e, 'x.lab', 22, keys.a!.blob).kind, 'unknown');
  assert.equal(verifyHostKey(e, 'h3', 22, keys.b!.blob).kind, 'revoked');
  assert.equal(verifyHostKey(e, 'h4', 22, keys.a!.blob).kind, 'unknown');
});

test('appended entries (plain and hashed) are found by ssh-keygen -F and by us', () => {
  for (const hashed of [false, true]) {
    const f = join(dir, `kh_append_${hashed}`);
    writeFileSync(f, `x ${pub('b')}`); // no final newline: must not be glued to our line
    appendKnownHost(f, '127.0.0.1', 2201, keys.a!.blob, hashed);
    const text = readFileSync(f, 'utf8');
    assert.equal(text.split('\n').filter((l) => l !== '').length, 2);
    assert.equal(text.includes('127.0.0.1'), !hashed);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', f], { encoding: 'utf8' });
    assert.ok(found.includes(keys.a!.line.split(' ')[1]!), found);
    assert.equal(verifyHostKey(loadKnownHosts([f]), '127.0.0.1', 2201, keys.a!.blob).kind, 'ok');
  }
  assert.equal(hostsMatch('|1|bad', 'x'), false);
});
