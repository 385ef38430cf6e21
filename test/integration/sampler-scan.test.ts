// The sampler's stack-scanning fallback (sample.bpf.c scans the user stack, sampler.c keeps the
// words that are return addresses and splices them where the frame-pointer walk lost callers):
// a function built without frame pointers gets its caller back, and on the demo forwarder the
// time in sendto/recvfrom and the static DPDK af_packet driver is attributed to fwd_tx/fwd_rx.
//   node --import tsx --test test/integration/sampler-scan.test.ts   (root)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildDemo, startDemoLab, type DemoLab } from '../helpers/lab.ts';
import { buildTracer, profile, record, startTarget, type Profile } from './sampler-run.ts';

let lab: DemoLab | undefined;
let tracerBuildError: string | null = null;

before(async () => {
  tracerBuildError = buildTracer();
  await buildDemo();
});

after(async () => {
  await lab?.stop();
});

interface Attribution {
  /** samples whose innermost user frame is one of `leaves` */
  leafSamples: number;
  /** of those, samples with one of `callers` among their user frames */
  withCaller: number;
  /** of those, samples where a scanned frame was spliced in */
  scanned: number;
}

function attribution(p: Profile, leaves: (fn: string) => boolean, callers: string[]): Attribution {
  const out: Attribution = { leafSamples: 0, withCaller: 0, scanned: 0 };
  for (const s of p.stacks) {
    const user = s.frames.map((id) => p.frames.get(id)).filter((f) => f !== undefined && !f.kernel);
    const leaf = user[0];
    if (!leaf || !leaves(leaf.fn)) continue;
    out.leafSamples += s.count;
    if (user.some((f) => f && callers.includes(f.fn))) out.withCaller += s.count;
    if ((s.scanned ?? 0) > 0) out.scanned += s.count;
  }
  return out;
}

function validStack(p: Profile): void {
  assert.deepEqual(p.problems, []);
  const unknown = [...p.frames.values()].filter((f) => !f.kernel && f.module === '[unknown]');
  assert.deepEqual(unknown.map((f) => f.addr), [], 'no user frame outside the executable mappings');
  for (const s of p.stacks) {
    const n = s.scanned ?? 0;
    assert.ok(Number.isInteger(n) && n >= 0 && n < s.frames.length, `scanned ${n} of ${s.frames.length} frames`);
  }
}

for (const flags of [['--unwind', 'fp'], ['--unwind', 'fp', '--no-bpf']]) {
  test(`--unwind fp: a function built without a frame pointer gets its frame-pointer caller back${flags.length > 2 ? ' (without BPF: the kernel copies the stack, the tracer scans it)' : ''}`, async (t) => {
    assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
    const target = await startTarget('scan_nofp', 25);
    try {
      const rec = await record('tracer', target.pid, 999, 3, flags);
      assert.equal(rec.exitCode, 0, rec.stderr);
      assert.deepEqual(rec.decodeWarnings, []);
      const p = profile(rec.records);
      validStack(p);
      const a = attribution(p, (fn) => fn === 'nofp_work', ['stage_outer']);
      t.diagnostic(`nofp_work leaf: ${a.leafSamples} samples, ${a.withCaller} with stage_outer, ${a.scanned} with scanned frames`);
      const heaviest = [...p.stacks].sort((x, y) => y.count - x.count).slice(0, 3);
      for (const s of heaviest) t.diagnostic(`${s.count}x scanned=${s.scanned ?? 0} ${s.frames.map((id) => p.frames.get(id)?.fn).join(' <- ')}`);
      assert.ok(a.leafSamples > 500, `samples in nofp_work: ${a.leafSamples}`);
      assert.ok(a.withCaller / a.leafSamples > 0.9, `stage_outer on ${a.withCaller} of ${a.leafSamples} nofp_work stacks`);
      assert.ok(a.scanned / a.leafSamples > 0.9, 'the recovered frame is marked as scanned');
      // the order is the real one: nofp_work <- stage_outer <- main
      const order = p.stacks.find((s) => {
        const names = s.frames.map((id) => p.frames.get(id)?.fn);
        return names[0] === 'nofp_work' && names[1] === 'stage_outer' && names[2] === 'main';
      });
      assert.ok(order, 'a stack reads nofp_work <- stage_outer <- main');
    } finally {
      target.stop();
    }
  });
}

