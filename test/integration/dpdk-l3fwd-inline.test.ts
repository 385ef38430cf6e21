// `--auto-stages --mode sampled` on l3fwd built with -g (the Makefile's -O3 kept): the LPM path is
// inlined into its poll loop, and the pre-sample's DWARF inline frames make inline:BIN:FUNC stages
// of it beside the out-of-line path functions and the ethdev stages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendUdp } from './dpdk-lab.ts';
import { startL3fwdLab, type L3fwdLab } from '../helpers/l3fwd.ts';
import { ROOT, TRACER, buildTracer } from './tracer-util.ts';
import type { Session } from '../../src/core/session.ts';

const NAME = `dpdki${process.pid % 10000}`;
let l3: L3fwdLab | undefined;
let tmp = '';

before(async () => {
  buildTracer();
  l3 = await startL3fwdLab(NAME, '-g');
});

after(async () => {
  await l3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('sampled --auto-stages on a -g l3fwd: code inlined into the poll loop becomes inline: stages with samples', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-inline-'));
  const out = join(tmp, 's.json');
  const stop = new AbortController();
  const sending = sendUdp(l3!.lab, 20000, 60, 8, stop.signal).catch(() => 0);
  let err = '';
  let code: number | null;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(l3!.app.pid), '--tracer', TRACER,
      '--auto-stages', '--mode', 'sampled', '--packets-from', `dpdk:${l3!.app.telemetry}:1:tx`, '--duration', '6', '-o', out],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  } finally {
    stop.abort();
    await sending;
  }
  console.log(err.split('\n').filter((l) => /^(auto-stages: (path| {2}[A-Za-z0-9_.-]+=)|stage [A-Za-z0-9_.-]+: .*inlined instances)/.test(l)).join('\n'));
  assert.equal(code, 0, err);
  const added = [...err.matchAll(/^auto-stages: {3}([A-Za-z0-9_.-]+)=((?:uprobe|inline):\S+): /gm)].map((m) => ({ name: m[1]!, spec: m[2]! }));
  const inline = added.filter((a) => a.spec.startsWith('inline:'));
  assert.ok(inline.length > 0, `no inline: stage found\n${err}`);
  const s = JSON.parse(readFileSync(out, 'utf8')) as Session;
  const st = s.sampled!.stages;
  for (const a of added) assert.ok(st.find((y) => y.name === a.name), `stage ${a.name} (${a.spec}) is in the sampled session`);
  // code the 1 s pre-sample saw once may get no samples in 6 s (once: _mm_loadu_si128); the inline
  // stages it saw most (rte_rdtsc: ~200-280 samples) do
  const withSamples = inline.filter((a) => (st.find((y) => y.name === a.name)?.inclusive_samples ?? 0) > 0);
  assert.ok(withSamples.length > 0, `no inline: stage has samples: ${st.map((x) => `${x.name} ${x.inclusive_samples}`).join(', ')}`);
  console.log(`-g l3fwd --auto-stages --mode sampled: ${st.map((x) => `${x.name} ${x.samples} (${x.inclusive_samples} inclusive)`).join(', ')} of ${s.sampled!.samples} samples`);
});

test('exact --auto-stages on a -g l3fwd: code inlined into the loop is named and skipped (no call to probe)', async () => {
  const out = join(tmp || (tmp = mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-inline-'))), 'exact.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--pid', String(l3!.app.pid), '--tracer', TRACER,
    '--auto-stages', '--duration', '2', '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  const lines = err.split('\n').filter((l) => /^auto-stages: (path| {2}\S)/.test(l));
  console.log(lines.join('\n'));
  assert.equal(code, 0, err);
  // idle or not, the poll loop reads the TSC on every pass (rte_rdtsc, inlined): the sample sees it
  assert.ok(lines.some((l) => /^auto-stages: {3}\S+: \d+ samples, but no ELF symbol names it \(inlined: an inline: stage in --mode sampled\): skipped$/.test(l)), err);
  assert.ok(!/=inline:/.test(err), 'no inline: stage in exact mode');
  const s = JSON.parse(readFileSync(out, 'utf8')) as Session;
  for (const m of err.matchAll(/^auto-stages: {3}([A-Za-z0-9_.-]+)=uprobe:/gm)) {
    const st = s.stages.find((x) => x.name === m[1]);
    assert.ok(st && st.calls > 0, `${m[1]}: ${st?.calls} calls`);
  }
});
