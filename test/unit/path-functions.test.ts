// --auto-stages on a DPDK process without rte_graph: which of the program's functions a short sample
// shows between the ethdev burst functions (the shape of l3fwd's sample under traffic), and the
// stages and lines made of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSession } from '../../src/core/session-io.ts';
import type { Frame, Session } from '../../src/core/session.ts';
import { MAX_PATH_FUNCTIONS, pathFunctions, type BurstFn } from '../../src/core/path-functions.ts';
import { addPathPicks, addPathStages } from '../../src/tracer/path-stages.ts';
import type { DpdkPicks } from '../../src/tracer/dpdk-picks.ts';
import type { Transport } from '../../src/remote/transport.ts';
import { splitDwarfStages } from '../../src/cli/dwarf-stages.ts';
import type { ResolvedDpdk } from '../../src/tracer/dpdk-resolve.ts';
import type { DpdkQuery } from '../../src/tracer/dpdk-query.ts';

const base = parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');
const EXE = '/opt/l3fwd/build/l3fwd-shared';
const PMD = '/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_af_packet.so.23.0';
const BURSTS: BurstFn[] = [
  { module: PMD, lo: 0x38e0, hi: 0x3ca0, fn: null },
  { module: PMD, lo: 0x41c0, hi: 0x4511, fn: null },
];

function fr(id: number, fn: string, module: string, elf: number, off: number, extra: Partial<Frame> = {}): Frame {
  return { id, fn, off, module, build_id: null, addr: `0x${(0x555500000000 + elf).toString(16)}`, kernel: module === '[kernel]', elf_addr: `0x${elf.toString(16)}`, named_by: 'symtab', ...extra };
}

const FRAMES: Frame[] = [
  fr(1, 'librte_net_af_packet.so.23.0+0x38e0', PMD, 0x3900, 0x20, { named_by: 'eh_frame' }),
  fr(2, 'librte_net_af_packet.so.23.0+0x41c0', PMD, 0x41d0, 0x10, { named_by: 'eh_frame' }),
  fr(3, 'lpm_main_loop', EXE, 0x5a10, 0x210),
  fr(4, 'main', EXE, 0x3100, 0x100),
  fr(5, '_start', EXE, 0x3f25, 0x25),
  fr(6, 'send_burst.isra.0', EXE, 0x63c0, 0x10),
  fr(7, 'lpm_cb_parse_ptype', EXE, 0x12320, 0x20),
  fr(8, 'rte_eth_call_rx_callbacks@plt', EXE, 0x2010, 0x0),
  fr(9, 'rte_eth_call_rx_callbacks', '/usr/lib/x86_64-linux-gnu/librte_ethdev.so.23.0', 0x9000, 0x40),
  fr(10, 'print_stats', EXE, 0x7000, 0x30),
  fr(11, 'clock_nanosleep', '/usr/lib/x86_64-linux-gnu/libc.so.6', 0xe0000, 0x10),
  fr(12, 'rte_lpm_lookup', EXE, 0x5a10, 0, { inline: true, named_by: 'debug' }),
];

/** A sample of l3fwd under traffic (leaf first), plus a stats thread asleep. */
function l3fwdSample(extra: Session['stacks'] = []): Session {
  return {
    ...base, frames: FRAMES, stacks: [
      { frames: [1, 3, 4, 5], count: 700 }, // rx polls
      { frames: [2, 6, 3, 4, 5], count: 30 }, // tx under send_burst
      { frames: [7, 9, 3, 4, 5], count: 25 }, // the rx callback --parse-ptype installs
      { frames: [8, 3, 4, 5], count: 10 }, // the PLT stub on the way to it
      { frames: [3, 4, 5], count: 200 }, // the loop's own (inlined LPM) work
      { frames: [11, 10], count: 5 }, // another thread
      ...extra,
    ],
  };
}

test('the polling thread is under the burst functions\' callers; the loop and PLT stubs are no stages', () => {
  const p = pathFunctions(l3fwdSample(), EXE, BURSTS);
  assert.equal(p.by, 'burst-callers');
  assert.deepEqual(p.callers, ['_start', 'lpm_main_loop', 'main', 'send_burst']);
  assert.deepEqual(p.loops, ['_start', 'lpm_main_loop', 'main']);
  assert.equal(p.samples, 970);
  assert.equal(p.pollSamples, 965);
  assert.deepEqual(p.functions.map((f) => [f.fn, f.samples, f.own]), [['send_burst', 30, 30], ['lpm_cb_parse_ptype', 25, 25]]);
  // probed by the copy's start (sampled address less its offset), not by a name several files share
  assert.deepEqual(p.functions[0]!.copies, [{ symbol: 'send_burst.isra.0', start: 0x63b0, samples: 30 }]);
});

