// `pktpath diff` as a regression gate: a real `node` process per command, on the recorded demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSession, saveSession } from '../../src/core/session-io.ts';
import type { Session, SessionStage } from '../../src/core/session.ts';

let dir = '';
let a = '';
let b = '';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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

test('--json gives per stage delta_ns_per_packet, delta_pct and significant', () => {
  const r = cli('diff', a, b, '--json');
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { stages: Array<{ name: string; delta_ns_per_packet: number; delta_pct: number; significant: boolean }> };
  const parse = d.stages.find((s) => s.name === 'fwd_parse')!;
  assert.ok(parse.delta_ns_per_packet > 0 && parse.delta_pct > 100);
  assert.equal(parse.significant, true);
  assert.equal(d.stages.find((s) => s.name === 'fwd_tx')!.significant, false);
});

test('--fail-if-slower exits 3 on a significant slowdown past the threshold, 0 otherwise', () => {
  const slow = cli('diff', a, b, '--fail-if-slower', '10');
  assert.equal(slow.code, 3, slow.stdout + slow.stderr);
  assert.match(slow.stdout, /SLOWER: fwd_parse \+\d+\.\d%/);
  assert.equal(cli('diff', a, b, '--fail-if-slower', '100000').code, 0);
  assert.equal(cli('diff', b, a, '--fail-if-slower', '10').code, 0, 'faster is no regression');
  assert.equal(cli('diff', a, a, '--fail-if-slower', '0').code, 0, 'identical sessions');
  const bad = cli('diff', a, b, '--fail-if-slower', 'ten');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fail-if-slower expects a number/);
});
