// Sampled mode on a thread that runs in short bursts and sleeps in between (such threads
// looked undersampled: samples/hz 17% below /proc/PID/schedstat on the demo forwarder).
//
// The cause is on the schedstat side: the scheduler starts a woken thread's clock at its wakeup
// (when the wakeup preempts the idle task the run-queue clock is not read again before the switch),
// so each wakeup's latency — idle exit and context switch, none of the thread's code — is charged
// to it. The samples follow the thread's task-clock, which starts when the thread is switched in.
// So this checks, for several burst/sleep lengths:
//   - samples/hz against the threads' task-clock (the tick's cpu_ns): no samples go missing;
//   - the tick's sched_ns against /proc schedstat read from here: the tracer reports the kernel's charge;
//   - the samples of the burst() function against the CPU time the target itself measured inside
//     burst() (CLOCK_THREAD_CPUTIME_ID around each call): what a stage's sampled cost rests on.
//     Within 10%, or within the bound the recording states for short slices: the sampling timer
//     fires late (~9 µs here, tick timer_late_ns), and a sample due as the thread goes to sleep is
//     taken ~10 µs + that into its next run, so code run early after a wake-up reads high
//     (sampleShiftBound in src/core/sampled.ts).
// Run as root: node --import tsx --test test/integration/sampler-bursty.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TRACER, buildTracer, cpuSeconds, profile } from './sampler-run.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import type { StreamRecord, TickRecord } from '../../src/tracer/protocol.ts';
import { attributeSamples, sampleShiftBound } from '../../src/core/sampled.ts';

const HZ = 999;
const SECONDS = 5;
const isRoot = process.getuid?.() === 0;
let buildError: string | null = null;
let dir = '';
let exe = '';

