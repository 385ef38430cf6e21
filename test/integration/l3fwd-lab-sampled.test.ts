// The acceptance scenario of sampled stages on a real DPDK app, end to end: Debian's l3fwd built as
// a user builds it (its own Makefile, -O3, -g added, no frame pointers, Rx checksum offload off for
// af_packet), forwarding UDP between two network namespaces over af_packet, recorded by the
// `pktpath record --mode sampled` command line with rx/tx as `ethdev:` stages and the LPM lookup
// as an `inline:` stage, while `perf record --call-graph dwarf` samples the same process over the
// same seconds. Stages must resolve (ethdev ones into the af_packet PMD) and get samples; the call
// chains, inlined functions as frames, must agree with perf's for ≥ 95% of our samples.
// The LPM lookup is ~1 ns per packet, inlined twice: rte_lpm_lookupx4 for each 4 packets of a
// burst (stage `lookup`), rte_lpm_lookup for a burst's last 1-3 (stage `lookup1`, ~1 in 5 of the
// lookup's samples). Together ~0.02-0.1% of the samples at the 30-300 kpps a Python sender reaches
// here, hence 30 s at 999 Hz; a recording where `lookup` got none, or with too few samples on a
// busy machine, is repeated once.
//   flock /work/heavy.lock node --import tsx --test test/integration/l3fwd-lab-sampled.test.ts   (root)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../../src/core/session.ts';
import { buildReport } from '../../src/core/report.ts';
import { agreement, foldRecursion, largestDifferences, perfChains, perfRecord, sessionChains, type Chain } from '../helpers/perf-compare.ts';
import { buildL3fwd, startL3fwdAfPacket, type L3fwd } from '../helpers/l3fwd.ts';
import { sendUdp, startNsLab, type NsLab } from './dpdk-lab.ts';
import { ROOT, TRACER, buildTracer } from './sampler-run.ts';

const NAME = `l3s${process.pid % 100000}`;
const HZ = 999;
const SECONDS = 30;
const PPS = 300_000;

let dir = '';
let exe = '';
let tracerBuildError: string | null = null;
let lab: NsLab | undefined;
let l3fwd: L3fwd | undefined;
const children = new Set<ChildProcess>();
const stopTraffic = new AbortController();
const stopPerf = new AbortController();

before(async () => {
  tracerBuildError = buildTracer();
  // a broken tracer build fails every test here, never skips them
  if (tracerBuildError) throw new Error(`pktpath-tracer must build: ${tracerBuildError}`);
  dir = mkdtempSync(join(tmpdir(), 'pktpath-l3fwd-lab-'));
  exe = buildL3fwd(join(dir, 'dpdk'));
  lab = startNsLab(NAME);
  l3fwd = await startL3fwdAfPacket(exe, lab, `pktpath-${NAME}`);
});

after(async () => {
  stopTraffic.abort();
  stopPerf.abort();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await l3fwd?.stop();
  lab?.down();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `pktpath record` as a user starts it; `onSampling` runs once it says sampling begins. */
function recordCli(args: string[], onSampling: () => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', ...args], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PKTPATH_STREAM_STRICT: '1' },
    });
    children.add(c);
    let err = '';
    let started = false;
    c.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (!started && /^sampled mode: /m.test(err)) {
        started = true;
        onSampling();
      }
    });
    c.on('error', reject);
    c.once('close', (code) => {
      children.delete(c);
      resolve({ code, stderr: err });
    });
  });
}

/** Samples whose chain holds `fn` as a frame (inlined or not). */
const withFn = (cs: readonly Chain[], fn: string): number => cs.filter((c) => c.names.includes(fn)).reduce((n, c) => n + c.count, 0);
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

interface Recorded {
  s: Session;
  stderr: string;
  perfData: string;
  /** what the sink namespace received while the CLI ran */
  sink: number;
  /** the CLI's run, start to saved session */
  recordS: number;
}

