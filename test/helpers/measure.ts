// What the measurement tests and bench/accuracy.ts share: record the known-cost target with
// pktpath (exact mode, through the CLI contract `pktpath record ... -o F; pktpath report F --json`)
// and with bpftrace, and make/remove a network namespace.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import { buildReport, type Report } from '../../src/core/report.ts';

const execFileP = promisify(execFile);
export const ROOT = join(__dirname, '..', '..');
// PKTPATH_TRACER_BUILD: another build directory under native-tracer/ (as in tracer-util.ts); the
// CLI then gets that tracer through PKTPATH_TRACER.
const BUILD = process.env.PKTPATH_TRACER_BUILD ?? 'build';
if (!/^[A-Za-z0-9._-]+$/.test(BUILD)) throw new Error(`PKTPATH_TRACER_BUILD must be a plain directory name: ${BUILD}`);
export const TRACER = join(ROOT, 'native-tracer', BUILD, 'pktpath-tracer');
const CLI_ENV = process.env.PKTPATH_TRACER_BUILD ? { ...process.env, PKTPATH_TRACER: TRACER } : process.env;
const CLI_SRC = join(ROOT, 'src', 'cli', 'main.ts');

export interface StageArg {
  name: string;
  spec: string;
}

export interface ExactResult {
  report: Report;
  /** 'cli' when `pktpath record/report` ran; 'library' when the CLI does not exist yet and the
   * tracer's stream went through the same Recorder and buildReport in-process. */
  via: 'cli' | 'library';
  stderr: string;
}

export function buildTracer(): void {
  execFileSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer'), `BUILD=${BUILD}`], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** pktpath exact mode on a running process: the corrected (and raw) per-stage report. */
export async function recordExact(pid: number, stages: readonly StageArg[], durationS: number, extra: string[] = []): Promise<ExactResult> {
  const stageArgs = stages.flatMap((s) => ['--stage', `${s.name}=${s.spec}`]);
  if (existsSync(CLI_SRC)) {
    const dir = mkdtempSync(join(tmpdir(), 'pp-measure-'));
    try {
      const file = join(dir, 'run.pktpath.json');
      const rec = await execFileP(
        process.execPath,
        ['--import', 'tsx', CLI_SRC, 'record', '--pid', String(pid), ...stageArgs, '--duration', String(durationS), ...extra, '-o', file],
        { cwd: ROOT, env: CLI_ENV, maxBuffer: 64 << 20 },
      );
      const rep = await execFileP(process.execPath, ['--import', 'tsx', CLI_SRC, 'report', file, '--json'], { cwd: ROOT, env: CLI_ENV, maxBuffer: 64 << 20 });
      return { report: JSON.parse(rep.stdout) as Report, via: 'cli', stderr: rec.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const child = spawn(TRACER, ['--pid', String(pid), ...stageArgs, '--duration', String(durationS), ...extra], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const dec = new StreamDecoder({ strict: true });
  const rec = new Recorder({ host: 'localhost', pid });
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => dec.push(b).forEach((e) => rec.event(e)));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise((r) => child.on('close', r));
  dec.end().forEach((e) => rec.event(e));
  return { report: buildReport(rec.finish()), via: 'library', stderr };
}

export interface BpftraceStage {
  mean_ns: number;
  calls: number;
}

/**
 * bpftrace's reading of the same functions: uprobe stores nsecs per thread, uretprobe adds the
 * delta to avg() — the usual one-liner, one start map per stage (stages do not nest here).
 */
export async function bpftraceMeans(binary: string, symbols: readonly string[], durationS: number, pid: number): Promise<Map<string, BpftraceStage>> {
  for (const s of symbols) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new Error(`not a plain symbol: ${s}`);
  if (/[\s"':,{}]/.test(binary)) throw new Error(`binary path unusable in a bpftrace script: ${binary}`);
  const probes = symbols
    .map(
      (s, i) =>
        `uprobe:${binary}:${s} /pid == ${pid}/ { @s${i}[tid] = nsecs; }\n` +
        `uretprobe:${binary}:${s} /@s${i}[tid]/ { @ns["${s}"] = avg(nsecs - @s${i}[tid]); @n["${s}"] = count(); delete(@s${i}[tid]); }`,
    )
    .join('\n');
  const clear = symbols.map((_s, i) => `clear(@s${i});`).join(' ');
  const script = `${probes}\ninterval:s:${Math.max(1, Math.round(durationS))} { exit(); }\nEND { ${clear} }\n`;
  const { stdout } = await execFileP('bpftrace', ['-e', script], { maxBuffer: 16 << 20, timeout: (durationS + 60) * 1000 });
  const out = new Map<string, BpftraceStage>();
  for (const m of stdout.matchAll(/^@(ns|n)\[([A-Za-z0-9_]+)\]: (\d+)$/gm)) {
    const cur = out.get(m[2]!) ?? { mean_ns: 0, calls: 0 };
    if (m[1] === 'ns') cur.mean_ns = Number(m[3]);
    else cur.calls = Number(m[3]);
    out.set(m[2]!, cur);
  }
  return out;
}

export function addNetns(name: string): void {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export function delNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // not there (never made, or already removed)
  }
}

/** pktpath sampled mode through the CLI: `record --mode sampled ... -o F; report F --json`. */
export async function recordSampledCli(
  pid: number, stages: readonly StageArg[], packetsFrom: string, hz: number, durationS: number, extra: readonly string[] = [],
): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-measure-'));
  try {
    const file = join(dir, 'sampled.pktpath.json');
    await execFileP(
      process.execPath,
      ['--import', 'tsx', CLI_SRC, 'record', '--mode', 'sampled', '--pid', String(pid),
        ...stages.flatMap((s) => ['--stage', `${s.name}=${s.spec}`]),
        '--packets-from', packetsFrom, '--sample-hz', String(hz), '--duration', String(durationS), ...extra, '-o', file],
      { cwd: ROOT, env: CLI_ENV, maxBuffer: 64 << 20 },
    );
    const rep = await execFileP(process.execPath, ['--import', 'tsx', CLI_SRC, 'report', file, '--json'], { cwd: ROOT, env: CLI_ENV, maxBuffer: 64 << 20 });
    return JSON.parse(rep.stdout) as Report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
