// inline: and lines: stages on a real -g target without frame pointers: `pktpath record --mode
// sampled` resolves them through the tracer's --dwarf mode to address ranges and attributes the
// real tracer's samples by them. Checked against binutils addr2line (its own DWARF reader): for
// every sampled address of the target, whether it is in a stage's ranges agrees with addr2line's
// line and inline chain, and the stage counts are what that classification predicts. A stripped
// build's stages resolve through its debug file (--debug-file); exact mode refuses both kinds.
//   node --import tsx --test test/integration/stages-dwarf.test.ts   (root)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../../src/core/session.ts';
import { runCli } from '../helpers/cli-run.ts';
import { buildL3fwd, startL3fwd, writeUdpPcap, type L3fwd } from '../helpers/l3fwd.ts';
import { buildReport } from '../../src/core/report.ts';
import { ROOT, TRACER, buildTracer, startExecutable, type Target } from './sampler-run.ts';
import { startSshLab } from '../helpers/sshd.ts';

let dir = '';
let target: Target | undefined;
let l3fwd: L3fwd | undefined;
let tracerBuildError: string | null = null;
const SRC = join(ROOT, 'test/targets/inline_chain.c');
const HELPER_LINES = [13, 15]; // mix_step's body in inline_chain.c

before(async () => {
  tracerBuildError = buildTracer();
  // a broken tracer build fails every test here, never skips them
  if (tracerBuildError) throw new Error(`pktpath-tracer must build: ${tracerBuildError}`);
  process.env.PKTPATH_TRACER = TRACER;
  dir = mkdtempSync(join(tmpdir(), 'pktpath-dwarfstages-'));
  mkdirSync(join(dir, 'run'));
  // -O2 leaves out frame pointers: stacks come from DWARF CFI (--unwind dwarf, the default)
  execFileSync('nice', ['cc', '-O2', '-g', '-o', join(dir, 'inline_chain'), SRC]);
  execFileSync('objcopy', ['--strip-all', join(dir, 'inline_chain'), join(dir, 'run', 'inline_chain')]);
});