// CFI over the copied stack needs no frame pointer and no scan: every frame comes from .eh_frame
for (const flags of [['--unwind', 'dwarf'], ['--unwind', 'dwarf', '--no-bpf']]) {
  test(`--unwind dwarf: the caller of a function without a frame pointer comes from its CFI, not a scan${flags.length > 2 ? ' (without BPF)' : ''}`, async (t) => {
    assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
    const target = await startTarget('scan_nofp', 25);
    try {
      const rec = await record('tracer', target.pid, 999, 3, flags);
      assert.equal(rec.exitCode, 0, rec.stderr);
      assert.deepEqual(rec.decodeWarnings, []);
      const hello = rec.records.find((r) => r.type === 'hello');
      assert.equal(hello?.type === 'hello' ? hello.unwind : undefined, 'dwarf');
      const p = profile(rec.records);
      validStack(p);
      const a = attribution(p, (fn) => fn === 'nofp_work', ['stage_outer']);
      t.diagnostic(`nofp_work leaf: ${a.leafSamples} samples, ${a.withCaller} with stage_outer, ${a.scanned} with scanned frames`);
      assert.ok(a.leafSamples > 500, `samples in nofp_work: ${a.leafSamples}`);
      assert.ok(a.withCaller / a.leafSamples > 0.99, `stage_outer on ${a.withCaller} of ${a.leafSamples} nofp_work stacks`);
      assert.equal(a.scanned, 0, 'nothing needed the scan');
      // every user frame says how it was found: the sampled pc, then CFI, to _start
      let cfiUser = 0;
      let userStacks = 0;
      for (const s of p.stacks) {
        assert.equal(s.found?.length, s.frames.length, 'one letter per frame');
        const user = s.found!.replace(/^k+/, '');
        userStacks += s.count;
        if (/^rc+$/.test(user)) cfiUser += s.count;
        const names = s.frames.map((id) => p.frames.get(id)!).filter((f) => !f.kernel).map((f) => f.fn);
        if (names[0] === 'nofp_work') assert.deepEqual(names.slice(0, 3), ['nofp_work', 'stage_outer', 'main']);
      }
      assert.ok(cfiUser / userStacks > 0.99, `user frames found by CFI in ${cfiUser} of ${userStacks} samples`);
    } finally {
      target.stop();
    }
  });
}

test('on the demo forwarder, time in sendto/recvfrom/af_packet is attributed to fwd_tx/fwd_rx (default: --unwind dwarf)', async (t) => {
  assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
  lab = await startDemoLab({ name: `pk${process.pid % 100000}` });
  const traffic = lab.traffic({ pps: 20000, seconds: 5 });
  const rec = await record('tracer', lab.fwdPid, 999, 3);
  await traffic;
  assert.equal(rec.exitCode, 0, rec.stderr);
  assert.deepEqual(rec.decodeWarnings, []);
  const p = profile(rec.records);
  validStack(p);
  const io = (fn: string): boolean => /^(__libc_)?(sendto|recvfrom|__send|__recv)$/.test(fn) || fn.startsWith('eth_af_packet_');
  const a = attribution(p, io, ['fwd_tx', 'fwd_rx']);
  const stages = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'];
  const all = attribution(p, () => true, stages);
  t.diagnostic(`io leaves: ${a.leafSamples} samples, ${a.withCaller} with fwd_tx/fwd_rx, ${a.scanned} scanned`);
  t.diagnostic(`all: ${all.leafSamples} samples, ${all.withCaller} reach a stage function, ${all.scanned} scanned`);
  const heaviest = [...p.stacks].sort((x, y) => y.count - x.count).slice(0, 5);
  for (const s of heaviest) t.diagnostic(`${s.count}x scanned=${s.scanned ?? 0} ${s.frames.map((id) => p.frames.get(id)?.fn).join(' <- ')}`);
  const userIo = p.stacks
    .map((s) => ({ s, user: s.frames.map((id) => p.frames.get(id)).filter((f) => f !== undefined && !f.kernel) }))
    .filter((x) => x.user[0] && io(x.user[0].fn))
    .sort((x, y) => y.s.count - x.s.count)
    .slice(0, 6);
  for (const x of userIo) t.diagnostic(`${x.s.count}x scanned=${x.s.scanned ?? 0} user: ${x.user.map((f) => f?.fn).join(' <- ')}`);
  assert.ok(a.leafSamples > 100, `samples in the I/O functions: ${a.leafSamples}`);
  // the default (--unwind dwarf) follows CFI through libc and the static af_packet driver: the stage
  // calling them is on nearly every such stack (the frame-pointer walk with the scan got ~60%)
  assert.ok(a.withCaller / a.leafSamples > 0.95, `fwd_tx/fwd_rx on ${a.withCaller} of ${a.leafSamples} I/O stacks`);
});