before(() => {
  if (!isRoot) return;
  buildError = buildTracer();
  dir = mkdtempSync(join(tmpdir(), 'pktpath-bursty-'));
  exe = join(dir, 'bursty');
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-pthread', '-o', exe, join(ROOT, 'test/targets/bursty.c')]);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The value at monotonic time t (ns), interpolated between the readings around it. */
function at(readings: ReadonlyArray<readonly [number, number]>, t: number): number {
  let i = readings.findIndex(([rt]) => rt >= t);
  if (i < 0) i = readings.length - 1;
  if (i === 0) return readings[0]?.[1] ?? 0;
  const [t0, v0] = readings[i - 1]!;
  const [t1, v1] = readings[i]!;
  return t1 === t0 ? v1 : v0 + Math.min(1, Math.max(0, (t - t0) / (t1 - t0))) * (v1 - v0);
}

interface Run {
  tid: number;
  samples: number; // all the process's samples in the window (ticks after the first)
  cpuS: number; // the ticks' cpu_ns
  schedS: number; // the ticks' sched_ns
  procSchedS: number; // schedstat of all threads, read from here
  burstSamples: number; // samples with burst() on the stack, in the window
  burstCpuS: number; // CPU time inside burst(), as the target measured it
  workerSlices: number; // times the worker was switched in (schedstat's third field), whole run
  slices: number; // the ticks' slices
  lateNs: number | null; // the ticks' timer_late_ns, weighted by samples
}

async function runBursty(burstUs: number, sleepUs: number): Promise<Run> {
  const target = spawn(exe, [String(SECONDS + 3), String(burstUs), String(sleepUs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    // "cpu MONO_NS IN_BURST_NS" lines: the target's CPU time inside burst() against CLOCK_MONOTONIC
    const inBurst: Array<[number, number]> = [];
    let out = '';
    const ids = await new Promise<[number, number]>((res, rej) => {
      target.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        let nl;
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          const r = /^ready (\d+) (\d+)$/.exec(line);
          if (r) res([Number(r[1]), Number(r[2])]);
          const c = /^cpu (\d+) (\d+)$/.exec(line);
          if (c) inBurst.push([Number(c[1]), Number(c[2])]);
        }
      });
      target.on('exit', (code) => rej(new Error(`bursty exited (${code}) before it was ready`)));
    });
    const [pid, tid] = ids;
    const sched: Array<[number, number]> = [];
    const slices = (): number => Number(execFileSync('cat', [`/proc/${pid}/task/${tid}/schedstat`]).toString().split(' ')[2]);
    const slices0 = slices();
    const poll = setInterval(() => {
      try {
        sched.push([Number(process.hrtime.bigint()), cpuSeconds(pid)]);
      } catch {
        // the target is gone
      }
    }, 5);
    const tracer = spawn(TRACER, ['--pid', String(pid), '--sample-hz', String(HZ), '--duration', String(SECONDS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const dec = new StreamDecoder({ strict: true });
    const records: StreamRecord[] = [];
    tracer.stdout.on('data', (b: Buffer) => {
      for (const e of dec.push(b)) if (e.kind === 'record') records.push(e.record);
    });
    let stderr = '';
    tracer.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((res) => tracer.on('close', res));
    clearInterval(poll);
    const slices1 = slices();
    assert.equal(code, 0, `tracer exit ${code}: ${stderr}`);

    const ticks = records.filter((r): r is TickRecord => r.type === 'tick');
    assert.ok(ticks.length >= 3, `${ticks.length} ticks`);
    const first = ticks[0]!;
    const last = ticks[ticks.length - 1]!;
    const win = ticks.slice(1);
    for (const t of win) assert.ok(t.cpu_ns !== undefined && t.sched_ns !== undefined, 'ticks carry cpu_ns and sched_ns');
    const p = profile(records);
    const stacks = p.stacks.filter((s) => s.seq > first.seq);
    const burst = attributeSamples([...p.frames.values()], stacks, [{ name: 'burst', symbol: 'burst', module: 'bursty' }]);
    return {
      tid,
      samples: win.reduce((n, t) => n + t.samples, 0),
      cpuS: win.reduce((n, t) => n + (t.cpu_ns ?? 0), 0) / 1e9,
      schedS: win.reduce((n, t) => n + (t.sched_ns ?? 0), 0) / 1e9,
      procSchedS: at(sched, last.t_ns) - at(sched, first.t_ns),
      burstSamples: burst.stages[0]!.inclusive_samples,
      burstCpuS: (at(inBurst, last.t_ns) - at(inBurst, first.t_ns)) / 1e9,
      workerSlices: slices1 - slices0,
      slices: win.reduce((n, t) => n + (t.slices ?? 0), 0),
      lateNs: win.every((t) => t.timer_late_ns !== undefined)
        ? win.reduce((n, t) => n + (t.timer_late_ns ?? 0) * t.samples, 0) / win.reduce((n, t) => n + t.samples, 0)
        : null,
    };
  } finally {
    if (target.exitCode === null) target.kill('SIGKILL');
  }
}

/** burst()'s samples give its CPU time within 10%, or within the displaced samples the recording states. */
function burstWithin(r: Awaited<ReturnType<typeof runBursty>>, bound: number | null): boolean {
  const errS = Math.abs(r.burstSamples / HZ - r.burstCpuS);
  return errS / r.burstCpuS <= 0.1 || (bound !== null && errS <= bound * (r.samples / HZ));
}

// (burst µs, sleep µs): short bursts with short and long sleeps, and long bursts
const CASES: Array<[number, number]> = [
  [20, 100],
  [100, 100],
  [100, 1000],
  [1000, 100],
];

for (const [burstUs, sleepUs] of CASES) {
  test(`bursty thread, ${burstUs} µs bursts, ${sleepUs} µs sleeps: samples follow its CPU time`, { skip: !isRoot && 'needs root' }, async (t) => {
    assert.equal(buildError, null, `tracer build failed: ${buildError}`);
    // the stage-level claim (below) is a measurement on a shared machine: a run that misses is repeated once
    let r = await runBursty(burstUs, sleepUs);
    for (let attempt = 1; ; attempt++) {
      const b = sampleShiftBound({ cpu_s: r.cpuS, slices: r.slices, timer_late_ns: r.lateNs ?? undefined });
      t.diagnostic(
        `attempt ${attempt}: samples/hz ${(r.samples / HZ).toFixed(3)} s, task-clock ${r.cpuS.toFixed(3)} s (${(r.samples / HZ / r.cpuS).toFixed(3)}), ` +
          `schedstat ${r.schedS.toFixed(3)} s (samples/hz ÷ schedstat ${(r.samples / HZ / r.schedS).toFixed(3)}); ` +
          `burst(): ${r.burstSamples} samples = ${(r.burstSamples / HZ).toFixed(3)} s vs ${r.burstCpuS.toFixed(3)} s measured ` +
          `(${(r.burstSamples / HZ / r.burstCpuS).toFixed(3)}); ${r.slices} slices (${((r.cpuS * 1e6) / r.slices).toFixed(1)} µs CPU each), ` +
          `timer ${((r.lateNs ?? NaN) / 1000).toFixed(1)} µs late, stated shift bound ${b === null ? '-' : (b * 100).toFixed(1)}%`,
      );
      if (attempt === 2 || burstWithin(r, b)) break;
      r = await runBursty(burstUs, sleepUs);
    }
    const sampledS = r.samples / HZ;
    const bound = sampleShiftBound({ cpu_s: r.cpuS, slices: r.slices, timer_late_ns: r.lateNs ?? undefined });
    assert.ok(r.samples >= 100, `only ${r.samples} samples`);
    // every sample the threads' run time called for was taken
    assert.ok(Math.abs(sampledS / r.cpuS - 1) <= 0.05, `samples/hz ${sampledS} s vs task-clock ${r.cpuS} s`);
    // sched_ns is the kernel's own charge (the main thread's schedstat is in both)
    assert.ok(Math.abs(r.schedS / r.procSchedS - 1) <= 0.03, `sched_ns ${r.schedS} s vs schedstat read here ${r.procSchedS} s`);
    assert.ok(r.schedS >= r.cpuS * 0.98, `schedstat ${r.schedS} s below task-clock ${r.cpuS} s`);
    // the ticks count the worker's switch-ins (the run covers the window and a little more)
    assert.ok(r.slices > 0 && r.slices <= r.workerSlices * 1.02 + 50, `slices ${r.slices} vs ${r.workerSlices} in the whole run`);
    // this kernel (6.18) has bpf_cast_to_kern_ctx: the lateness is measured
    assert.ok(r.lateNs !== null && r.lateNs > 0 && r.lateNs < 1e6, `timer_late_ns ${r.lateNs}`);
    assert.ok(bound !== null);
    // the stage-level claim: a function's samples give its CPU time within 10%, or within the
    // displaced samples the recording states for short slices. The bound is a share of ALL the
    // samples (lateness × slices ÷ CPU time: samples due in a slice's first microseconds land
    // later), so it is applied to the samples, not to burst()'s own share of them.
    const errS = Math.abs(r.burstSamples / HZ - r.burstCpuS);
    const err = errS / r.burstCpuS;
    assert.ok(
      burstWithin(r, bound),
      `burst(): ${r.burstSamples / HZ} s sampled vs ${r.burstCpuS} s measured by the target (${(err * 100).toFixed(1)}% off; ` +
        `${((errS / (r.samples / HZ)) * 100).toFixed(1)}% of all samples, bound ${(bound * 100).toFixed(1)}%)`,
    );
  });
}
