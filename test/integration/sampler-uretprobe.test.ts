// Stage probes in exact mode put a uretprobe on each stage function: while one is pending, the
// function's return address on the stack is the kernel's uprobe trampoline ([uprobes]). The
// sampler puts the real return address back (sample.bpf.c reads the thread's return_instances):
// samples inside the stage show its real caller, with either unwinder.
//   node --import tsx --test test/integration/sampler-uretprobe.test.ts   (root)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildTracer, profile, record, startTarget } from './sampler-run.ts';

let tracerBuildError: string | null = null;

before(() => {
  tracerBuildError = buildTracer();
});

for (const unwind of ['dwarf', 'fp']) {
  test(`--unwind ${unwind}: samples inside a stage with a pending uretprobe show its real caller`, async (t) => {
    assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
    // spin.c: main calls hot_a (a leaf, no frame of its own at -O2) in a loop
    const target = await startTarget('spin', 25);
    try {
      const rec = await record('tracer', target.pid, 499, 3, [
        '--stage', `hot=uprobe:${target.exe}:hot_a`, '--unwind', unwind, '--no-calibrate',
      ]);
      assert.equal(rec.exitCode, 0, rec.stderr);
      assert.deepEqual(rec.decodeWarnings, []);
      // the stage's probes ran: its uretprobe was pending in the samples below
      const calls = rec.records.reduce((n, r) => n + (r.type === 'hist' && r.stage === 0 ? r.calls : 0), 0);
      assert.ok(calls > 50, `hot_a calls timed by the stage probes: ${calls}`);

      const p = profile(rec.records);
      assert.deepEqual(p.problems, []);
      let inStage = 0;
      let withMain = 0;
      const bad = new Map<string, number>();
      for (const s of p.stacks) {
        const user = s.frames.map((id) => p.frames.get(id)).filter((f) => f !== undefined && !f.kernel);
        if (user[0]?.fn !== 'hot_a') continue;
        inStage += s.count;
        const next = user[1];
        if (next?.fn === 'main' && next.module === target.exe) withMain += s.count;
        else {
          const line = user.map((f) => `${f?.module === '[uprobes]' ? '[uprobes] ' : ''}${f?.fn}`).join(' > ');
          bad.set(line, (bad.get(line) ?? 0) + s.count);
        }
      }
      t.diagnostic(`${unwind}: ${inStage} samples in hot_a, ${withMain} with main as its caller`);
      for (const [line, n] of bad) t.diagnostic(`${n}x ${line}`);
      assert.ok(inStage > 300, `samples in hot_a: ${inStage}`);
      // a sample whose chain was lost keeps the trampoline frame rather than a guessed caller:
      // rare (a ring overrun), never most of them
      assert.ok(withMain / inStage > 0.97, `main follows hot_a in ${withMain} of ${inStage} samples`);
      const trampolines = [...p.frames.values()].filter((f) => f.module === '[uprobes]');
      const trampolineStacks = p.stacks.filter((s) => {
        const user = s.frames.map((id) => p.frames.get(id)).filter((f) => f !== undefined && !f.kernel);
        // the trampoline as the sampled pc (the return path running in it) is real; as a caller it is not
        return user.slice(1).some((f) => f?.module === '[uprobes]');
      });
      t.diagnostic(`[uprobes] frames: ${trampolines.length}, stacks with one as a caller: ${trampolineStacks.length}`);
      assert.ok(
        trampolineStacks.reduce((n, s) => n + s.count, 0) <= inStage * 0.03,
        'the trampoline stands for a caller in almost no sample',
      );
    } finally {
      target.stop();
    }
  });
}
