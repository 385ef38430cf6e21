// A function GCC copied (-O3: NAME.isra.0, NAME.constprop.0.isra.0) or that several files define as a
// local: the tracer never binds one of several copies silently. Built here from test/targets/copies.c;
// nm must show the copies the test is about, or the test fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageRecord, StreamRecord } from '../../src/tracer/protocol.ts';
import { ROOT, buildTracer, runTracer, startNested, sumHists, type NestedTarget } from './tracer-util.ts';

const ROUNDS = 200;
const dir = mkdtempSync(join(tmpdir(), 'pp-stages-copies-'));
const exe = join(dir, 'copies');
let target: NestedTarget | null = null;
const syms = new Map<string, Array<{ addr: number; size: number }>>();

before(() => {
  buildTracer();
  execFileSync('nice', ['cc', '-O3', '-o', exe, join(ROOT, 'test/targets/copies.c'), join(ROOT, 'test/targets/copies_b.c')]);
  for (const line of execFileSync('nm', ['-S', '--defined-only', exe], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [Tt] (\S+)$/.exec(line);
    if (m) syms.set(m[3]!, [...(syms.get(m[3]!) ?? []), { addr: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16) }]);
  }
});
after(() => {
  target?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const stageOf = (records: StreamRecord[], name: string): StageRecord =>
  records.find((r): r is StageRecord => r.type === 'stage' && r.name === name)!;

test('copies: several entry copies are refused with the list; a lone copy is bound and named; an address takes its function', async () => {
  const workCopies = [...syms.keys()].filter((n) => n.startsWith('work.')).sort();
  assert.ok(workCopies.length >= 2 && !syms.has('work'), `cc -O3 made copies of work: ${workCopies.join(', ')} (nm)`);
  assert.ok(syms.has('lone.isra.0') && !syms.has('lone'), `lone exists only as lone.isra.0 (nm: ${[...syms.keys()].filter((n) => n.startsWith('lone')).join(', ')})`);
  assert.equal(syms.get('tick')?.length, 2, 'two local functions named tick');
  const lone = syms.get('lone.isra.0')![0]!;
  // the second instruction of lone.isra.0: an address inside it, on an instruction boundary
  const dis = execFileSync('objdump', ['-d', `--start-address=0x${lone.addr.toString(16)}`, `--stop-address=0x${(lone.addr + lone.size).toString(16)}`, exe], { encoding: 'utf8' });
  const insns = [...dis.matchAll(/^\s+([0-9a-f]+):\t/gm)].map((m) => parseInt(m[1]!, 16));
  assert.ok(insns.length >= 2, dis);
  const inside = insns[1]!;

  target = await startNested(exe);
  const constprop = workCopies.find((n) => n.includes('constprop'))!;
  const args = ['--pid', String(target.pid), '--interval-ms', '200', '--no-calibrate',
    '--stage', `work=uprobe:${exe}:work`,
    '--stage', `lone=uprobe:${exe}:lone`,
    '--stage', `tick=uprobe:${exe}:tick`,
    '--stage', `k3=uprobe:${exe}:${constprop}`,
    '--stage', `mid=uprobe:${exe}:0x${inside.toString(16)}`];
  const run = runTracer(args);
  try {
    await run.ready;
    await target.go(ROUNDS);
  } finally {
    run.proc.kill('SIGINT');
  }
  await run.exited;
  assert.deepEqual(run.decodeErrors, []);
  const work = stageOf(run.records, 'work');
  assert.equal(work.ok, false, 'work has two entry copies: not attached');
  for (const c of workCopies) assert.ok(work.error!.includes(c), `the refusal lists ${c}: ${work.error}`);
  assert.deepEqual(work.copies?.map((c) => c[0]).sort(), workCopies);

  const tick = stageOf(run.records, 'tick');
  assert.equal(tick.ok, false, 'two same-named locals: not attached');
  assert.equal(tick.copies?.length, 2);
  assert.match(tick.error!, /tick at 0x[0-9a-f]+, tick at 0x/);

  const lo = stageOf(run.records, 'lone');
  assert.equal(lo.ok, true, lo.error ?? '');
  assert.equal(lo.function, 'lone.isra.0');
  assert.deepEqual(lo.copies, [['lone.isra.0', `0x${lone.addr.toString(16)}`, lone.size]]);
  assert.equal(lo.address, `0x${lone.addr.toString(16)}`);

  const k3 = stageOf(run.records, 'k3');
  assert.equal(k3.ok, true, k3.error ?? '');
  assert.equal(k3.function, constprop);
  assert.equal(k3.copies, undefined, 'a full copy name is itself');

  const mid = stageOf(run.records, 'mid');
  assert.equal(mid.ok, true, mid.error ?? '');
  assert.equal(mid.function, `lone.isra.0+0x${(inside - lone.addr).toString(16)}`);

  const sums = sumHists(run.records);
  assert.equal(sums.get(lo.id)?.calls, ROUNDS, 'lone.isra.0 runs once a round');
  assert.equal(sums.get(k3.id)?.calls, ROUNDS, `${constprop} runs once a round`);
  assert.equal(sums.get(mid.id)?.calls, ROUNDS, 'the address inside lone.isra.0 is hit once a round');
});
