// `pktpath diff` as a regression gate, on the recorded demo: in-process through main(), and the
// real process once for the exit code a CI script sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSession, saveSession } from '../../src/core/session-io.ts';
import type { Session, SessionStage } from '../../src/core/session.ts';
import { runCli, runCliProcess } from '../helpers/cli-run.ts';

let dir = '';
let a = '';
let b = '';

const cli = runCli;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pktpath-diff-'));
  const s = parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');
  // fwd_parse three times as slow per call, everywhere the session says so
  const slow = (st: SessionStage): SessionStage => st.name !== 'fwd_parse' ? st : {
    ...st, sum_ns: st.sum_ns * 3, timeline: st.timeline.map((p) => ({ ...p, sum_ns: p.sum_ns * 3 })),
    buckets: st.buckets.map(([i, c]) => [i + 16, c] as [number, number]),
  };
  a = join(dir, 'a.pktpath.json');
  b = join(dir, 'b.pktpath.json');
  await saveSession(a, s);
  await saveSession(b, { ...s, stages: s.stages.map(slow) } as Session);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--json gives per stage delta_ns_per_packet, delta_pct and significant', async () => {
  const r = await cli('diff', a, b, '--json');
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { stages: Array<{ name: string; delta_ns_per_packet: number; delta_pct: number; significant: boolean }> };
  const parse = d.stages.find((s) => s.name === 'fwd_parse')!;
  assert.ok(parse.delta_ns_per_packet > 0 && parse.delta_pct > 100);
  assert.equal(parse.significant, true);
  assert.equal(d.stages.find((s) => s.name === 'fwd_tx')!.significant, false);
});

test('--fail-if-slower exits 3 on a significant slowdown past the threshold, 0 otherwise', async () => {
  const slow = await cli('diff', a, b, '--fail-if-slower', '10');
  assert.equal(slow.code, 3, slow.stdout + slow.stderr);
  assert.match(slow.stdout, /SLOWER: fwd_parse \+\d+\.\d%/);
  assert.equal((await cli('diff', a, b, '--fail-if-slower', '100000')).code, 0);
  assert.equal((await cli('diff', b, a, '--fail-if-slower', '10')).code, 0, 'faster is no regression');
  assert.equal((await cli('diff', a, a, '--fail-if-slower', '0')).code, 0, 'identical sessions');
  const bad = await cli('diff', a, b, '--fail-if-slower', 'ten');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fail-if-slower expects a number/);
});

test('the real process exits 3 on a significant slowdown, as a CI script sees it', () => {
  const r = runCliProcess('diff', a, b, '--fail-if-slower', '10');
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /SLOWER: fwd_parse/);
});