after(async () => {
  await l3fwd?.stop();
  target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Where { line: number; file: string; fns: string[] }

/** binutils addr2line -i for each address: innermost file:line and the inline chain's functions. */
function addr2line(bin: string, addrs: string[]): Map<string, Where> {
  const out = execFileSync('addr2line', ['-a', '-f', '-i', '-e', bin, ...addrs], { encoding: 'utf8' }).split('\n');
  const m = new Map<string, Where>();
  let cur: Where | null = null;
  for (let i = 0; i < out.length; i++) {
    const l = out[i]!;
    if (/^0x[0-9a-f]+$/.test(l)) {
      cur = { line: 0, file: '', fns: [] };
      m.set(`0x${BigInt(l).toString(16)}`, cur);
    } else if (cur && l) {
      const loc = out[++i] ?? '';
      const lm = /^(.*):(\d+)/.exec(loc);
      if (cur.fns.length === 0 && lm) {
        cur.file = lm[1]!;
        cur.line = Number(lm[2]);
      }
      cur.fns.push(l);
    }
  }
  return m;
}

async function recordSampled(pid: number, stages: string[], extra: string[] = [], packetsFrom = 'dev:lo'): Promise<{ s: Session; stderr: string }> {
  const file = join(dir, `s-${Date.now()}.pktpath.json`);
  const r = await runCli('record', '--mode', 'sampled', '--pid', String(pid), ...stages.flatMap((x) => ['--stage', x]),
    '--packets-from', packetsFrom, '--duration', '3', '--sample-hz', '499', '--no-symbolize', '--tracer', TRACER, '-o', file, ...extra);
  assert.equal(r.code, 0, r.stderr);
  return { s: JSON.parse(readFileSync(file, 'utf8')) as Session, stderr: r.stderr };
}

/** Stage counts predicted by addr2line: per stack, the first frame (from the leaf) that a stage claims. */
function predicted(s: Session, bin: string, claims: Array<(w: Where) => boolean>): { counts: number[]; addrs: Map<string, Where> } {
  const byId = new Map(s.frames.map((f) => [f.id, f]));
  const addrs = new Set<string>();
  const mine = (m: string): boolean => m.slice(m.lastIndexOf('/')) === bin.slice(bin.lastIndexOf('/'));
  for (const f of s.frames) if (!f.kernel && f.elf_addr && mine(f.module)) addrs.add(`0x${BigInt(f.elf_addr).toString(16)}`);
  const where = addr2line(bin, [...addrs]);
  const counts = claims.map(() => 0);
  for (const st of s.stacks) {
    for (const id of st.frames) {
      const f = byId.get(id)!;
      if (f.kernel || !f.elf_addr || !mine(f.module)) continue;
      const w = where.get(`0x${BigInt(f.elf_addr).toString(16)}`)!;
      const k = claims.findIndex((c) => c(w));
      if (k >= 0) {
        counts[k]! += st.count;
        break;
      }
    }
  }
  return { counts, addrs: where };
}

test('inline: and lines: stages on a -g build attribute samples as addr2line reads its DWARF', async () => {
  const bin = join(dir, 'inline_chain');
  target = await startExecutable(bin, ['60']);
  const [a, b] = HELPER_LINES;
  const { s, stderr } = await recordSampled(target.pid, [`step=lines:${bin}:inline_chain.c:${a}-${b}`, `round=inline:${bin}:mix_round`]);
  assert.match(stderr, /stage round: mix_round: \d+ inlined instances, \d+ out-of-line copies, \d+ ranges, \d+ bytes/);
  assert.match(stderr, /stage step: \S+test\/targets\/inline_chain\.c:13-15: \d+ ranges/);
  const st = new Map(s.sampled!.stages.map((x) => [x.name, x]));
  assert.equal(st.get('round')!.symbol, `inline:${bin}:mix_round`, 'the stage keeps its spec');
  const p = predicted(s, bin, [
    (w) => w.file.endsWith('inline_chain.c') && w.line >= a! && w.line <= b!,
    (w) => w.fns.includes('mix_round'),
  ]);
  assert.deepEqual([st.get('step')!.samples, st.get('round')!.samples], p.counts, 'counts as addr2line predicts');
  const total = s.sampled!.samples;
  assert.ok(total > 50, `samples ${total}`); // a loaded shared machine gives the target a fraction of a CPU
  // the hot loop is the helpers' code: nearly every sample is in one of the two stages
  assert.ok((p.counts[0]! + p.counts[1]!) / total > 0.9, `share in step+round: ${(p.counts[0]! + p.counts[1]!) / total}`);
  assert.ok(p.counts[0]! > 0 && p.counts[1]! > 0, `both stages sampled: ${p.counts}`);
  target.stop();
  target = undefined;
});

test('over SSH (--host): the host\'s tracer reads the host\'s DWARF; the stage resolves to the same ranges as locally', async () => {
  const bin = join(dir, 'inline_chain');
  target = await startExecutable(bin, ['60']);
  const ssh = await startSshLab();
  try {
    const local = await recordSampled(target.pid, [`round=inline:${bin}:mix_round`]);
    const remote = await recordSampled(target.pid, [`round=inline:${bin}:mix_round`], ['--host', ssh.alias.key, '--ssh-config', ssh.config]);
    const resolved = (e: string): string | undefined => /stage round: mix_round: \d+ inlined instances, \d+ out-of-line copies, \d+ ranges, \d+ bytes/.exec(e)?.[0];
    assert.ok(resolved(remote.stderr), `resolved over SSH:\n${remote.stderr}`);
    assert.equal(resolved(remote.stderr), resolved(local.stderr), 'the same ranges over SSH as locally');
    assert.equal(remote.s.target.host, ssh.alias.key);
    const round = remote.s.sampled!.stages[0]!;
    assert.ok(remote.s.sampled!.samples > 50 && round.samples / remote.s.sampled!.samples > 0.5, `share in round over SSH: ${round.samples} of ${remote.s.sampled!.samples}`);
  } finally {
    await ssh.stop();
    target.stop();
    target = undefined;
  }
});

test('a stripped build\'s inline: stage resolves through its -g build (same build-id)', async () => {
  const run = join(dir, 'run', 'inline_chain');
  target = await startExecutable(run, ['60']);
  const fail = await runCli('record', '--mode', 'sampled', '--pid', String(target.pid), '--stage', `round=inline:${run}:mix_round`,
    '--packets-from', 'dev:lo', '--duration', '2', '--no-debuginfod', '--debug-dir', join(dir, 'none'), '--tracer', TRACER, '-o', join(dir, 'x.json'));
  assert.equal(fail.code, 2, fail.stderr);
  assert.match(fail.stderr, /run\/inline_chain has no DWARF and no debug file was found for build-id [0-9a-f]+: round need it/);
  const { s, stderr } = await recordSampled(target.pid, [`round=inline:${run}:mix_round`],
    ['--debug-file', join(dir, 'inline_chain'), '--no-debuginfod', '--debug-dir', join(dir, 'none')]);
  assert.match(stderr, /run\/inline_chain: DWARF from \S+\/inline_chain \(local-build\)/);
  const round = s.sampled!.stages[0]!;
  assert.ok(round.samples / s.sampled!.samples > 0.9, `share in round: ${round.samples / s.sampled!.samples}`);
  target.stop();
  target = undefined;
});

test('exact mode refuses inline: and lines: stages before anything runs', async () => {
  for (const spec of ['inline:/bin/true:f', 'lines:/bin/true:a.c:1-2']) {
    const r = await runCli('record', '--pid', '1', '--stage', `x=${spec}`, '-o', join(dir, 'never.json'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /stage x: \S+ is for sampled mode only \(--mode sampled --packets-from \.\.\.\): (inlined code|a run of source lines) has no call and return to probe/);
  }
});

test('l3fwd (-O3 -g): the LPM lookup and the Rx burst, both inlined, as inline: stages with packets from DPDK telemetry', async () => {
  const exe = buildL3fwd(join(dir, 'dpdk'));
  const pcap = join(dir, 'udp.pcap');
  writeUdpPcap(pcap, 1);
  l3fwd = await startL3fwd(exe, pcap, `pktpath-symbols-st-${process.pid}`);
  const { s, stderr } = await recordSampled(l3fwd.pid, [`lookup=inline:${exe}:rte_lpm_lookupx4`, `rx=inline:${exe}:rte_eth_rx_burst`], [],
    `dpdk:${l3fwd.telemetry}:0:rx`);
  assert.match(stderr, /stage lookup: rte_lpm_lookupx4: 1 inlined instances/);
  const st = new Map(s.sampled!.stages.map((x) => [x.name, x]));
  const p = predicted(s, exe, [(w) => w.fns.includes('rte_lpm_lookupx4'), (w) => w.fns.includes('rte_eth_rx_burst')]);
  assert.deepEqual([st.get('lookup')!.samples, st.get('rx')!.samples], p.counts, 'counts as addr2line predicts');
  assert.ok(p.counts[0]! > 0 && p.counts[1]! > 0, `both stages sampled: ${p.counts} of ${s.sampled!.samples}`);
  assert.ok(s.sampled!.packets > 0, 'telemetry counted packets');
  const rep = buildReport(s);
  console.log(JSON.stringify({ pps: rep.sampled?.packets_per_second, stages: rep.sampled?.stages.map((x) => ({ name: x.name, samples: x.samples, ns_per_packet: x.ns_per_packet })) }));
  await l3fwd.stop();
  l3fwd = undefined;
});
