// Sampled mode takes a stage given by address (`uprobe:BIN:0xADDR`): the samples of the function
// that holds the address, by its symbol's range. On a real UDP sink under traffic (test/targets/
// udp_work.c, in its own network namespace, packets from its loopback's counter), a stage given by
// an address inside crunch() must get exactly the samples that matching crunch by name gives on the
// same recorded stacks, and most of the sink's CPU (crunch is its work).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { ROOT, addNetns, buildTracer, delNetns } from '../helpers/measure.ts';
import { attributeSamples } from '../../src/core/sampled.ts';
import type { Session } from '../../src/core/session.ts';

const execFileP = promisify(execFile);
const NS = 'stages-off';
const dir = mkdtempSync(join(tmpdir(), 'pp-stages-'));
const procs: ChildProcess[] = [];

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  delNetns(NS);
  rmSync(dir, { recursive: true, force: true });
});

test('sampled mode: a stage given by an address inside a function gets that function\'s samples', async (ctx) => {
  buildTracer();
  const exe = join(dir, 'udp_work');
  execFileSync('cc', ['-O2', '-g', '-o', exe, join(ROOT, 'test/targets/udp_work.c')]);
  delNetns(NS);
  addNetns(NS);
  const sinkProc = spawn('ip', ['netns', 'exec', NS, exe, 'sink', '9400'], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(sinkProc);
  const [first] = (await once(sinkProc.stdout!, 'data')) as [Buffer];
  assert.match(first.toString(), /ready/);
  procs.push(spawn('ip', ['netns', 'exec', NS, exe, 'send', '9400'], { stdio: 'ignore' }));

  const nm = execFileSync('nm', ['-S', '--defined-only', exe], { encoding: 'utf8' });
  const line = nm.split('\n').find((l) => / [Tt] crunch$/.test(l));
  assert.ok(line, 'nm lists crunch');
  const [start, size] = line.split(' ').map((x) => parseInt(x, 16)) as [number, number];
  assert.ok(size > 8);
  const inside = `0x${(start + 5).toString(16)}`;
  const file = join(dir, 'offsets.pktpath.json');
  const cli = join(ROOT, 'src', 'cli', 'main.ts');
  const rec = await execFileP(process.execPath, [
    '--import', 'tsx', cli, 'record', '--mode', 'sampled', '--pid', String(sinkProc.pid),
    '--stage', `parse=uprobe:${exe}:parse`, '--stage', `crunch=uprobe:${exe}:${inside}`,
    '--packets-from', `dev:lo:rx@${NS}`, '--sample-hz', '999', '--duration', '4', '-o', file,
  ], { cwd: ROOT, maxBuffer: 64 << 20 });
  ctx.diagnostic(rec.stderr.trim().split('\n').slice(-2).join(' / '));
  const session = JSON.parse(readFileSync(file, 'utf8')) as Session;
  const m = session.sampled!;
  const crunch = m.stages.find((s) => s.name === 'crunch')!;
  assert.equal(crunch.symbol, 'crunch', 'the address names its function');
  assert.deepEqual(crunch.ranges, [{ module: exe, lo: start, hi: start + size }]);
  assert.equal(crunch.spec, `uprobe:${exe}:${inside}`, 'the stage keeps the spec as given');
  const byName = attributeSamples(session.frames, session.stacks, [
    { name: 'parse', symbol: 'parse', module: 'udp_work' },
    { name: 'crunch', symbol: 'crunch', module: 'udp_work' },
  ]);
  ctx.diagnostic(`samples ${m.samples}: crunch by address ${crunch.samples}, by name ${byName.stages[1]!.samples}; packets ${m.packets}`);
  assert.equal(crunch.samples, byName.stages[1]!.samples);
  assert.equal(crunch.inclusive_samples, byName.stages[1]!.inclusive_samples);
  assert.ok(m.packets > 1000, `the sink received ${m.packets} packets`);
  assert.ok(crunch.samples > 0.1 * m.samples, `crunch is much of the sink's CPU: ${crunch.samples} of ${m.samples} samples`);
  const rep = await execFileP(process.execPath, ['--import', 'tsx', cli, 'report', file, '--json'], { cwd: ROOT, maxBuffer: 64 << 20 });
  const r = JSON.parse(rep.stdout) as { sampled: { stages: Array<{ name: string; ns_per_packet: number }> } };
  const ns = r.sampled.stages.find((s) => s.name === 'crunch')!.ns_per_packet;
  ctx.diagnostic(`crunch ${ns.toFixed(0)} ns per packet`);
  assert.ok(ns > 100, `crunch ${ns} ns per packet`);
});
