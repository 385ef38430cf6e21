// Stack sampling without BPF: where the tracer may not load BPF programs, it samples through perf
// rings it reads itself (native-tracer/perf_ring.c, sampler.c). Checked for real, on this kernel:
// `--no-bpf` as root, and an unprivileged tracer (user nobody with CAP_PERFMON only, so BPF is
// refused) that falls back by itself; and the refusal when stage probes are asked for.
// Run as root: node --import tsx --test test/integration/sampler-nobpf.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TRACER, buildTracer } from './sampler-run.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import type { HelloRecord, RecordOf, StackRecord, StreamRecord, TickRecord } from '../../src/tracer/protocol.ts';

const HZ = 999;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
let buildError: string | null = null;
let dir = '';
let spin = '';
const procs: ChildProcess[] = [];

before(() => {
  if (!isRoot) return;
  buildError = buildTracer();
  // readable and runnable by an unprivileged user too
  dir = mkdtempSync(join(tmpdir(), 'pktpath-nobpf-'));
  chmodSync(dir, 0o755);
  spin = join(dir, 'spin');
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-o', spin, join(ROOT, 'test/targets/spin.c')]);
});

after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** argv run as user nobody; with perfmon, with CAP_PERFMON as its only capability. */
function asNobody(argv: string[], perfmon: boolean): [string, string[]] {
  const caps = perfmon ? ['--inh-caps=+perfmon', '--ambient-caps=+perfmon'] : [];
  return ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...caps, ...argv]];
}

async function startSpin(unprivileged: boolean): Promise<number> {
  const [cmd, argv] = unprivileged ? asNobody([spin, '20'], false) : [spin, ['20']];
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  return new Promise((res, rej) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\d+)/.exec(buf);
      if (m) res(Number(m[1]));
    });
    p.on('exit', (code) => rej(new Error(`spin exited (${code}) before it was ready`)));
  });
}

/** BPF programs the process holds open (anon inodes "bpf-prog"). */
function bpfProgFds(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).includes('bpf-prog')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

interface Run {
  records: StreamRecord[];
  code: number | null;
  stderr: string;
  progFds: number; // BPF programs the tracer held a second in
}

async function trace(cmd: string, argv: string[]): Promise<Run> {
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(child);
  const dec = new StreamDecoder({ strict: true });
  const records: StreamRecord[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    for (const e of dec.push(b)) if (e.kind === 'record') records.push(e.record);
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let progFds = -1;
  const peek = setTimeout(() => {
    try {
      // setpriv execs the tracer: the child's pid is the tracer's
      progFds = bpfProgFds(child.pid!);
    } catch {
      // it ended early; the exit code says why
    }
  }, 1500);
  const code = await new Promise<number | null>((res) => child.on('close', res));
  clearTimeout(peek);
  return { records, code, stderr, progFds };
}

/** Checks a sampling run of the spin target: samples against task-clock, stacks naming its hot functions. */
function checkSamples(r: Run): void {
  assert.equal(r.code, 0, `tracer exit ${r.code}: ${r.stderr}`);
  const ticks = r.records.filter((x): x is TickRecord => x.type === 'tick');
  assert.ok(ticks.length >= 3, `${ticks.length} ticks`);
  const win = ticks.slice(1);
  const samples = win.reduce((n, t) => n + t.samples, 0);
  const cpuS = win.reduce((n, t) => n + (t.cpu_ns ?? 0), 0) / 1e9;
  assert.ok(Math.abs(samples / HZ / cpuS - 1) <= 0.05, `samples/hz ${samples / HZ} s vs task-clock ${cpuS} s`);
  assert.equal(win.reduce((n, t) => n + t.lost, 0), 0, 'no sample lost');
  // without BPF there is no program to time the sampler with: nothing is claimed
  for (const t of ticks) assert.ok(t.timer_late_ns === undefined && t.sample_run_ns === undefined, JSON.stringify(t));
  const frames = new Map(r.records.filter((x): x is RecordOf<'frame'> => x.type === 'frame').map((f) => [f.id, f]));
  const stacks = r.records.filter((x): x is StackRecord => x.type === 'stack' && x.seq > ticks[0]!.seq);
  const total = stacks.reduce((n, s) => n + s.count, 0);
  const hot = stacks.filter((s) => ['hot_a', 'hot_b'].includes(frames.get(s.frames[0]!)?.fn ?? '')).reduce((n, s) => n + s.count, 0);
  assert.ok(total >= samples * 0.98 && total <= samples, `stacks hold ${total} of ${samples} samples`);
  assert.ok(hot >= total * 0.8, `${hot} of ${total} samples with hot_a/hot_b at the leaf`);
  const a = stacks.filter((s) => frames.get(s.frames[0]!)?.fn === 'hot_a').reduce((n, s) => n + s.count, 0);
  // spin.c: hot_a burns ~3x the CPU of hot_b
  assert.ok(a / hot > 0.6 && a / hot < 0.9, `hot_a has ${a} of ${hot}`);
}

test('--no-bpf: samples through perf rings follow the target\'s task-clock and name its hot functions; no BPF program is loaded', { skip: !isRoot && 'needs root' }, async () => {
  assert.equal(buildError, null, `tracer build failed: ${buildError}`);
  const pid = await startSpin(false);
  const r = await trace(TRACER, ['--pid', String(pid), '--sample-hz', String(HZ), '--duration', '4', '--no-bpf']);
  checkSamples(r);
  assert.equal(r.progFds, 0, 'the tracer holds no BPF program');
  assert.ok(r.records.some((x) => x.type === 'warning' && /without BPF \(--no-bpf\)/.test(x.message)), 'the stream says how it samples');
});

test('an unprivileged tracer (CAP_PERFMON, no CAP_BPF) falls back to perf rings by itself', { skip: (!isRoot || !hasSetpriv) && 'needs root and setpriv' }, async () => {
  assert.equal(buildError, null, `tracer build failed: ${buildError}`);
  const pid = await startSpin(true);
  const [cmd, argv] = asNobody([TRACER, '--pid', String(pid), '--sample-hz', String(HZ), '--duration', '4'], true);
  const r = await trace(cmd, argv);
  const hello = r.records.find((x): x is HelloRecord => x.type === 'hello');
  assert.ok(hello, `a hello record (${r.stderr})`);
  assert.equal(hello.features.bpf_allowed, false, 'BPF is refused to this user');
  assert.ok(r.records.some((x) => x.type === 'warning' && /without BPF \(not permitted to load BPF programs\)/.test(x.message)));
  checkSamples(r);
  assert.equal(r.progFds, 0);
});

test('without BPF, stage probes are refused with a reason, and so is --no-bpf with --stage', { skip: (!isRoot || !hasSetpriv) && 'needs root and setpriv' }, async () => {
  assert.equal(buildError, null, `tracer build failed: ${buildError}`);
  const both = await trace(TRACER, ['--pid', '1', '--stage', 'a=uprobe:/bin/true:main', '--no-bpf']);
  assert.equal(both.code, 2);
  assert.ok(both.records.some((x) => x.type === 'error' && /--no-bpf samples stacks only .*stage probes need BPF/.test(x.message)), JSON.stringify(both.records));
  const pid = await startSpin(true);
  const [cmd, argv] = asNobody([TRACER, '--pid', String(pid), '--stage', `a=uprobe:${spin}:hot_a`, '--duration', '1'], true);
  const r = await trace(cmd, argv);
  assert.equal(r.code, 1);
  assert.ok(r.records.some((x) => x.type === 'error' && x.fatal && /not permitted to load BPF programs/.test(x.message)), JSON.stringify(r.records));
});