/** One recording: the CLI with the three stages and perf on the same process, started together. */
async function recordWithPerf(attempt: number): Promise<Recorded> {
  const out = join(dir, `lab${attempt}.pktpath.json`);
  const perfData = join(dir, `lab${attempt}.perf.data`);
  let perf: Promise<void> | undefined;
  const sink0 = lab!.sinkRx();
  const t0 = Date.now();
  const rec = await recordCli(['--mode', 'sampled', '--pid', String(l3fwd!.pid), '--tracer', TRACER,
    '--stage', 'rx=ethdev:rx:0', '--stage', 'tx=ethdev:tx:1', '--stage', `lookup=inline:${exe}:rte_lpm_lookupx4`,
    '--stage', `lookup1=inline:${exe}:rte_lpm_lookup`,
    '--packets-from', `dpdk:${l3fwd!.telemetry}:0:rx`, '--duration', String(SECONDS), '--sample-hz', String(HZ),
    '--no-debuginfod', '-o', out], () => {
    perf = perfRecord(l3fwd!.pid, HZ, SECONDS, perfData, stopPerf.signal);
    perf.catch(() => undefined); // awaited below; an early failure must not go unhandled meanwhile
  });
  const recordS = (Date.now() - t0) / 1000;
  const sink = lab!.sinkRx() - sink0;
  assert.ok(perf, `the CLI never said sampling began:\n${rec.stderr}`);
  await perf;
  assert.equal(rec.code, 0, rec.stderr);
  return { s: JSON.parse(readFileSync(out, 'utf8')) as Session, stderr: rec.stderr, perfData, sink, recordS };
}

