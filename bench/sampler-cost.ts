// What stack sampling costs the sampled process, per sample and as a share of its CPU, with and
// without stack copies. Run as root: node --import tsx bench/sampler-cost.ts [--seconds S] [--rounds R] [--hz N]
//
// One busy target (test/targets/known_cost, one 1 µs stage per iteration, 100% duty) runs on CPU 1
// the whole time and reports its loop rate every 100 ms; the samplers run on CPU 0. Each round runs,
// in turn, S seconds each: untraced (the baseline), pktpath --unwind fp (frame-pointer walk and
// scan, counted by the BPF program in the kernel), pktpath --unwind dwarf (8 KiB of user stack copied
// with each sample, unwound by CFI in the tracer), the same without BPF (--no-bpf), and the
// reference `perf record --call-graph dwarf` (8 KiB copies to perf's ring; perf unwinds later, at
// report time). The target's loop iterations per second of its own CPU time (its schedstat) are
// compared, so time other processes take from CPU 1 does not count as cost: the sampling
// interrupt, the program and the stack copy run on the target's CPU time. Cost to the target =
// 1 − its iterations per CPU-second ÷ those of the untraced phase of the same round; per sample =
// that share × its CPU seconds ÷ the samples taken. The sampler's own CPU (tracer or perf process,
// on CPU 0) is reported beside it. Results also go to bench/results/.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KNOWN_COST, buildKnownCost, startKnownCost, type RateLine } from '../test/helpers/known-cost.ts';
import { ROOT, TRACER, buildTracer } from '../test/helpers/measure.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('--seconds', 3);
const ROUNDS = arg('--rounds', 5);
const HZ = arg('--hz', 999);
const SETTLE_MS = 500; // left out at the start of each phase: attach, first interval

interface Phase {
  name: string;
  argv: string[] | null; // null: untraced
  perf?: boolean;
}

const PHASES: Phase[] = [
  { name: 'untraced (baseline)', argv: null },
  { name: 'pktpath --unwind fp', argv: ['--unwind', 'fp'] },
  { name: 'pktpath --unwind dwarf', argv: ['--unwind', 'dwarf'] },
  { name: 'pktpath --unwind dwarf --no-bpf', argv: ['--unwind', 'dwarf', '--no-bpf'] },
  { name: 'perf record --call-graph dwarf', argv: [], perf: true },
];

/** CPU seconds a process (all its threads) has run, from schedstat. */
function cpuOf(pid: number): number {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* exited */
      }
    }
  } catch {
    /* exited */
  }
  return ns / 1e9;
}

interface Run {
  phase: string;
  round: number;
  from: number;
  to: number;
  samples: number; // samples the sampler took of the target in the window
  sampler_cpu_s: number;
  rate?: number; // loop iterations per second of the target's CPU time
  target_cpu_s?: number;
}

/** The target's CPU seconds over wall time (Date.now() ms), read every 50 ms. */
const cpuReadings: Array<[number, number]> = [];
function cpuAt(t: number): number {
  let i = cpuReadings.findIndex(([rt]) => rt >= t);
  if (i < 0) i = cpuReadings.length - 1;
  if (i <= 0) return cpuReadings[0]?.[1] ?? 0;
  const [t0, c0] = cpuReadings[i - 1]!;
  const [t1, c1] = cpuReadings[i]!;
  return t1 === t0 ? c1 : c0 + ((t - t0) / (t1 - t0)) * (c1 - c0);
}

