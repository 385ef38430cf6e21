// The known-cost target (test/targets/known_cost.c) for tests and benches: build it, measure its
// stages' true cost untraced, and run its steady loop for a tracer to watch.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The project's .ts files compile as CommonJS (no "type": "module"): __dirname is this folder.
export const TARGETS_DIR = join(__dirname, '..', 'targets');
export const KNOWN_COST = join(TARGETS_DIR, 'build', 'known_cost');

export const PUSH_STAGES = ['kc_push_200ns', 'kc_push_1us', 'kc_push_5us', 'kc_push_20us'] as const;
export const SS_STAGES = ['kc_ss_1us', 'kc_ss_5us', 'kc_ss_20us'] as const;
/** Starts with a 5-byte nop (0f 1f 44 00 00), which the kernel emulates. */
export const NOP_STAGES = ['kc_nop_1us'] as const;

/** Builds the target and checks (objdump) that each stage starts with the intended instruction. */
export function buildKnownCost(): void {
  execFileSync('nice', ['make', '-s', '-C', TARGETS_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export interface Truth {
  truth: string;
  nominal_ns: number;
  /** The median short batch's cost per call: the code's cost without the neighbours' preemptions. */
  true_ns: number;
  /** Mean over the batches: includes interrupts and hypervisor steal, as a traced mean does. */
  mean_ns: number;
  p10_ns: number;
  p90_ns: number;
  min_ns: number;
  max_ns: number;
  calls: number;
  batches: number;
}

export interface RunSummary {
  done: true;
  iterations: number;
  sent: number;
  seconds: number;
  per_second: number;
}

function withNetns(argv: string[], netns?: string): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, ...argv]] : [argv[0]!, argv.slice(1)];
}

/** The true cost per call of each stage, measured untraced (no probe may be attached meanwhile). */
export function measureTruth(only?: readonly string[], batches = 101, rt = 10): Map<string, Truth> {
  const args = ['truth', '--batches', String(batches)];
  if (rt > 0) args.push('--rt', String(rt));
  if (only) args.push('--only', only.join(','));
  const out = execFileSync(KNOWN_COST, args, { encoding: 'utf8' });
  const m = new Map<string, Truth>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const v = JSON.parse(line) as Truth;
    m.set(v.truth, v);
  }
  return m;
}

/** One `--report-ms` line: throughput and each stage's cost per call timed in the loop itself. */
export interface RateLine {
  t_ms: number; // wall clock (ms since the epoch), comparable with Date.now()
  rate: number; // loop iterations per second over the last report period
  in_loop_ns: Record<string, number>;
}

export interface RunningTarget {
  pid: number;
  proc: ChildProcess;
  /** Rate lines so far (with --report-ms). */
  rates: RateLine[];
  done: Promise<RunSummary>;
  stop(): void;
}

/** Starts the steady loop; resolves once the target said it is ready (with its pid). */
export function startKnownCost(args: string[], netns?: string): Promise<RunningTarget> {
  const [cmd, argv] = withNetns([KNOWN_COST, ...args], netns);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  return new Promise((resolve, reject) => {
    let resolveDone!: (s: RunSummary) => void;
    let rejectDone!: (e: Error) => void;
    const done = new Promise<RunSummary>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    done.catch(() => {});
    let started = false;
    const rates: RateLine[] = [];
    lines.on('line', (line) => {
      let v: { ready?: boolean; pid?: number; done?: boolean } & Partial<RateLine>;
      try {
        v = JSON.parse(line) as typeof v;
      } catch {
        return;
      }
      if (v.ready && typeof v.pid === 'number') {
        started = true;
        resolve({ pid: v.pid, proc, rates, done, stop: () => proc.kill('SIGTERM') });
      } else if (typeof v.rate === 'number' && typeof v.t_ms === 'number') {
        rates.push({ t_ms: v.t_ms, rate: v.rate, in_loop_ns: v.in_loop_ns ?? {} });
      } else if (v.done) resolveDone(v as RunSummary);
    });
    proc.on('exit', (code, sig) => {
      const e = new Error(`known_cost exited (${code ?? sig}) without a summary`);
      if (!started) reject(e);
      rejectDone(e);
    });
  });
}

export async function runKnownCost(args: string[], netns?: string): Promise<RunSummary> {
  const r = await startKnownCost(args, netns);
  return r.done;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * A stage's cost per call timed in the running loop while no probe was attached: the median of
 * the report periods inside the given windows (each [from, to] in Date.now() ms).
 */
export function inLoopCost(rates: readonly RateLine[], stage: string, windows: ReadonlyArray<[number, number]>): number {
  const v = rates
    .filter((r) => windows.some(([from, to]) => r.t_ms > from && r.t_ms <= to))
    .map((r) => r.in_loop_ns[stage])
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return median(v);
}

/** Mean loop throughput (iterations/s) over the report periods inside [from, to]. */
export function throughput(rates: readonly RateLine[], from: number, to: number): number {
  const v = rates.filter((r) => r.t_ms > from && r.t_ms <= to).map((r) => r.rate);
  return v.length ? v.reduce((a, x) => a + x, 0) / v.length : Number.NaN;
}
