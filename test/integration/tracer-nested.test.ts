// The real tracer on a real process: nested (outer calls inner twice) and recursive (depth 5)
// stages give exact call counts and no unmatched returns, and a stripped copy probed by address
// gives the same counts; stages told apart by an argument at one site count their own calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { StageRecord, StreamRecord } from '../../src/tracer/protocol.ts';
import { buildNested, buildTracer, medianBucketLow, runTracer, startNested, sumHists, type NestedBuild, type NestedTarget } from './tracer-util.ts';

const ROUNDS = 300;
let build: NestedBuild;
const targets: NestedTarget[] = [];

before(() => {
  buildTracer();
  build = buildNested();
});
after(() => {
  for (const t of targets) t.stop();
  build?.remove();
});

async function traceRounds(exe: string, stages: string[]): Promise<{ records: StreamRecord[]; code: number | null }> {
  const target = await startNested(exe);
  targets.push(target);
  const args = ['--pid', String(target.pid), '--interval-ms', '200', '--no-calibrate'];
  for (const s of stages) args.push('--stage', s);
  const run = runTracer(args);
  try {
    await run.ready;
    await target.go(ROUNDS);
  } finally {
    run.proc.kill('SIGINT');
  }
  const code = await run.exited;
  target.stop();
  assert.deepEqual(run.decodeErrors, [], 'the stream decodes cleanly');
  return { records: run.records, code };
}

function checkCounts(records: StreamRecord[]): void {
  const stages = records.filter((r): r is StageRecord => r.type === 'stage');
  assert.equal(stages.length, 3);
  for (const s of stages) assert.equal(s.ok, true, `stage ${s.name}: ${s.error}`);
  const sums = sumHists(records);
  const [outer, inner, rec] = [sums.get(0), sums.get(1), sums.get(2)];
  assert.ok(outer && inner && rec, 'every stage reported');
  assert.equal(outer.calls, ROUNDS);
  assert.equal(inner.calls, 2 * ROUNDS, 'outer calls inner twice per round');
  assert.equal(rec.calls, 5 * ROUNDS, 'rec(5) is five calls per round');
  for (const s of [outer, inner, rec]) {
    assert.equal(s.unmatched, 0);
    assert.equal(s.packets, s.calls);
    assert.equal([...s.buckets.values()].reduce((a, c) => a + c, 0), s.calls, 'histogram holds every call');
  }
  // outer contains two inner calls: its latency is at least inner's, both in mean and median
  assert.ok(outer.sum_ns / outer.calls >= inner.sum_ns / inner.calls, 'mean outer >= mean inner');
  assert.ok(medianBucketLow(outer.buckets) >= medianBucketLow(inner.buckets), 'median outer >= median inner');
  const bye = records.at(-1);
  assert.equal(bye?.type, 'bye');
  if (bye?.type === 'bye') assert.equal(bye.reason, 'signal');
}

test('nested and recursive stages: exact calls, no unmatched returns', async () => {
  const { records, code } = await traceRounds(build.exe, [
    `outer=uprobe:${build.exe}:outer`,
    `inner=uprobe:${build.exe}:inner`,
    `rec=uprobe:${build.exe}:rec`,
  ]);
  assert.equal(code, 0);
  checkCounts(records);
  const st = records.filter((r): r is StageRecord => r.type === 'stage');
  for (const s of st) {
    assert.equal(s.first_insn, 'push %rbp', `${s.name} is built to start with push`);
    assert.equal(s.single_step, false);
  }
});

test('stripped binary probed by address gives the same counts', async () => {
  const { records, code } = await traceRounds(build.stripped, [
    `outer=uprobe:${build.stripped}:${build.addr.outer}`,
    `inner=uprobe:${build.stripped}:${build.addr.inner}`,
    `rec=uprobe:${build.stripped}:${build.addr.rec}`,
  ]);
  assert.equal(code, 0);
  checkCounts(records);
});

test('a symbol looked up in a stripped binary is a clear stage error, the other stages still run', async () => {
  const { records } = await traceRounds(build.stripped, [
    `outer=uprobe:${build.stripped}:outer`,
    `inner=uprobe:${build.stripped}:${build.addr.inner}`,
    `rec=uprobe:${build.stripped}:${build.addr.rec}`,
  ]);
  const outer = records.find((r): r is StageRecord => r.type === 'stage' && r.id === 0);
  assert.equal(outer?.ok, false);
  assert.match(outer?.error ?? '', /not found.*stripped.*0xADDR/);
  assert.equal(sumHists(records).get(1)?.calls, 2 * ROUNDS);
});

