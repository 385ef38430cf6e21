// Shared by the sampler integration tests: build a spinning target, run a recorder on it, and read
// back the stream through the project's own validating decoder. The recorder is the real tracer
// (`pktpath-tracer --pid P --sample-hz N --duration S`) or, with driver 'sampler', the sampler API
// alone driven like the tracer's main loop drives it (native-tracer/test/run_sampler.c).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import type { RecordOf, StackRecord, StreamRecord } from '../../src/tracer/protocol.ts';

export const ROOT = resolve(__dirname, '../..');
// PKTPATH_TRACER_BUILD: another build directory under native-tracer/ (as in tracer-util.ts).
export const BUILD = process.env.PKTPATH_TRACER_BUILD ?? 'build';
if (!/^[A-Za-z0-9._-]+$/.test(BUILD)) throw new Error(`PKTPATH_TRACER_BUILD must be a plain directory name: ${BUILD}`);
export const TRACER = join(ROOT, 'native-tracer', BUILD, 'pktpath-tracer');
export const RUN_SAMPLER = join(ROOT, 'native-tracer', BUILD, 'test/run_sampler');

export type Driver = 'tracer' | 'sampler';

export function buildSampler(): void {
  execFileSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer/test'), `BUILD=${BUILD}`, 'all'], { stdio: 'pipe' });
}

/** Builds the tracer; returns the build error text instead of throwing when it does not build. */
export function buildTracer(): string | null {
  try {
    execFileSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer'), `BUILD=${BUILD}`], { stdio: 'pipe' });
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString() ?? err.message).slice(-2000);
  }
}

export interface Target {
  dir: string;
  exe: string;
  proc: ChildProcess;
  pid: number;
  stop(): void;
}

/** Compiles test/targets/NAME.c the way the demo is built and starts it spinning; `subdir` puts
 * the executable one (possibly hostile-named) directory deeper. */