test('l3fwd over af_packet in the namespace lab: ethdev: and inline: stages sampled, callers agree with perf --call-graph dwarf', async () => {
  assert.equal(tracerBuildError, null, 'the tracer builds');
  const t0 = Date.now();
  // the forwarding loop keeps no frame pointer: its callers come from DWARF CFI alone
  const loop = execFileSync('objdump', ['-d', '--no-show-raw-insn', '--disassemble=lpm_main_loop', exe], { encoding: 'utf8' });
  const prologue = loop.slice(loop.indexOf('<lpm_main_loop>:')).split('\n').slice(1, 9).join('\n');
  assert.ok(prologue.includes('push') && !/mov\s+%rsp,%rbp/.test(prologue), `lpm_main_loop sets up a frame pointer:\n${prologue}`);
  // traffic covers every recording (the CLI's start included) and is stopped once they are done
  const traffic = sendUdp(lab!, PPS, 2 * (SECONDS + 30), 8, stopTraffic.signal).catch(() => undefined);
  for (let i = 0; i < 100 && lab!.sinkRx() === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(lab!.sinkRx() > 0, `l3fwd forwards nothing to the sink\n${l3fwd!.output().slice(-2000)}`);
  let r = await recordWithPerf(0);
  const enough = (x: Recorded): boolean => x.s.sampled!.samples >= 3000 && x.s.sampled!.stages.every((st) => st.name === 'lookup1' || st.samples > 0);
  if (!enough(r)) {
    console.log(`attempt 0: ${r.s.sampled!.samples} samples, per stage ${r.s.sampled!.stages.map((x) => `${x.name} ${x.samples}`).join(', ')}: once more`);
    r = await recordWithPerf(1);
  }
  stopTraffic.abort();
  await traffic;
  const { s, stderr, perfData, sink, recordS } = r;

  // every stage resolved, the ethdev ones into the af_packet PMD, the lookup into l3fwd's inlined copy
  assert.match(stderr, /stage rx: ethdev:rx:0 is ethdev port 0 rx_pkt_burst: \S*\/librte_net_af_packet\.so[.\d]*\+0x/);
  assert.match(stderr, /stage tx: ethdev:tx:1 is ethdev port 1 tx_pkt_burst: \S*\/librte_net_af_packet\.so[.\d]*\+0x/);
  assert.match(stderr, /stage lookup: rte_lpm_lookupx4: [1-9]\d* inlined instances, \d+ out-of-line copies, [1-9]\d* ranges/);
  assert.match(stderr, /stage lookup1: rte_lpm_lookup: \d+ inlined instances, \d+ out-of-line copies, [1-9]\d* ranges/);
  const m = s.sampled!;
  const st = new Map(m.stages.map((x) => [x.name, x]));
  assert.deepEqual([...st.keys()], ['rx', 'tx', 'lookup', 'lookup1']);
  for (const n of ['rx', 'tx']) {
    const rs = st.get(n)!.ranges ?? [];
    assert.ok(rs.length > 0 && rs.every((x) => /(^|\/)librte_net_af_packet\.so[.\d]*$/.test(x.module)), `${n} ranges: ${JSON.stringify(rs)}`);
  }
  for (const n of ['lookup', 'lookup1']) assert.ok(st.get(n)!.ranges?.every((x) => x.module.endsWith('l3fwd-shared')), `${n} ranges: ${JSON.stringify(st.get(n)!.ranges)}`);

  // the chains against perf's, inlined frames included
  const ours = foldRecursion(sessionChains(s));
  const ref = foldRecursion(perfChains(perfData));
  const a = agreement(ours, ref);
  const rep = buildReport(s).sampled!;
  const shares = rep.stages.map((x) => `${x.name} ${x.samples} samples (${pct(x.samples / m.samples)}, ${x.ns_per_packet?.toFixed(1)} ns/pkt)`).join(', ');
  const lk0 = st.get('lookup')!.samples + st.get('lookup1')!.samples;
  const inl = ['rte_lpm_lookupx4', 'rte_lpm_lookup', 'rte_eth_rx_burst', 'rte_eth_tx_burst'];
  console.log(`l3fwd over af_packet: ${(m.packets / m.window_s / 1000).toFixed(0)} kpps (telemetry; sink ${sink} while recording), ` +
    `${m.samples} samples in ${m.window_s.toFixed(2)} s (${m.unattributed} in no stage): ${shares}`);
  console.log(`  the LPM lookup (lookup + lookup1): ${lk0} samples, ${pct(lk0 / m.samples)}`);
  console.log(`  inlined frames, ours: ${inl.map((f) => `${f} ${withFn(ours, f)}`).join(', ')} of ${a.ours}; ` +
    `perf: ${inl.map((f) => `${f} ${withFn(ref, f)}`).join(', ')} of ${a.perf}`);
  console.log(`  agreement with perf: covered ${pct(a.covered)}, callers ${pct(a.callers)}, overlap ${pct(a.overlap)}\n` +
    `${largestDifferences(ours, ref).map((d) => `  ${pct(d.ours)} vs perf ${pct(d.perf)}  ${d.chain}`).join('\n')}`);
  console.log(`  record (CLI start to saved session) ${recordS.toFixed(1)} s; test ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  assert.ok(sink > 0 && m.packets > 0, `forwarded while recording: sink ${sink}, telemetry ${m.packets}`);
  assert.ok(a.ours >= 3000 && a.perf >= 3000, `too few samples (machine too busy?): ours ${a.ours}, perf ${a.perf}`);
  for (const n of ['rx', 'tx', 'lookup']) assert.ok(st.get(n)!.samples > 0, `stage ${n} got no samples: ${shares}`);
  // a lookup stage's samples are exactly those whose symbolized chain holds its function (no stage
  // is called from inside either): together a sliver of the loop, about as often as perf sees them
  const lk = st.get('lookup')!.samples + st.get('lookup1')!.samples;
  assert.equal(st.get('lookup')!.samples, withFn(ours, 'rte_lpm_lookupx4'), 'lookup stage = samples with the inlined rte_lpm_lookupx4 frame');
  assert.equal(st.get('lookup1')!.samples, withFn(ours, 'rte_lpm_lookup'), 'lookup1 stage = samples with an rte_lpm_lookup frame');
  assert.ok(lk / m.samples < 0.01, `lookup share ${pct(lk / m.samples)}`);
  const pk = (withFn(ref, 'rte_lpm_lookupx4') + withFn(ref, 'rte_lpm_lookup')) * (a.ours / a.perf);
  assert.ok(Math.abs(lk - pk) <= 3 * Math.sqrt(lk + pk) + 3, `LPM lookup samples: ours ${lk}, perf ${pk.toFixed(1)} (scaled to our count)`);
  assert.ok(a.covered > 0.95, `share of our samples at leaves perf also saw: ${pct(a.covered)}`);
  assert.ok(a.callers >= 0.95, `callers agree with perf for the same leaves: ${pct(a.callers)}`);
  for (const f of ['rte_eth_rx_burst', 'rte_lpm_lookupx4']) assert.ok(withFn(ours, f) > 0, `${f} is an inlined frame in our chains`);
  assert.ok(withFn(ref, 'rte_eth_rx_burst') > 0, 'rte_eth_rx_burst is an inlined frame in perf\'s chains');
});