test('code inlined into the loop (DWARF inline frames): skipped in exact mode, an inline: stage in sampled mode', () => {
  // rte_eth_rx_burst inlined above the PMD's rx: the burst call itself, never a stage
  const frames = [...FRAMES, fr(13, 'rte_eth_rx_burst', EXE, 0x5a10, 0, { inline: true, named_by: 'debug' })];
  const sample = { ...l3fwdSample([{ frames: [12, 3, 4, 5], count: 40 }, { frames: [1, 13, 3, 4, 5], count: 50 }]), frames };
  const p = pathFunctions(sample, EXE, BURSTS);
  assert.ok(!p.functions.some((f) => f.fn === 'rte_eth_rx_burst'), p.functions.map((f) => f.fn).join());
  const lpm = p.functions.find((f) => f.fn === 'rte_lpm_lookup');
  assert.ok(lpm && lpm.copies.length === 0 && lpm.symbol === null && lpm.inlined);
  const r = resolved();
  const lines = addPathStages(p, EXE, 'exact', new Set(), r);
  assert.match(lines.join('\n'), /rte_lpm_lookup: 40 samples, but no ELF symbol names it \(inlined: an inline: stage in --mode sampled\): skipped/);
  assert.ok(!r.exact.some((s) => s.startsWith('rte_lpm_lookup=')));
  const sm = resolved();
  const sl = addPathStages(p, EXE, 'sampled', new Set(), sm);
  assert.deepEqual(sm.dwarf.map((d) => [d.name, d.spec, d.kind]), [['rte_lpm_lookup', `inline:${EXE}:rte_lpm_lookup`, 'inline']]);
  assert.match(sl.join('\n'), /^ {2}rte_lpm_lookup=inline:\S+:rte_lpm_lookup: 40 samples \(40 its own\), inlined: its code by DWARF$/m);
  assert.ok(!sm.sampled.some((x) => x.name === 'rte_lpm_lookup'));
});

test('no burst function sampled: the loop by its share, over the whole process', () => {
  const s = l3fwdSample();
  const p = pathFunctions({ ...s, stacks: s.stacks.filter((st) => !st.frames.includes(1) && !st.frames.includes(2)) }, EXE, BURSTS);
  assert.equal(p.by, 'loop-share');
  assert.ok(p.loops.includes('main'));
  assert.ok(p.functions.some((f) => f.fn === 'print_stats'), 'no polling thread to tell it apart');
});

function resolved(): ResolvedDpdk {
  return {
    exact: ['rx0=uprobe:x:0x38e0:packets=ret'], sampled: [{ name: 'rx0', spec: 'ethdev:rx:0' }], dwarf: [],
    original: new Map([['rx0', 'ethdev:rx:0'], ['tx0', 'ethdev:tx:0']]), query: { pid: 1, nodes: [], ports: [] } as unknown as DpdkQuery,
  };
}

