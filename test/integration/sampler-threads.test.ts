// Threads that start after sampling began are sampled too (each drain re-reads /proc/PID/task
// and gives new threads their own task-clock event): test/targets/spin_threads.c starts two
// spinning threads 1.5 s in. Run as root: node --import tsx --test test/integration/sampler-threads.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildSampler, buildTracer, cpuSeconds, profile, record, startTarget, type Driver } from './sampler-run.ts';

const HZ = 999;
let tracerBuildError: string | null = null;

before(() => {
  buildSampler();
  tracerBuildError = buildTracer();
});

async function threadsCase(driver: Driver, t: { diagnostic(msg: string): void }): Promise<void> {
  const target = await startTarget('spin_threads', 30, ['1.5']);
  try {
    const cpu0 = cpuSeconds(target.pid);
    const rec = await record(driver, target.pid, HZ, 5);
    assert.equal(rec.exitCode, 0, rec.stderr);
    assert.deepEqual(rec.decodeWarnings, []);
    const p = profile(rec.records);
    assert.deepEqual(p.problems, []);
    const tids = new Map<number, number>();
    for (const s of p.stacks) {
      if (s.frames.some((id) => p.frames.get(id)?.fn === 'worker_hot')) tids.set(s.tid, (tids.get(s.tid) ?? 0) + s.count);
    }
    t.diagnostic(`${driver}: worker_hot samples by thread ${JSON.stringify([...tids])}; ` +
      `${rec.samplesBetweenTicks} samples vs ${(HZ * rec.cpuBetweenTicks).toFixed(0)} = hz x CPU s between ticks ` +
      `(target CPU over the whole run ${(cpuSeconds(target.pid) - cpu0).toFixed(2)} s)`);
    assert.equal(tids.size, 2, 'both late threads sampled');
    assert.ok(!tids.has(target.pid), 'the main thread only sleeps');
    // a new thread is picked up at the next drain: at most one interval of its samples is missed
    const expected = HZ * rec.cpuBetweenTicks;
    assert.ok(rec.samplesBetweenTicks > 0.6 * expected && rec.samplesBetweenTicks < 1.1 * expected,
      `samples ${rec.samplesBetweenTicks} vs ${expected.toFixed(0)}`);
  } finally {
    target.stop();
  }
}

test('late threads through the sampler API', async (t) => {
  await threadsCase('sampler', t);
});

test('late threads through pktpath-tracer', async (t) => {
  assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
  await threadsCase('tracer', t);
});
