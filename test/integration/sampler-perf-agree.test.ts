// The sampler's user call chains against `perf record --call-graph dwarf` (Debian's linux-perf), the
// reference for code without frame pointers, on the same process over the same seconds: -O2 -g
// targets without frame pointers — one whose hot loop is inlined helpers under static functions
// (inline_chain), one whose comparator is called from inside libc's qsort (callback_chain: libc
// has no frame pointers, its merge sort recurses). Both are named from the same debug files (the
// -g build itself, libc's from /usr/lib/debug where installed), inlined functions as frames
// (perf script --inline). For the leaves both saw, the whole chain must agree for ≥ 95% of our
// samples. Also DPDK's l3fwd (-O3 -g, no frame pointers) forwarding from a pcap port to a null
// port, its libraries as Debian ships them (stripped). The two sample different instants, so a
// recursion's depth at the sampled moment is a random variable of its own: chains are compared
// with direct recursion folded into one frame (as flamegraph tools offer), and the depth
// distributions compared by their means.
//   node --import tsx --test test/integration/sampler-perf-agree.test.ts   (root)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../src/tracer/recorder.ts';
import { symbolizeSession } from '../../src/symbols/symbolize-session.ts';
import { agreement, foldRecursion, largestDifferences, perfChains, perfRecord, sessionChains, type Chain } from '../helpers/perf-compare.ts';
import { buildL3fwd, startL3fwd, writeUdpPcap, type L3fwd } from '../helpers/l3fwd.ts';
import { ROOT, TRACER, buildTracer, record, startExecutable, type Target } from './sampler-run.ts';

let dir = '';
let tracerBuildError: string | null = null;
const targets: Target[] = [];
let l3fwd: L3fwd | undefined;

before(() => {
  tracerBuildError = buildTracer();
  // a broken tracer build fails every test here, never skips them
  if (tracerBuildError) throw new Error(`pktpath-tracer must build: ${tracerBuildError}`);
  dir = mkdtempSync(join(tmpdir(), 'pktpath-perfagree-'));
});

after(async () => {
  await l3fwd?.stop();
  for (const t of targets) t.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Mean number of `fn` frames per sample, over the samples that have it. */
function meanDepth(cs: readonly Chain[], fn: string): number {
  let n = 0;
  let d = 0;
  for (const c of cs) {
    const k = c.names.filter((x) => x === fn).length;
    if (!k) continue;
    n += c.count;
    d += k * c.count;
  }
  return n ? d / n : 0;
}

async function compareTarget(name: string, inlined: string, recursive?: string): Promise<void> {
  const bin = join(dir, name);
  execFileSync('nice', ['cc', '-O2', '-g', '-o', bin, join(ROOT, 'test/targets', `${name}.c`)]);
  assert.doesNotMatch(execFileSync('objdump', ['-d', '--no-show-raw-insn', bin]).toString(), /<main>:\n\s*[0-9a-f]+:\s*push\s+%rbp\n\s*[0-9a-f]+:\s*mov\s+%rsp,%rbp/,
    'built without frame pointers');
  const t = await startExecutable(bin, ['60']);
  targets.push(t);
  await compare(name, t.pid, bin, inlined, recursive);
  t.stop();
}

/** Records `pid` with the tracer and perf over the same seconds and compares their chains. */
async function compare(name: string, pid: number, bin: string, inlined: string, recursive?: string): Promise<void> {
  const t = { pid };
  const perfData = join(dir, `${name}.perf.data`);
  let ok = false;
  // the machine is shared: a phase that took too few samples is repeated (bounded), never passed
  for (let attempt = 0; attempt < 3 && !ok; attempt++) {
    const [rec] = await Promise.all([record('tracer', t.pid, 499, 4), perfRecord(t.pid, 499, 4, perfData)]);
    const r = new Recorder({ host: 'localhost', pid: t.pid, sampleHz: 499 });
    for (const x of rec.records) r.record(x);
    const sym = await symbolizeSession(r.finish(), { tracer: TRACER, localBuilds: [bin], debuginfod: false });
    const rawOurs = sessionChains(sym.session);
    const rawRef = perfChains(perfData);
    const ours = foldRecursion(rawOurs);
    const ref = foldRecursion(rawRef);
    const a = agreement(ours, ref);
    if (a.ours < 300 || a.perf < 300) continue;
    ok = true;
    const diag = `${name}: ${JSON.stringify(a)}\n${largestDifferences(ours, ref).map((d) => `  ${(d.ours * 100).toFixed(1)}% vs perf ${(d.perf * 100).toFixed(1)}%  ${d.chain}`).join('\n')}`;
    console.log(diag);
    assert.ok(a.covered > 0.95, `share of our samples at leaves perf also saw: ${diag}`);
    assert.ok(a.callers >= 0.95, `callers agree with perf for the same leaves: ${diag}`);
    const inl = (cs: typeof ours): number => cs.filter((c) => c.names.includes(inlined)).reduce((n, c) => n + c.count, 0);
    assert.ok(inl(ours) > 0 && inl(ref) > 0, `${inlined} appears as an inlined frame in both: ours ${inl(ours)}, perf ${inl(ref)}`);
    if (recursive) {
      const [d1, d2] = [meanDepth(rawOurs, recursive), meanDepth(rawRef, recursive)];
      console.log(`${name}: mean ${recursive} depth ${d1.toFixed(2)}, perf ${d2.toFixed(2)}`);
      assert.ok(d1 > 2 && Math.abs(d1 / d2 - 1) < 0.1, `mean ${recursive} depth: ours ${d1}, perf ${d2}`);
    }
  }
  assert.ok(ok, `${name}: fewer than 300 samples in 3 attempts (machine too busy)`);
}

test('inlined helpers under static functions: callers agree with perf --call-graph dwarf', async () => {
  await compareTarget('inline_chain', 'mix_round');
});

test('a comparator called from inside libc (no frame pointers, recursion): callers agree with perf --call-graph dwarf', async () => {
  await compareTarget('callback_chain', 'key_of', 'msort_with_tmp');
});

test('l3fwd (DPDK example, -O3 -g, no frame pointers, forwarding from a pcap port): callers agree with perf --call-graph dwarf, inlined rte_eth_rx_burst included', async () => {
  const exe = buildL3fwd(join(dir, 'dpdk'));
  const pcap = join(dir, 'udp.pcap');
  writeUdpPcap(pcap, 1);
  l3fwd = await startL3fwd(exe, pcap, `pktpath-symbols-${process.pid}`);
  await compare('l3fwd', l3fwd.pid, exe, 'rte_eth_rx_burst');
  await l3fwd.stop();
  l3fwd = undefined;
});
