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

interface Case {
  what: string;
  target: string;
  /** stage functions, each with a uretprobe */
  stages: string[];
  /** the sampled function, and its callers in order (outward) */
  leaf: string;
  callers: string[];
}

const cases: Case[] = [
  // spin.c: main calls hot_a (a leaf, no frame of its own at -O2) in a loop
  { what: 'one pending uretprobe', target: 'spin', stages: ['hot_a'], leaf: 'hot_a', callers: ['main'] },
  // scan_nofp.c: main > stage_outer > nofp_work (no frame pointer): two at once, both put back
  {
    what: 'two nested pending uretprobes', target: 'scan_nofp', stages: ['stage_outer', 'nofp_work'],
    leaf: 'nofp_work', callers: ['stage_outer', 'main'],
  },
];

for (const unwind of ['dwarf', 'fp']) for (const c of cases) {
  test(`--unwind ${unwind}, ${c.what}: samples inside the stage show its real callers`, async (t) => {
    assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
    const target = await startTarget(c.target, 25);
    try {
      const stageFlags = c.stages.flatMap((fn) => ['--stage', `${fn}=uprobe:${target.exe}:${fn}`]);
      const rec = await record('tracer', target.pid, 499, 3, [...stageFlags, '--unwind', unwind, '--no-calibrate']);
      assert.equal(rec.exitCode, 0, rec.stderr);
      assert.deepEqual(rec.decodeWarnings, []);
      // the stage's probes ran: its uretprobe was pending in the samples below
      c.stages.forEach((fn, id) => {
        const calls = rec.records.reduce((n, r) => n + (r.type === 'hist' && r.stage === id ? r.calls : 0), 0);
        assert.ok(calls > 50, `${fn} calls timed by the stage probes: ${calls}`);
      });

      const p = profile(rec.records);
      assert.deepEqual(p.problems, []);
      let inStage = 0;
      let withCallers = 0;
      const bad = new Map<string, number>();
      for (const s of p.stacks) {
        const user = s.frames.map((id) => p.frames.get(id)).filter((f) => f !== undefined && !f.kernel);
        if (user[0]?.fn !== c.leaf) continue;
        inStage += s.count;
        const next = user.slice(1, 1 + c.callers.length);
        if (c.callers.every((fn, i) => next[i]?.fn === fn && next[i]?.module === target.exe)) withCallers += s.count;
        else {
          const line = user.map((f) => `${f?.module === '[uprobes]' ? '[uprobes] ' : ''}${f?.fn}`).join(' > ');
          bad.set(line, (bad.get(line) ?? 0) + s.count);
        }
      }
      t.diagnostic(`${unwind}: ${inStage} samples in ${c.leaf}, ${withCallers} with ${c.callers.join(' > ')} as its callers`);
      for (const [line, n] of bad) t.diagnostic(`${n}x ${line}`);
      assert.ok(inStage > 300, `samples in ${c.leaf}: ${inStage}`);
      // a sample whose chain was lost keeps the trampoline frame rather than a guessed caller:
      // rare (a ring overrun), never most of them
      assert.ok(withCallers / inStage > 0.97, `${c.callers.join(' > ')} follow ${c.leaf} in ${withCallers} of ${inStage} samples`);
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
