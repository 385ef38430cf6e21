import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSession } from '../../src/core/session-io.ts';
import { stacksInSelection, functionsInSelection } from '../../src/core/selection.ts';
import { buildViewModel } from '../../src/core/view-model.ts';
import type { FlameData } from '../../src/shared/view-types.ts';

const s = parseSession(readFileSync('test/fixtures/demo-session.pktpath.json'), 'demo');
const sum = (xs: Array<{ count: number }>): number => xs.reduce((a, x) => a + x.count, 0);

/** Names from the root of node i (root's label left out) and the kinds. */
function pathOf(d: FlameData, i: number): { path: string[]; kinds: string[] } {
  const path: string[] = [];
  const kinds: string[] = [];
  for (let n = i; n > 0;) {
    const f = d.frames[d.frame[n]!]!;
    path.unshift(f.kind === 'stage' ? (f.fn ?? f.name) : f.name);
    kinds.unshift(f.kind);
    let p = n - 1;
    while (p >= 0 && d.depth[p]! >= d.depth[n]!) p--;
    n = p;
  }
  return { path, kinds };
}

test('a CPU flamegraph node selects exactly the samples it counts, probe frames included', () => {
  const m = buildViewModel(s);
  const d = m.cpuFlame;
  let checked = 0;
  for (let i = 1; i < d.frame.length && checked < 200; i += 7) {
    const { path, kinds } = pathOf(d, i);
    const got = sum(stacksInSelection(s, { stage: null, anchor: null, path, probe_at: kinds.indexOf('probe'), label: '' }));
    assert.equal(got, d.total[i], `node ${path.join(' > ')}`);
    checked++;
  }
  const probe = d.frame.findIndex((f) => d.frames[f]!.kind === 'probe');
  const { path, kinds } = pathOf(d, probe);
  assert.equal(sum(stacksInSelection(s, { stage: null, anchor: null, path, probe_at: kinds.indexOf('probe'), label: '' })), d.total[probe]);
});

test('a stage selects the stacks through its function, less the probe machinery under it', () => {
  const tx = stacksInSelection(s, { stage: 'fwd_tx', anchor: 'fwd_tx', path: [], probe_at: -1, label: '' });
  assert.ok(tx.length > 0);
  const frames = new Map(s.frames.map((f) => [f.id, f.fn] as const));
  for (const st of tx) {
    const names = st.frames.map((id) => frames.get(id));
    assert.ok(names.includes('fwd_tx'));
    assert.ok(!names.includes('asm_exc_int3'));
  }
  const fns = functionsInSelection(s, { stage: 'fwd_tx', anchor: 'fwd_tx', path: [], probe_at: -1, label: '' });
  assert.ok(fns.has('fwd_tx') && !fns.has('fwd_parse'));
  assert.equal(stacksInSelection(s, null).length, s.stacks.length);
});

test('running functions: the demo\'s stages ran, main is the loop, startup-only functions never show', async () => {
  const { runningFunctions } = await import('../../src/core/running.ts');
  const r = runningFunctions(s, '/work/main/native-tracer/demo/build/fwd');
  const names = r.map((x) => x.fn);
  for (const fn of ['fwd_rx', 'fwd_parse', 'fwd_tx']) assert.ok(names.includes(fn), `${fn} ran: ${names.join(',')}`);
  for (const fn of ['fwd_fill_routes', 'parse_uint', 'fwd_parse_options', 'port_init']) assert.ok(!names.includes(fn), `${fn} is startup-only`);
  const main = r.find((x) => x.fn === 'main');
  assert.ok(main?.loop, 'main is the loop');
  assert.ok(!r.find((x) => x.fn === 'fwd_rx')?.loop);
});

test('[uprobes] as a stage\'s return address (DWARF unwind under a pending uretprobe) is not probe time', async () => {
  const { probeStart } = await import('../../src/core/probe-frames.ts');
  const k = (fn: string, module = '[kernel]'): { fn: string; module: string } => ({ fn, module });
  const tramp = k('0x7fffffffe000', '[uprobes]');
  // leaf first: the stage's own work under a hijacked return address
  assert.equal(probeStart([k('__sys_sendto'), k('entry_SYSCALL_64_after_hwframe'), k('__sendto', 'libc.so.6'), k('fwd_tx', 'fwd'), tramp]), -1);
  // the same with the int3 of a nested probe at the leaf: probe from asm_exc_int3 on
  assert.equal(probeStart([k('uprobe_notify_resume'), k('asm_exc_int3'), k('fwd_rx', 'fwd'), tramp]), 1);
  // a sample inside the uretprobe syscall: the trampoline page and the entry glue are probe
  assert.equal(probeStart([k('uprobe_handle_trampoline'), k('__x64_sys_uretprobe'), k('do_syscall_64'), k('entry_SYSCALL_64_after_hwframe'), tramp, k('main', 'fwd')]), 4);
});

test('running functions: a stage on nearly every stack as the innermost (a slow tx) is a stage, not the loop', async () => {
  const { runningFunctions } = await import('../../src/core/running.ts');
  const exe = '/opt/fwd';
  const fr = (id: number, fn: string, module = exe) => ({ id, fn, off: 0, module, build_id: null, addr: '0x0', kernel: module === '[kernel]' });
  const frames = [fr(1, 'main'), fr(2, 'fwd_tx'), fr(3, 'fwd_rx'), fr(4, '__sendto', 'libc.so.6'), fr(5, 'loop_body')];
  // leaf first
  const stacks = [
    { frames: [4, 2, 5], count: 95 }, // sendto under fwd_tx under the poll loop
    { frames: [3, 5], count: 5 },
  ];
  const r = runningFunctions({ ...s, frames, stacks }, exe);
  const tx = r.find((x) => x.fn === 'fwd_tx');
  const body = r.find((x) => x.fn === 'loop_body');
  assert.ok(tx && !tx.loop, 'fwd_tx is a stage');
  assert.ok(body?.loop, 'the poll loop around both is the loop');
});
