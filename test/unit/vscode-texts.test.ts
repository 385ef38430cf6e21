// The editor's pure parts: costs per function, hover text, file names, status line, error hints,
// stage specs, ssh config hosts. The session comes from the committed tracer stream fixture through
// the real decoder and recorder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import { buildReport } from '../../src/core/report.ts';
import type { Session } from '../../src/core/session.ts';
import { fmtNs, fmtShare, functionCosts, processLabel } from '../../src/vscode/stage-costs.ts';
import { costMarkdown } from '../../src/vscode/cost-text.ts';
import { hint, sessionFileName, statusText } from '../../src/vscode/recording-text.ts';
import { stageSpecs } from '../../src/vscode/stage-specs.ts';
import { sshConfigHosts } from '../../src/vscode/ssh-hosts.ts';

function fixtureSession(): Session {
  const rec = new Recorder({ host: 'localhost', pid: 4242, command: '/opt/fwd --eal', created: new Date('2026-01-02T03:04:05Z') });
  const dec = new StreamDecoder({ strict: true });
  for (const ev of dec.push(readFileSync('test/fixtures/stream-demo.jsonl'))) rec.event(ev);
  return rec.finish();
}

test('function costs: stage rows by probed symbol, samples by function', () => {
  const s = fixtureSession();
  const c = functionCosts(s);
  const report = buildReport(s);
  assert.deepEqual(c.byStageSymbol.get('fwd_rx'), report.stages[0]);
  assert.deepEqual(c.byStageSymbol.get('fwd_route_lookup'), report.stages[1]);
  assert.equal(c.samples, 60);
  assert.deepEqual({ ...c.bySampledFn.get('fwd_rx')! }, { fn: 'fwd_rx', self: 50, total: 50, share: 50 / 60 });
  assert.equal(c.bySampledFn.get('main')!.total, 60);
  assert.equal(c.bySampledFn.get('main')!.self, 0);
  assert.equal(c.slowest?.name, report.slowest);
  assert.equal(processLabel(s), 'fwd (4242)');
});

test('hover text shows the report numbers and says whether probe cost was subtracted', () => {
  const s = fixtureSession();
  const c = functionCosts(s);
  const row = buildReport(s).stages[0]!;
  const md = costMarkdown('fwd_rx', c, 'x.pktpath.json')!;
  assert.ok(md.includes(`**${fmtNs(row.ns_per_packet)}** (${fmtShare(row.share)} of the path)`), md);
  assert.ok(md.includes(`${fmtNs(row.p50_ns)} / ${fmtNs(row.p99_ns)} / ${fmtNs(row.p999_ns)}`), md);
  assert.match(md, row.corrected ? /subtracted\b/ : /not subtracted|not measured/);
  assert.match(md, /CPU samples: 50 of 60 \(83\.3%\) on the stack, 50 in the function itself/);
  assert.match(costMarkdown('main', c, 'x')!, /CPU samples: 60 of 60/);
  assert.equal(costMarkdown('usage', c, 'x'), null);
});

test('formatting of nanoseconds and shares', () => {
  assert.equal(fmtNs(12.34), '12.3 ns');
  assert.equal(fmtNs(1234), '1.23 µs');
  assert.equal(fmtNs(123456), '123 µs');
  assert.equal(fmtNs(2.5e6), '2.50 ms');
  assert.equal(fmtNs(null), '–');
  assert.equal(fmtShare(0.1234), '12.3%');
});

test('session file names are safe whatever the host and command are', () => {
  const s = fixtureSession();
  const now = new Date('2026-11-26T15:04:05.123Z');
  assert.equal(sessionFileName(s, now), 'localhost-fwd-20261126-150405.pktpath.json');
  const hostile = { ...s, target: { ...s.target, host: '../../etc/x y', command: '/tmp/a b/../$(rm -rf)/fw d' } };
  const n = sessionFileName(hostile, now);
  assert.ok(!n.includes('/') && !n.startsWith('.') && n.endsWith('.pktpath.json'), n);
  assert.equal(sessionFileName({ ...s, target: { ...s.target, kernel: true, pid: null } }, now), 'localhost-kernel-20261126-150405.pktpath.json');
});

test('status line: packets per second and the weakest link', () => {
  const s = fixtureSession();
  const r = buildReport(s);
  const t = statusText(s);
  const pps = Math.max(...r.stages.map((x) => x.packets_per_s ?? 0));
  assert.ok(t.startsWith(`${(pps / 1e3).toFixed(1)} kpps`), t);
  assert.ok(t.includes(`weakest: ${r.slowest}`), t);
});

test('errors say what to do', () => {
  assert.match(hint('sudo: a password is required'), /passwordless sudo/);
  const privilege = "u@h is not root ...\n  - sudo -n: sudo: a password is required\n  setcap cap_bpf,cap_perfmon+ep '/p'";
  assert.equal(hint(privilege), privilege, 'the privilege message is complete as it is');
  assert.match(hint('connect ECONNREFUSED 10.0.0.1:22'), /sshd runs/);
  assert.match(hint('pktpath-tracer not found (looked at x)'), /pktpath.tracerPath/);
  assert.equal(hint('something else'), 'something else');
});

test('stage specs from bare names use the guessed packet counts; NAME=SPEC passes through', () => {
  const sig = new Map([['fwd_rx', 'ret' as const], ['fwd_parse', 'arg1' as const], ['helper', 'one' as const]]);
  assert.deepEqual(stageSpecs(['fwd_rx', 'fwd_parse', 'helper', 'x=usdt:/b:p:n'], '/opt/fwd', sig), [
    'fwd_rx=uprobe:/opt/fwd:fwd_rx:packets=ret', 'fwd_parse=uprobe:/opt/fwd:fwd_parse:packets=arg1', 'helper=uprobe:/opt/fwd:helper', 'x=usdt:/b:p:n',
  ]);
});

test('ssh config hosts: aliases without patterns, Include followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-sshcfg-'));
  try {
    writeFileSync(join(dir, 'extra'), 'Host lab-b\n  HostName 10.0.0.2\n');
    writeFileSync(join(dir, 'config'), `# comment\nHost lab-a lab-*\n  User root\nInclude ${join(dir, 'extra')}\nHost *\n  ServerAliveInterval 5\nHost=router "r 2"\n`);
    assert.deepEqual(sshConfigHosts(join(dir, 'config')), ['lab-a', 'lab-b', 'router', 'r 2']);
    assert.deepEqual(sshConfigHosts(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
