// A recording is never thrown away: the directory of -o turns read-only while `pktpath record`
// runs (a real tracer, a kernel tracepoint stage); the session is saved to the fallback file in
// $TMPDIR, its path printed, and the exit status says the save did not go where asked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecord, stopRecord, type RecordRun } from './record-helpers.ts';
import { loadSession } from '../../src/core/session-io.ts';

const base = mkdtempSync(join(tmpdir(), 'hostile-files-rec-'));
const outDir = join(base, 'out');
const rescue = join(base, 'rescue');
let rec: RecordRun | undefined;

after(() => {
  if (rec && rec.child.exitCode === null) rec.child.kill('SIGKILL');
  try {
    execFileSync('umount', [outDir]);
  } catch {
    // not mounted
  }
  rmSync(base, { recursive: true, force: true });
});

test('record: -o turns read-only mid-run; the session goes to the fallback file', { timeout: 120_000 }, async () => {
  mkdirSync(outDir);
  mkdirSync(rescue);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'hostile-files', outDir]);
  const out = join(outDir, 'run.pktpath.json');
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = rescue; // the child inherits it: the fallback lands here
  try {
    rec = startRecord(['--kernel', '--stage', 'rx=tracepoint:net:netif_receive_skb', '--duration', '60', '-o', out]);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  await rec.ready;
  execFileSync('mount', ['-o', 'remount,ro', outDir]);
  const code = await stopRecord(rec);
  const err = rec.stderr();
  assert.equal(code, 1, err);
  const m = /could not save to .*run\.pktpath\.json \(read-only file system\); the session is saved to (\S+) instead/.exec(err);
  assert.ok(m, err);
  assert.ok(m[1]!.startsWith(rescue), m[1]);
  const s = await loadSession(m[1]!);
  assert.equal(s.stages[0]?.name, 'rx');
  assert.deepEqual(readdirSync(outDir), []);
});