test('exact mode adds uprobes at the copies\' addresses, names free of the taken ones, and says how', () => {
  const r = resolved();
  const lines = addPathStages(pathFunctions(l3fwdSample(), EXE, BURSTS), EXE, 'exact', new Set(['send_burst']), r);
  assert.deepEqual(r.exact.slice(1), [`send_burst_2=uprobe:${EXE}:0x63b0`, `lpm_cb_parse_ptype=uprobe:${EXE}:0x12300`]);
  assert.match(lines[0]!, /^path: 2 function\(s\) seen in a 1 s sample at 999 Hz of the polling thread \(965 of 970 samples under _start, lpm_main_loop, main, send_burst, the program's callers of the burst functions; loop: _start, lpm_main_loop, main\): send_burst, lpm_cb_parse_ptype$/);
  assert.match(lines[1]!, /^ {2}send_burst_2=uprobe:\S+:0x63b0: send_burst\.isra\.0, 30 of its 30 samples/);
  const s = resolved();
  addPathStages(pathFunctions(l3fwdSample(), EXE, BURSTS), EXE, 'sampled', new Set(), s);
  assert.deepEqual(s.sampled.slice(1).map((x) => `${x.name}=${x.spec}`), [`send_burst=uprobe:${EXE}:0x63b0`, `lpm_cb_parse_ptype=uprobe:${EXE}:0x12300`]);
  assert.equal(s.exact.length, 1);
});

test('an idle sample (no samples) and a loop with everything inlined say so and add nothing', () => {
  const r = resolved();
  const none = addPathStages(pathFunctions({ ...base, frames: FRAMES, stacks: [] }, EXE, BURSTS), EXE, 'exact', new Set(), r);
  assert.deepEqual(none, ['path: no CPU samples in a 1 s sample at 999 Hz (an idle process, no traffic?): the ethdev stages only']);
  const inl = addPathStages(pathFunctions({ ...base, frames: FRAMES, stacks: [{ frames: [1, 3, 4, 5], count: 500 }, { frames: [3, 4, 5], count: 400 }] }, EXE, BURSTS), EXE, 'exact', new Set(), r);
  assert.match(inl.join('\n'), /no function of \S+ other than the loop seen .*inlined into the loop; the ethdev stages only/);
  assert.equal(r.exact.length, 1);
});

test(`at most ${MAX_PATH_FUNCTIONS} path functions; the rest are named as left out`, () => {
  const frames = [...FRAMES];
  const stacks: Session['stacks'] = [{ frames: [1, 3, 4, 5], count: 500 }];
  for (let i = 0; i < MAX_PATH_FUNCTIONS + 2; i++) {
    frames.push(fr(100 + i, `f${i}`, EXE, 0x20000 + i * 0x100, 0));
    stacks.push({ frames: [100 + i, 3, 4, 5], count: 20 - i });
  }
  const p = pathFunctions({ ...base, frames, stacks }, EXE, BURSTS);
  assert.equal(p.functions.length, MAX_PATH_FUNCTIONS);
  assert.deepEqual(p.dropped.map((f) => f.fn), [`f${MAX_PATH_FUNCTIONS}`, `f${MAX_PATH_FUNCTIONS + 1}`]);
  assert.match(addPathStages(p, EXE, 'exact', new Set(), resolved()).at(-1)!, /left out \(at most 8 path stages\): f8 \(12\), f9 \(11\)/);
});

test('frames a debug file named keep their ELF symbol: `symbol` when renamed, else the name', () => {
  const frames = FRAMES.map((f) => (f.id === 7 ? { ...f, named_by: 'debug' }
    : f.id === 6 ? { ...f, fn: 'send_burst', off: 0x4, named_by: 'debug', symbol: 'send_burst.isra.0', tracer: { fn: 'send_burst.isra.0', off: 0x10, named_by: 'symtab' } } : f));
  const p = pathFunctions({ ...l3fwdSample(), frames }, EXE, BURSTS);
  assert.deepEqual(p.functions.map((f) => [f.fn, f.symbol, f.copies[0]?.start]), [['send_burst', 'send_burst.isra.0', 0x63b0], ['lpm_cb_parse_ptype', 'lpm_cb_parse_ptype', 0x12300]]);
});

test('Attach offers the path functions after the ethdev picks: copies pre-selected, inlined code unselected (sampled only)', async () => {
  const frames = [...FRAMES, fr(13, 'rte_eth_rx_burst', EXE, 0x5a10, 0, { inline: true, named_by: 'debug' })];
  const sample = { ...l3fwdSample([{ frames: [12, 3, 4, 5], count: 40 }, { frames: [1, 13, 3, 4, 5], count: 50 }]), frames };
  const q = { pid: 7, tsc: 0, mono_ns: 0, graph_lib: null, ethdev_lib: null, nodes: [], warnings: [], ports: [
    { port: 0, dir: 'rx', burst: { ...BURSTS[0]!, addr: '0x1' } }, { port: 1, dir: 'tx', burst: { ...BURSTS[1]!, addr: '0x2' } },
  ] } as unknown as DpdkQuery;
  const picks: DpdkPicks = { picks: [{ name: 'send_burst', spec: 'ethdev:tx:1', stage: 'send_burst=ethdev:tx:1', found: '', warnings: [], picked: true }], notes: [], none: null };
  const said: string[] = [];
  const t = { host: 'localhost', exec: async () => ({ code: 0, stdout: `${EXE}\n`, stderr: '' }) } as unknown as Transport;
  await addPathPicks(t, 7, undefined, q, picks, (l) => said.push(l), undefined, async () => sample);
  const added = picks.picks.slice(1);
  assert.deepEqual(added.map((p) => [p.stage, p.picked]), [
    [`rte_lpm_lookup=inline:${EXE}:rte_lpm_lookup`, false],
    // the name an ethdev pick took is not reused
    [`send_burst_2=uprobe:${EXE}:0x63b0`, true],
    [`lpm_cb_parse_ptype=uprobe:${EXE}:0x12300`, true],
  ]);
  assert.match(added[0]!.found, /inlined: its code by DWARF; sampled mode only$/);
  assert.match(said.join('\n'), /^auto-stages: path: 3 function\(s\) seen in a 1 s sample/m);
  assert.match(said.join('\n'), /^auto-stages: {3}send_burst_2=uprobe:\S+:0x63b0: send_burst\.isra\.0, 30 of its 30 samples/m);
  // exact mode refuses the inlined one, as `pktpath record` does
  assert.throws(() => splitDwarfStages(added.map((p) => p.stage), 'exact'), /rte_lpm_lookup.*sampled/);
  assert.deepEqual(splitDwarfStages(added.map((p) => p.stage), 'sampled').plain, added.slice(1).map((p) => p.stage));
  // a failed pre-sample keeps the ethdev picks and says why
  const kept: DpdkPicks = { ...picks, picks: picks.picks.slice(0, 1) };
  const why: string[] = [];
  await addPathPicks(t, 7, undefined, q, kept, (l) => why.push(l), undefined, async () => { throw new Error('no such process'); });
  assert.equal(kept.picks.length, 1);
  assert.deepEqual(why, ['auto-stages: path: a 1 s sample at 999 Hz failed (no such process): the ethdev stages only']);
});
