// The first instruction at a probed site decides what a uprobe costs. For sites of every kind the
// tracer decodes (push, nops, endbr64, mov, sub, lea, jmp), the target times its own calls untraced
// and traced, and the tracer's single_step flag must match what the kernel really did: a
// single-stepped site costs microseconds more than an emulated one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CalibrationRecord, StageRecord } from '../../src/tracer/protocol.ts';
import { buildTracer, ROOT, runTracer } from './tracer-util.ts';

const SITES = ['push', 'nop5', 'nop4', 'nop4x', 'nop1', 'endbr', 'mov', 'sub', 'lea', 'jmp'];
let dir: string;
let exe: string;
let proc: ChildProcess;
let out = '';

function waitFor(re: RegExp): Promise<string> {
  return new Promise((res, rej) => {
    const check = (): void => {
      const m = re.exec(out);
      if (m) {
        proc.stdout?.off('data', check);
        res(m[0]);
      }
    };
    proc.stdout?.on('data', check);
    proc.once('exit', () => rej(new Error('target exited')));
    check();
  });
}

/** Median per-call time of each site, the lower of two runs (a busy machine only adds time). */
async function timeSites(): Promise<Map<string, number>> {
  const a = await timeSitesOnce();
  const b = await timeSitesOnce();
  return new Map([...a].map(([k, v]) => [k, Math.min(v, b.get(k) ?? v)]));
}

async function timeSitesOnce(): Promise<Map<string, number>> {
  out = '';
  proc.stdin?.write('run 3000\n');
  const block = await waitFor(/(\{"site".*\n)+done 3000/);
  const m = new Map<string, number>();
  for (const line of block.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { site: string; ns: number };
    m.set(r.site.replace('site_', ''), r.ns);
  }
  return m;
}

before(async () => {
  buildTracer();
  dir = mkdtempSync(join(tmpdir(), 'pktpath-sites-'));
  exe = join(dir, 'sites');
  execFileSync('nice', ['cc', '-O2', '-o', exe, join(ROOT, 'test/targets/tracer-sites.c')]);
  proc = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(/ready\n/);
});
after(() => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the single_step flag matches what each kind of site costs on this kernel', async () => {
  const untraced = await timeSites();
  const args = ['--pid', String(proc.pid), '--interval-ms', '200'];
  for (const s of SITES) args.push('--stage', `${s}=uprobe:${exe}:site_${s}`);
  const run = runTracer(args);
  await run.ready;
  const traced = await timeSites();
  run.proc.kill('SIGINT');
  assert.equal(await run.exited, 0);

  const stages = run.records.filter((r): r is StageRecord => r.type === 'stage');
  const cal = new Map(run.records.filter((r): r is CalibrationRecord => r.type === 'calibration').map((c) => [c.stage, c]));
  const rows: string[] = [];
  for (const st of stages) {
    assert.equal(st.ok, true, `${st.name}: ${st.error}`);
    const added = traced.get(st.name)! - untraced.get(st.name)!;
    rows.push(`${st.name}: ${st.first_insn} single_step=${st.single_step} +${added} ns (calibrated ${cal.get(st.id)?.class} ${cal.get(st.id)?.outer_ns} ns)`);
  }
  // emulated sites cost ~1-1.5 us, single-stepped ones ~5-10 us, by boot and machine: the line between them is
  // halfway between what the calibration measured for each kind on this run
  const outer = (single: boolean) => stages.filter((st) => st.single_step === single).map((st) => cal.get(st.id)?.outer_ns ?? NaN);
  const line = (Math.max(...outer(false)) + Math.min(...outer(true))) / 2;
  assert.ok(Number.isFinite(line) && Math.min(...outer(true)) > 2 * Math.max(...outer(false)), `single-stepped sites cost more than twice the emulated ones\n${rows.join('\n')}`);
  for (const st of stages) {
    const added = traced.get(st.name)! - untraced.get(st.name)!;
    assert.ok(added > 200, `${st.name}: a probe costs something (${added} ns)`);
    assert.equal(added > line, st.single_step, `${st.name} (${st.first_insn}): +${added} ns but single_step=${st.single_step} (line ${line.toFixed(0)} ns)\n${rows.join('\n')}`);
    const c = cal.get(st.id);
    assert.ok(c, `${st.name} is calibrated`);
    assert.equal(c.class === 'single_step', st.single_step, `${st.name}: calibration class ${c.class}`);
    // the calibrated cost to the caller matches the site's measured cost within a factor of 2
    assert.ok(c.outer_ns > added / 2 && c.outer_ns < added * 2, `${st.name}: calibrated outer ${c.outer_ns} ns vs measured +${added} ns\n${rows.join('\n')}`);
  }
  assert.deepEqual(stages.map((s) => s.name), SITES);
  const singles = stages.filter((s) => s.single_step).map((s) => s.name).sort();
  assert.deepEqual(singles, ['endbr', 'lea', 'mov', 'nop4x', 'sub'], rows.join('\n'));
});
