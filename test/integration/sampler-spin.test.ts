// The sampler on a real spinning process: hot_a burns 3x the CPU of hot_b (test/targets/spin.c),
// so the profile must name both with shares near 75/25, carry the binary's build-id, and hold
// about hz x (CPU seconds the target used) samples. Run as root:
//   node --import tsx --test test/integration/sampler-spin.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSampler,
  buildTracer,
  profile,
  readelfBuildId,
  record,
  startTarget,
  userLeafCounts,
  type Driver,
} from './sampler-run.ts';

const HZ = 999;
const SECONDS = 3;
let tracerBuildError: string | null = null;

before(() => {
  buildSampler();
  tracerBuildError = buildTracer();
});

async function spinCase(driver: Driver, t: { diagnostic(msg: string): void }): Promise<void> {
  const target = await startTarget('spin', SECONDS + 20);
  try {
    const rec = await record(driver, target.pid, HZ, SECONDS);
    assert.equal(rec.exitCode, 0, `recorder failed: ${rec.stderr}`);
    assert.deepEqual(rec.decodeWarnings, [], 'every line is a valid stream record');
    const p = profile(rec.records);
    assert.deepEqual(p.problems, []);

    // shares of the two hot functions, at the innermost user frame
    const counts = userLeafCounts(p);
    const a = counts.get('hot_a') ?? 0;
    const b = counts.get('hot_b') ?? 0;
    const total = [...counts.values()].reduce((x, y) => x + y, 0);
    t.diagnostic(`leaf counts: ${JSON.stringify([...counts])}`);
    assert.ok(a > 0 && b > 0, 'both hot functions are named');
    assert.ok((a + b) / total > 0.9, `hot_a + hot_b hold ${a + b} of ${total} samples`);
    const shareA = (100 * a) / (a + b);
    assert.ok(Math.abs(shareA - 75) <= 10, `hot_a share ${shareA.toFixed(1)}% (want 75 +- 10)`);

    // frames of the target binary carry its build-id and an ELF address inside hot_a/hot_b
    const own = [...p.frames.values()].filter((f) => f.module === target.exe);
    assert.ok(own.length > 0, 'frames in the target binary');
    const bid = readelfBuildId(target.exe);
    for (const f of own) assert.equal(f.build_id, bid, `build-id of ${f.fn}`);
    assert.ok(own.every((f) => typeof f.elf_addr === 'string' && /^0x[0-9a-f]+$/.test(f.elf_addr)));

    // sample count against the CPU time the target really got over the same intervals
    const expected = HZ * rec.cpuBetweenTicks;
    const rate = rec.samplesBetweenTicks / rec.wallBetweenTicks;
    t.diagnostic(
      `${driver}: ${rec.samplesBetweenTicks} samples over ${rec.ticks - 1} intervals; target CPU ` +
        `${rec.cpuBetweenTicks.toFixed(2)} s of ${rec.wallBetweenTicks.toFixed(2)} s wall -> expected ` +
        `${expected.toFixed(0)}; ${rate.toFixed(0)} samples/s vs ${HZ} Hz requested`,
    );
    assert.ok(rec.ticks >= SECONDS, `one tick per second (${rec.ticks})`);
    assert.ok(rec.cpuBetweenTicks > 0.2, 'the target got CPU time to sample (a crowded machine may give it little)');
    assert.ok(
      Math.abs(rec.samplesBetweenTicks / expected - 1) < 0.15,
      `samples ${rec.samplesBetweenTicks} within 15% of hz x cpu = ${expected.toFixed(0)}`,
    );
    const lost = rec.records.reduce((n, r) => n + (r.type === 'tick' ? r.lost : 0), 0);
    assert.equal(lost, 0, 'no samples lost');
  } finally {
    target.stop();
  }
}

test('sampler API alone: shares, build-ids, sample count on a spinning target', async (t) => {
  await spinCase('sampler', t);
});

test('pktpath-tracer --pid --sample-hz with no stages: the same profile', async (t) => {
  assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
  await spinCase('tracer', t);
});