export async function startTarget(name: string, seconds: number, extraArgs: string[] = [], subdir = ''): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-sampler-'));
  if (subdir) mkdirSync(join(dir, subdir));
  const exe = join(dir, subdir, name);
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-pthread', '-o', exe, join(ROOT, 'test/targets', `${name}.c`)]);
  const t = await startExecutable(exe, [String(seconds), ...extraArgs]);
  return {
    ...t,
    dir,
    stop() {
      t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts an executable that prints "ready PID" once running; stop() kills it (the file stays). */
export async function startExecutable(exe: string, args: string[]): Promise<Target> {
  const proc = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((res, rej) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\d+)/.exec(buf);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', (code) => rej(new Error(`${exe} exited (${code}) before it was ready`)));
  });
  return {
    dir: dirname(exe),
    exe,
    proc,
    pid,
    stop() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** CPU time all threads of a process have run, in seconds: the scheduler's sum_exec_runtime (ns)
 * per thread, exact rather than the 10 ms ticks of /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return ns / 1e9;
}

let clkTck = 0;

/** Seconds all CPUs together spent busy (not idle, not iowait), from /proc/stat. */
export function busyCpuSeconds(): number {
  if (!clkTck) clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / clkTck;
}

export interface Recording {
  /** stdout exactly as written */
  raw: Buffer;
  records: StreamRecord[];
  decodeWarnings: string[];
  stderr: string;
  exitCode: number | null;
  /** target CPU seconds (kernel mode: busy seconds of all CPUs) between the first tick and the
   * last, and the samples of the ticks after the first: both cover the same intervals */
  cpuBetweenTicks: number;
  samplesBetweenTicks: number;
  /** seq of the first tick: stacks with a later seq fall between the ticks */
  firstTickSeq: number;
  ticks: number;
  wallBetweenTicks: number;
}

/** Records process `pid`, or with pid 'kernel' every CPU in kernel mode. */
/** CPU seconds at monotonic time t (ns), interpolated between the readings around it. */
function cpuAt(readings: Array<[bigint, number]>, t: bigint): number {
  let i = readings.findIndex(([rt]) => rt >= t);
  if (i < 0) i = readings.length - 1;
  if (i === 0) return readings[0]?.[1] ?? 0;
  const [t0, c0] = readings[i - 1] as [bigint, number];
  const [t1, c1] = readings[i] as [bigint, number];
  if (t1 === t0) return c1;
  const f = Math.min(1, Math.max(0, Number(t - t0) / Number(t1 - t0)));
  return c0 + f * (c1 - c0);
}

export async function record(
  driver: Driver, pid: number | 'kernel', hz: number, seconds: number, tracerFlags: readonly string[] = [],
): Promise<Recording> {
  const who = pid === 'kernel' ? ['--kernel'] : ['--pid', String(pid)];
  const args =
    driver === 'tracer'
      ? [...who, '--sample-hz', String(hz), '--duration', String(seconds), ...tracerFlags]
      : [pid === 'kernel' ? '0' : String(pid), String(hz), String(seconds)];
  const child = spawn(driver === 'tracer' ? TRACER : RUN_SAMPLER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const decoder = new StreamDecoder({ strict: true });
  const records: StreamRecord[] = [];
  const decodeWarnings: string[] = [];
  const chunks: Buffer[] = [];
  let stderr = '';
  // The target's CPU time against CLOCK_MONOTONIC (what process.hrtime and the tick's t_ns use),
  // read every few ms: a tick is compared with the CPU time at its own t_ns, not at the moment a
  // busy machine gets round to delivering it to us.
  const readings: Array<[bigint, number]> = [];
  const read = (): void => {
    try {
      const cpu = pid === 'kernel' ? busyCpuSeconds() : cpuSeconds(pid);
      readings.push([process.hrtime.bigint(), cpu]);
    } catch {
      // the target is gone
    }
  };
  read();
  const poll = setInterval(read, 5);
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    chunks.push(d);
    for (const ev of decoder.push(d)) {
      if (ev.kind === 'record') records.push(ev.record);
      else decodeWarnings.push(ev.error.toString());
    }
  });
  const exitCode = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearInterval(poll);
  const ticks = records.filter((r) => r.type === 'tick');
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  const between = ticks.slice(1).reduce((n, r) => n + r.samples, 0);
  return {
    raw: Buffer.concat(chunks),
    records,
    decodeWarnings,
    stderr,
    exitCode,
    cpuBetweenTicks: first && last ? cpuAt(readings, BigInt(last.t_ns)) - cpuAt(readings, BigInt(first.t_ns)) : 0,
    samplesBetweenTicks: between,
    firstTickSeq: first?.seq ?? -1,
    ticks: ticks.length,
    wallBetweenTicks: first && last ? (last.t_ns - first.t_ns) / 1e9 : 0,
  };
}

export interface Profile {
  frames: Map<number, RecordOf<'frame'>>;
  stacks: StackRecord[];
  /** problems with the frame/stack contract: undefined ids, redefinitions */
  problems: string[];
}

/** Frames by id and stacks, checking that each frame is defined once and before its first use. */
export function profile(records: StreamRecord[]): Profile {
  const frames = new Map<number, RecordOf<'frame'>>();
  const stacks: StackRecord[] = [];
  const problems: string[] = [];
  for (const r of records) {
    if (r.type === 'frame') {
      if (frames.has(r.id)) problems.push(`frame ${r.id} defined twice`);
      frames.set(r.id, r);
    } else if (r.type === 'stack') {
      for (const id of r.frames) if (!frames.has(id)) problems.push(`stack uses frame ${id} before its definition`);
      stacks.push(r);
    }
  }
  return { frames, stacks, problems };
}

/** Samples per function name at the innermost user frame: the function that was running, or
 * that entered the kernel when the sample caught it there. */
export function userLeafCounts(p: Profile): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of p.stacks) {
    const leaf = s.frames.map((id) => p.frames.get(id)).find((f) => f && !f.kernel);
    const name = leaf ? leaf.fn : '(no user frame)';
    out.set(name, (out.get(name) ?? 0) + s.count);
  }
  return out;
}

export function readelfBuildId(path: string): string {
  const m = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', path]).toString());
  if (!m?.[1]) throw new Error(`no build-id in ${path}`);
  return m[1];
}
