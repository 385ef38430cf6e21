import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capsInMask, helloAllowsBpf, parseGetcap, privilegeMessage, setcapCommand } from '../../src/remote/privilege.ts';

test('getcap output, new and old libcap formats', () => {
  const m = parseGetcap('/a/pktpath-tracer cap_perfmon,cap_bpf=ep\n/b/x = cap_bpf,cap_perfmon+ep\n/c/y cap_bpf=p cap_perfmon+ei\n/d/z =ep\n');
  assert.deepEqual(m.get('/a/pktpath-tracer'), ['cap_perfmon', 'cap_bpf']);
  assert.deepEqual(m.get('/b/x'), ['cap_bpf', 'cap_perfmon']);
  assert.deepEqual(m.get('/c/y'), [], 'permitted only or inheritable: not effective and permitted');
  assert.ok(m.get('/d/z')?.includes('cap_sys_admin'), '=ep is every capability');
  assert.equal(parseGetcap('getcap: /nope: No such file\n').size, 0);
});

test('capability mask bits from /proc status', () => {
  assert.deepEqual(capsInMask('000000c000000000'), ['cap_perfmon', 'cap_bpf']);
  assert.deepEqual(capsInMask('0000000000000000'), []);
  assert.ok(capsInMask('000001ffffffffff').includes('cap_sys_admin'));
  assert.deepEqual(capsInMask('zz'), []);
});

test('hello says whether BPF is allowed; no hello is undefined', () => {
  assert.equal(helloAllowsBpf('noise\n{"type":"hello","features":{"bpf_allowed":true}}\n'), true);
  assert.equal(helloAllowsBpf('{"type":"hello","features":{"bpf_allowed":false}}'), false);
  assert.equal(helloAllowsBpf('{"type":"error","message":"x"}\n'), undefined);
});

test('the message names what is missing, the sudo reason and the one fixing command', () => {
  const path = '/home/u/.cache/pktpath/tracer-' + 'a'.repeat(64) + '/pktpath-tracer';
  const { message, missing } = privilegeMessage({
    host: 'lab1', user: 'u', uid: 1001, path, fileCaps: ['cap_bpf'], userCaps: [],
    sudo: 'sudo: a password is required', cappedElsewhere: ['/home/u/.cache/pktpath/tracer-b/pktpath-tracer'],
  });
  assert.deepEqual(missing, ['CAP_PERFMON']);
  assert.match(message, /u@lab1 \(uid 1001\) is not root/);
  assert.match(message, /lacks CAP_PERFMON \(file capabilities: cap_bpf; the login's: none\)/);
  assert.match(message, /sudo -n: sudo: a password is required/);
  assert.match(message, /tracer-b\/pktpath-tracer has them, but this version is a new file/);
  assert.ok(message.includes(`  setcap cap_bpf,cap_perfmon+ep '${path}'`), message);
  assert.match(message, /cap_sys_ptrace,cap_dac_read_search to trace processes of other users/);
});

test('capabilities held but not effective: said so', () => {
  const { message } = privilegeMessage({
    host: 'h', user: 'u', uid: 5, path: '/p', fileCaps: ['cap_bpf', 'cap_perfmon'], userCaps: [], sudo: 'sudo: not found', cappedElsewhere: [],
  });
  assert.match(message, /has cap_bpf,cap_perfmon but they did not take effect \(a file system mounted nosuid/);
  assert.equal(setcapCommand("/x y/it's", true), `setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+ep '/x y/it'\\''s'`);
});
