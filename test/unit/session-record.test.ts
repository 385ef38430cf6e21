// recordSession's process handling with the real local transport and stand-in tracers (small
// shell scripts replaying a recorded stream): the polite stop, escalation to SIGTERM/SIGKILL when
// a tracer does not stop, and partial sessions when it dies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalTransport } from '../../src/remote/local.ts';
import { recordSession } from '../../src/tracer/record-session.ts';

const FIXTURE = resolve('test/fixtures/stream-demo.jsonl'); // 20 lines; line 13 closes interval 1
let dir = '';

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/bash\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pktpath-rs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const STAGE = ['rx=uprobe:/opt/fwd:fwd_rx:packets=ret'];

test('stop closes stdin; the tracer finishes its stream and says bye', { timeout: 30_000 }, async () => {
  const tracer = script('polite.sh', `head -n 13 '${FIXTURE}'; cat >/dev/null; tail -n +14 '${FIXTURE}'`);
  const stop = new AbortController();
  const snaps: number[] = [];
  const s = await recordSession(new LocalTransport(), { pid: 4242, stages: STAGE, tracer, signal: stop.signal }, {
    onReady: () => setTimeout(() => stop.abort(), 200),
    onSnapshot: (x) => snaps.push(x.duration_s),
  });
  assert.equal(s.partial, false, s.partial_reason ?? '');
  assert.equal(s.end_reason, 'stdin');
  assert.equal(s.stages[0]!.calls, 200);
  assert.deepEqual(snaps, [1, 2]);
  assert.deepEqual(s.errors, []);
});

test('a tracer that ignores stdin and SIGTERM is killed; what arrived is kept', { timeout: 30_000 }, async () => {
  const tracer = script('stubborn.sh', `head -n 13 '${FIXTURE}'; trap '' TERM; cat >/dev/null; exec sleep 60`);
  const stop = new AbortController();
  const t0 = Date.now();
  const s = await recordSession(new LocalTransport(), { pid: 4242, stages: STAGE, tracer, signal: stop.signal, stopTimeoutMs: 400 }, {
    onReady: () => setTimeout(() => stop.abort(), 100),
  });
  assert.ok(Date.now() - t0 < 10_000, 'escalated within the timeouts');
  assert.equal(s.partial, true);
  assert.match(s.partial_reason ?? '', /killed by SIGKILL/);
  assert.equal(s.stages[0]!.calls, 100, 'the closed interval is kept');
  assert.equal(s.duration_s, 1);
});

test('a tracer that dies mid-line: partial, the torn line reported, earlier data kept', { timeout: 30_000 }, async () => {
  const tracer = script('crash.sh', `head -n 15 '${FIXTURE}'; head -c 30 <(sed -n 16p '${FIXTURE}'); echo 'segfault-ish' >&2; exit 139`);
  const errors: string[] = [];
  const s = await recordSession(new LocalTransport(), { pid: 4242, stages: STAGE, tracer }, { onError: (m) => errors.push(m) });
  assert.equal(s.partial, true);
  assert.match(s.partial_reason ?? '', /exited with status 139: segfault-ish/);
  assert.ok(s.warnings.some((w) => /line 16: truncated final line/.test(w)));
  assert.equal(s.stages[0]!.calls, 200, 'interval 1 plus the unclosed interval 2 hist');
  assert.equal(s.duration_s, 1);
  assert.ok(errors.some((e) => /segfault-ish/.test(e)));
});

test('a hard stop (second Ctrl-C) terminates a tracer that ignores stdin at once', { timeout: 30_000 }, async () => {
  const tracer = script('deaf.sh', `head -n 13 '${FIXTURE}'; exec sleep 60 </dev/null`);
  const stop = new AbortController();
  const kill = new AbortController();
  const t0 = Date.now();
  const s = await recordSession(new LocalTransport(), { pid: 4242, stages: STAGE, tracer, signal: stop.signal, killSignal: kill.signal, stopTimeoutMs: 20_000 }, {
    onReady: () => {
      stop.abort();
      setTimeout(() => kill.abort(), 200);
    },
  });
  assert.ok(Date.now() - t0 < 10_000, 'did not wait for the 20 s stop timeout');
  assert.equal(s.partial, true);
  assert.match(s.partial_reason ?? '', /killed by SIGTERM/);
  assert.equal(s.stages[0]!.calls, 100);
});
