// Entry relocation (native-tracer/reloc.c): a single-stepped first instruction puts a 9-20 us
// single-step inside every measured latency. Where an instruction the kernel emulates follows in
// straight-line code, the tracer takes the entry timestamp there instead; where that could time a
// call twice or read a clobbered argument, it must not. The real tracer on a real target
// (test/targets/reloc-sites.c), whose functions are written in assembly for exactly these cases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CalibrationRecord, StageRecord, StreamRecord } from '../../src/tracer/protocol.ts';
import { buildTracer, ROOT, runTracer, sumHists } from './tracer-util.ts';

let dir: string;
let exe: string;
let target: ChildProcess;

before(async () => {
  buildTracer();
  dir = mkdtempSync(join(tmpdir(), 'pktpath-reloc-'));
  exe = join(dir, 'reloc-sites');
  execFileSync('nice', ['cc', '-O2', '-o', exe, join(ROOT, 'test/targets/reloc-sites.c')]);
  target = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    target.stdout?.once('data', () => res());
    target.once('exit', (c) => rej(new Error(`target exited (${c})`)));
  });
});

after(() => {
  if (target && target.exitCode === null) target.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function record(stages: Array<[string, string]>, extra: string[] = []): Promise<StreamRecord[]> {
  const args = ['--pid', String(target.pid), '--duration', '2', ...extra];
  for (const [name, spec] of stages) args.push('--stage', `${name}=uprobe:${exe}:${spec}`);
  const run = runTracer(args, { stdin: 'ignore' });
  const code = await run.exited;
  assert.equal(code, 0, run.stderr());
  assert.deepEqual(run.decodeErrors, []);
  return run.records;
}

const FNS = ['rs_mov_je', 'rs_endbr_push', 'rs_loop_back', 'rs_arg_clobber', 'rs_indirect'];

test('the entry timestamp moves past a single-stepped first instruction only where every call runs it once', async () => {
  const recs = await record([...FNS.map((f): [string, string] => [f, f]), ['clobbered_arg', 'rs_arg_clobber:packets=arg1']]);
  const stages = new Map(recs.filter((r): r is StageRecord => r.type === 'stage').map((r) => [r.name, r]));
  const cal = new Map(recs.filter((r): r is CalibrationRecord => r.type === 'calibration' && r.seq === undefined).map((r) => [r.stage, r]));
  const st = (n: string): StageRecord => {
    const s = stages.get(n);
    assert.ok(s?.ok, `stage ${n} attached: ${s?.error}`);
    return s;
  };
  for (const n of stages.keys()) assert.equal(st(n).single_step, true, `${n}: its first instruction is single-stepped`);

  // the shape GCC emits without a frame pointer: mov x(%rip),%rsi; test %rsi,%rsi; je ...
  const movJe = st('rs_mov_je');
  assert.deepEqual([movJe.entry_offset, movJe.entry_insn, movJe.untimed_insns, movJe.untimed_prefix], [10, 'jcc rel8', 2, 'mov; test']);
  assert.match(movJe.warning ?? '', /entry timestamp is taken at \+0xa/);
  assert.equal(cal.get(movJe.id)?.method, 'self-probe:relocated-entry:branch', 'calibrated with a branch entry after a single-step');
  // a CET build: endbr64, then push %rbp
  const endbr = st('rs_endbr_push');
  assert.deepEqual([endbr.entry_offset, endbr.entry_insn, endbr.untimed_prefix], [4, 'push %rbp', 'endbr64']);
  assert.equal(cal.get(endbr.id)?.method, 'self-probe:relocated-entry');
  assert.deepEqual([st('rs_arg_clobber').entry_offset, st('rs_arg_clobber').entry_insn], [2, 'jmp rel8']);

  // and where it must not move
  assert.equal(st('rs_loop_back').entry_offset, 0);
  assert.match(st('rs_loop_back').warning ?? '', /a jump in the function lands at \+0x5/);
  assert.equal(st('rs_indirect').entry_offset, 0);
  assert.match(st('rs_indirect').warning ?? '', /indirect jump/);
  assert.equal(st('clobbered_arg').entry_offset, 0);
  assert.match(st('clobbered_arg').warning ?? '', /writes arg1, which the stage reads at entry/);
  for (const n of ['rs_loop_back', 'rs_indirect', 'clobbered_arg']) assert.equal(cal.get(st(n).id)?.method, 'self-probe', n);

  // One loop calls every function once per round: every stage counts every call once, and every
  // return meets its entry (a timestamp taken twice per call would show here).
  const sums = sumHists(recs);
  const calls = [...stages.values()].map((s) => sums.get(s.id)?.calls ?? 0);
  assert.ok(Math.min(...calls) > 1000, `calls: ${calls.join(', ')}`);
  assert.ok(Math.max(...calls) - Math.min(...calls) <= 2, `consistent counts: ${calls.join(', ')}`);
  for (const s of stages.values()) assert.equal(sums.get(s.id)?.unmatched, 0, `${s.name}: unmatched returns`);
});

test('a relocated entry keeps the single-step out of the measured latency (and --no-relocate keeps it in)', async () => {
  const mean = (recs: StreamRecord[]): number => {
    const s = sumHists(recs).get(0)!;
    return s.sum_ns / s.calls;
  };
  const moved = mean(await record([['s', 'rs_mov_je']]));
  const kept = await record([['s', 'rs_mov_je']], ['--no-relocate']);
  const stage = kept.find((r): r is StageRecord => r.type === 'stage')!;
  assert.equal(stage.entry_offset, 0, '--no-relocate probes the first byte');
  const inPlace = mean(kept);
  // The function's own work is a few hundred ns; a single-step costs microseconds here.
  assert.ok(inPlace - moved > 2000, `raw mean ${moved.toFixed(0)} ns relocated vs ${inPlace.toFixed(0)} ns at the first byte`);
});
