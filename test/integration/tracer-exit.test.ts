// How fast the tracer lets go once its controller is gone (stdin EOF, e.g. a dropped SSH session):
// uprobe stages are multi-uprobe links, so the kernel waits for one grace period per link pair,
// not one per site (per-site links took 0.1-0.3 s each here: 1-2.4 s for 10 stages).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { bpfHeldBy, bpfStillThere, buildTracer, runTracer, sleep } from './tracer-util.ts';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const SYMS = ['getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'time', 'gettimeofday', 'clock_gettime', 'nanosleep'];

before(() => buildTracer());

for (const n of [5, 10]) {
  test(`stdin EOF with ${n} uprobe stages: the tracer is gone within 2 s and holds nothing`, { timeout: 60_000 }, async () => {
    // the target calls getppid about 2000 times a second, so the probes see real calls
    const target = spawn('python3', ['-c', 'import os,time\nwhile True:\n  os.getppid(); time.sleep(0.0005)'], { stdio: 'ignore' });
    try {
      const args = ['--pid', String(target.pid), '--no-calibrate', '--interval-ms', '200'];
      for (const s of SYMS.slice(0, n)) args.push('--stage', `${s}=uprobe:${LIBC}:${s}`);
      const run = runTracer(args);
      await run.ready;
      await sleep(600);
      const held = bpfHeldBy(run.proc.pid!);
      // all sites are in one binary: one entry and one return link (20 links per-site for 10 stages)
      assert.equal(held.links.length, 2, `links held: ${held.links.join(',')}`);
      const t0 = performance.now();
      run.proc.stdin!.end();
      const code = await run.exited;
      const ms = performance.now() - t0;
      console.log(JSON.stringify({ stages: n, exit_ms: Math.round(ms), links: held.links.length }));
      assert.equal(code, 0, run.stderr());
      assert.ok(ms < 2000, `exit took ${ms.toFixed(0)} ms after stdin EOF`);
      const bye = run.records.find((r) => r.type === 'bye');
      assert.equal(bye?.type === 'bye' ? bye.reason : undefined, 'stdin');
      // a multi-uprobe link's program is freed after an RCU tasks-trace grace period, a moment after
      // the process is gone: nothing holds it, the kernel frees it on its own
      let left = bpfStillThere(held);
      for (let i = 0; i < 30 && (left.progs.length || left.links.length); i++) {
        await sleep(100);
        left = bpfStillThere(held);
      }
      assert.deepEqual(left, { progs: [], links: [] });
      const calls = run.records.filter((r) => r.type === 'hist' && r.stage === 1).reduce((a, r) => a + (r.type === 'hist' ? r.calls : 0), 0);
      assert.ok(calls > 100, `getppid stage counted ${calls} calls`);
    } finally {
      target.kill('SIGKILL');
    }
  });
}