async function runSampler(p: Phase, pid: number, seconds: number, dir: string): Promise<{ samples: number; cpu: number }> {
  if (p.perf) {
    const out = join(dir, 'perf.data');
    const child = spawn('taskset', ['-c', '0', 'perf', 'record', '-q', '-o', out, '--call-graph', 'dwarf,8192', '-e', 'task-clock',
      '-F', String(HZ), '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let cpu = 0;
    const poll = setInterval(() => (cpu = Math.max(cpu, cpuOf(child.pid!))), 200);
    await new Promise((r) => child.on('close', r));
    clearInterval(poll);
    const n = Number(execFileSync('sh', ['-c', `perf script -i ${out} -F period 2>/dev/null | wc -l`]).toString().trim());
    rmSync(out, { force: true });
    return { samples: n, cpu };
  }
  const child = spawn('taskset', ['-c', '0', TRACER, '--pid', String(pid), '--sample-hz', String(HZ), '--duration', String(seconds), ...p.argv!],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let cpu = 0;
  const poll = setInterval(() => (cpu = Math.max(cpu, cpuOf(child.pid!))), 200);
  await new Promise((r) => child.on('close', r));
  clearInterval(poll);
  let samples = 0;
  for (const l of out.split('\n')) {
    if (!l.startsWith('{"type":"tick"')) continue;
    samples += (JSON.parse(l) as { samples: number }).samples;
  }
  return { samples, cpu };
}

/** Iterations per second of the target's CPU over the report periods inside (from + settle, to]. */
function cpuRate(rates: readonly RateLine[], periodMs: number, from: number, to: number): { rate: number; cpu: number } {
  const v = rates.filter((r) => r.t_ms - periodMs > from + SETTLE_MS && r.t_ms <= to);
  if (v.length < 2) return { rate: Number.NaN, cpu: 0 };
  const t0 = v[0]!.t_ms - periodMs;
  const t1 = v[v.length - 1]!.t_ms;
  const iters = v.reduce((a, r) => a + (r.rate * periodMs) / 1000, 0);
  const cpu = cpuAt(t1) - cpuAt(t0);
  return { rate: iters / cpu, cpu };
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

const median = (v: number[]): number => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : Number.NaN;
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (BPF, perf events on another process)');
  buildKnownCost();
  buildTracer();
  const dir = join(tmpdir(), `pktpath-sampler-cost-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const total = ROUNDS * PHASES.length * (SECONDS + 2) + 10;
  const target = await startKnownCost(['run', '--seconds', String(total), '--report-ms', '100', '--only', 'kc_push_1us']);
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(target.pid)], { stdio: 'ignore' });
  const reader = setInterval(() => cpuReadings.push([Date.now(), cpuOf(target.pid)]), 50);
  console.log(`sampler cost bench: ${KNOWN_COST} (pid ${target.pid}, CPU 1), samplers on CPU 0, ${HZ} Hz, ${SECONDS} s per phase, ${ROUNDS} rounds`);
  const runs: Run[] = [];
  try {
    await sleep(1000);
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of PHASES) {
        const from = Date.now();
        let samples = 0;
        let cpu = 0;
        if (p.argv === null) await sleep(SECONDS * 1000);
        else ({ samples, cpu } = await runSampler(p, target.pid, SECONDS, dir));
        const to = Date.now();
        runs.push({ phase: p.name, round, from, to, samples, sampler_cpu_s: cpu });
        await sleep(300);
      }
    }
  } finally {
    clearInterval(reader);
    target.stop();
    await target.done.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of runs) {
    const c = cpuRate(target.rates, 100, r.from, r.to);
    r.rate = c.rate;
    r.target_cpu_s = c.cpu;
  }
  const rows: string[][] = [];
  const summary: Array<Record<string, number | string>> = [];
  for (const p of PHASES) {
    const mine = runs.filter((r) => r.phase === p.name);
    const share = mine.map((r) => {
      const base = runs.find((b) => b.round === r.round && b.phase === PHASES[0]!.name)!;
      return 1 - r.rate! / base.rate!;
    });
    const sps = mine.map((r) => r.samples / ((r.to - r.from) / 1000));
    const costShare = median(share);
    // the share of the target's CPU time the sampling took, spread over its samples
    const perSample = p.argv === null ? Number.NaN
      : median(mine.map((r, i) => (share[i]! * (r.target_cpu_s ?? 0) * 1e9) / (r.samples * ((r.to - r.from - SETTLE_MS) / (r.to - r.from)))));
    const cpuPct = median(mine.map((r) => (r.sampler_cpu_s / ((r.to - r.from) / 1000)) * 100));
    const cpuPerSample = median(mine.map((r) => (r.samples ? (r.sampler_cpu_s * 1e6) / r.samples : Number.NaN)));
    rows.push([
      p.name,
      p.argv === null ? '—' : median(sps).toFixed(0),
      median(mine.map((r) => r.rate!)).toFixed(0),
      p.argv === null ? 'baseline' : `${(costShare * 100).toFixed(2)}%`,
      Number.isFinite(perSample) ? (perSample / 1000).toFixed(2) : '—',
      p.argv === null ? '—' : `${cpuPct.toFixed(1)}%`,
      p.argv === null ? '—' : cpuPerSample.toFixed(1),
    ]);
    summary.push({ phase: p.name, samples_per_s: median(sps), rate: median(mine.map((r) => r.rate!)), cost_share: costShare,
      target_us_per_sample: perSample / 1000, sampler_cpu_pct: cpuPct, sampler_us_per_sample: cpuPerSample });
  }
  console.log(`\ncost to the target (baseline: untraced; medians over ${ROUNDS} rounds; per-round spread of the untraced rate: ` +
    `${(((Math.max(...runs.filter((r) => r.phase === PHASES[0]!.name).map((r) => r.rate!)) /
      Math.min(...runs.filter((r) => r.phase === PHASES[0]!.name).map((r) => r.rate!))) - 1) * 100).toFixed(1)}%)`);
  console.log(table(['sampler', 'samples/s', 'target it/CPU-s', 'cost to target', 'target µs/sample', 'sampler CPU', 'sampler µs/sample'], rows));
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', `sampler-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, hz: HZ, summary, runs }, null, 2));
  console.log(`\nraw numbers: ${file}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
