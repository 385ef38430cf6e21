// `record -o` is checked before anything attaches: a pseudo file system, a read-only mount, a
// directory, a full disk each fail in under a second with exit 2 and the reason; a save that still
// fails at the end goes to a fallback file. Mounts need root (the tests run as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-run.ts';
import { checkOutputFile, saveOrRescue } from '../../src/cli/output-file.ts';
import { loadSession, parseSession } from '../../src/core/session-io.ts';

const demo = () => parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');

function mountTmpfs(dir: string, opts: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'hostile-files', dir]);
}
function umount(dir: string): void {
  try {
    execFileSync('umount', [dir]);
  } catch {
    // not mounted
  }
}

/** `record` with a tracer that does not exist: only the -o check can answer before it is needed. */
async function recordTo(out: string): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = performance.now();
  const r = await runCli('record', '--kernel', '--stage', 'rx=tracepoint:net:netif_receive_skb', '--duration', '1', '--tracer', '/nonexistent/pktpath-tracer', '-o', out);
  return { code: r.code ?? -1, stderr: r.stderr, ms: performance.now() - t0 };
}

test('an unusable -o fails in under a second, before the tracer is looked for', async () => {
  const base = mkdtempSync(join(tmpdir(), 'hostile-files-out-'));
  const ro = join(base, 'ro');
  const full = join(base, 'full');
  try {
    mountTmpfs(ro, 'ro,size=1m');
    mountTmpfs(full, 'size=64k');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(full, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: that is the point
    }
    mkdirSync(join(base, 'adir'));
    execFileSync('mkfifo', [join(base, 'fifo')]);
    const cases: Array<[string, RegExp]> = [
      ['/proc/x.json', /\/proc is a kernel pseudo file system/],
      ['/sys/kernel/x.json', /\/sys\/kernel is a kernel pseudo file system/],
      [join(ro, 'x.pktpath.json'), /cannot write in .*: read-only file system/],
      [join(full, 'x.pktpath.json'), /cannot write in .*: no space left on the device/],
      [join(base, 'adir'), /is a directory/],
      [`${base}/`, /names a directory/],
      [join(base, 'fifo'), /exists and is not a regular file/],
      [join(base, 'nodir', 'x.json'), /directory .*nodir: no such directory/],
    ];
    for (const [out, re] of cases) {
      const r = await recordTo(out);
      assert.equal(r.code, 2, `${out}: ${r.stderr}`);
      assert.match(r.stderr, re, out);
      assert.ok(r.stderr.includes(`-o ${out}`), r.stderr);
      assert.ok(r.ms < 1000, `${out}: ${r.ms.toFixed(0)} ms`);
    }
    // no probe file is left behind
    assert.deepEqual(readdirSync(full), ['fill']);
    // a writable place passes the check and the tracer is the next thing missing
    const ok = await recordTo(join(base, 'ok.pktpath.json'));
    assert.doesNotMatch(ok.stderr, /-o /);
    assert.deepEqual(readdirSync(base).sort(), ['adir', 'fifo', 'full', 'ro']);
  } finally {
    umount(ro);
    umount(full);
    rmSync(base, { recursive: true, force: true });
  }
});

test('a save that fails at the end goes to the fallback, never lost', async () => {
  const base = mkdtempSync(join(tmpdir(), 'hostile-files-rescue-'));
  const dir = join(base, 'out');
  const rescue = join(base, 'rescue');
  mkdirSync(rescue);
  try {
    mountTmpfs(dir, 'size=1m');
    const out = join(dir, 'run.pktpath.json');
    assert.equal(checkOutputFile(out), out);
    // the directory becomes unwritable while recording
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    let said = '';
    const r = await saveOrRescue(out, demo(), { out: () => {}, err: (t) => (said += t) }, [join(base, 'nowhere', 'x'), join(rescue, 'r.pktpath.json')]);
    assert.equal(r.fallback, true);
    assert.equal(r.path, join(rescue, 'r.pktpath.json'));
    assert.match(said, /could not save to .*run\.pktpath\.json \(read-only file system\); the session is saved to .*r\.pktpath\.json instead/);
    assert.equal((await loadSession(r.path)).stages.length, 5);
    assert.equal(existsSync(out), false);
    // chmod does not stop root; a ro remount does. Both writable again: the file itself is written.
    execFileSync('mount', ['-o', 'remount,rw', dir]);
    chmodSync(dir, 0o755);
    const again = await saveOrRescue(out, demo(), { out: () => {}, err: () => {} }, []);
    assert.deepEqual(again, { path: out, fallback: false });
    writeFileSync(join(base, 'done'), '');
  } finally {
    umount(dir);
    rmSync(base, { recursive: true, force: true });
  }
});