test('packets from the return value and an argument, USDT point events between two probes', async () => {
  const { records, code } = await traceRounds(build.exe, [
    `outer=uprobe:${build.exe}:outer:packets=ret`,
    `inner=uprobe:${build.exe}:inner:packets=arg0`,
    `round=usdt:${build.exe}:nested:round:packets=arg0`,
    `after=usdt:${build.exe}:nested:after`,
  ]);
  assert.equal(code, 0);
  const sums = sumHists(records);
  const [outer, inner, round, afterStage] = [sums.get(0), sums.get(1), sums.get(2), sums.get(3)];
  assert.ok(outer && inner && round && afterStage);
  // outer(i) returns i + 2; inner is called with i and i + 1; nested:round carries 3
  assert.equal(outer.packets, (ROUNDS * (ROUNDS - 1)) / 2 + 2 * ROUNDS);
  assert.equal(inner.packets, ROUNDS * ROUNDS);
  assert.equal(round.calls, ROUNDS);
  assert.equal(round.packets, 3 * ROUNDS);
  // the first point stage starts each timeline: counted, never timed
  assert.equal(round.buckets.size, 0);
  assert.equal(afterStage.calls, ROUNDS);
  assert.equal([...afterStage.buckets.values()].reduce((a, c) => a + c, 0), ROUNDS);
  assert.equal(afterStage.unmatched, 0);
  // round → after spans outer and rec(5): longer than outer alone
  assert.ok(afterStage.sum_ns / ROUNDS > outer.sum_ns / ROUNDS, 'the round spans outer');
  const st = records.filter((r): r is StageRecord => r.type === 'stage');
  assert.equal(st[2]?.kind, 'usdt');
  assert.equal(st[2]?.packets, 'arg0');
});

test('stages told apart by an argument share one site: each counts its own calls, nested inside each other as they ran', async () => {
  // rec(5) recurses down to rec(1): two stages on rec, by its argument, and inner's calls with x of 1 or 2
  // (outer(i) calls inner(i) and inner(i + 1): rounds 0, 1 and 2 make 1, 2 and 1 of them)
  const { records, code } = await traceRounds(build.exe, [
    `r5=uprobe:${build.exe}:rec:arg0=0x5`,
    `r1=uprobe:${build.exe}:rec:arg0=0x1`,
    `in12=uprobe:${build.exe}:inner:arg0=0x1,0x2`,
  ]);
  assert.equal(code, 0);
  const stages = records.filter((r): r is StageRecord => r.type === 'stage');
  for (const s of stages) assert.equal(s.ok, true, `stage ${s.name}: ${s.error}`);
  const sums = sumHists(records);
  const [r5, r1, in12] = [sums.get(0)!, sums.get(1)!, sums.get(2)!];
  assert.equal(r5.calls, ROUNDS, 'rec(5) once a round');
  assert.equal(r1.calls, ROUNDS, 'rec(1) once a round');
  assert.equal(in12.calls, 4, 'inner(1) or inner(2): four calls in all');
  for (const s of [r5, r1, in12]) assert.equal(s.unmatched, 0, 'the calls of no stage pair and are not counted');
  // rec(1) runs inside rec(5) (the rec(4..2) between are no stage): the stage tree says so
  const inside = new Map<number, number>();
  for (const r of records) if (r.type === 'hist' && r.stage === 1) for (const [parent, calls] of r.inside ?? []) inside.set(parent, (inside.get(parent) ?? 0) + calls);
  assert.deepEqual([...inside], [[0, ROUNDS]]);
  // rec(1) does the least work: its latency is below rec(5)'s, which holds four more levels
  assert.ok(r1.sum_ns / r1.calls < r5.sum_ns / r5.calls, 'mean rec(1) < mean rec(5)');
});

test('two stages at one site that claim the same argument value are refused with the reason, before anything attaches', async () => {
  const target = await startNested(build.exe);
  targets.push(target);
  const run = runTracer(['--pid', String(target.pid), '--no-calibrate',
    '--stage', `a=uprobe:${build.exe}:rec:arg0=0x5`, '--stage', `b=uprobe:${build.exe}:rec:arg0=0x1,0x5`]);
  run.ready.catch(() => undefined);
  assert.notEqual(await run.exited, 0);
  const errors = run.records.filter((r) => r.type === 'error').map((r) => (r.type === 'error' ? r.message : ''));
  assert.ok(errors.some((m) => /two stages at one site match the same argument value/.test(m)), errors.join('\n'));
  assert.ok(!run.records.some((r) => r.type === 'hist'), 'nothing was counted');
  target.stop();
});
