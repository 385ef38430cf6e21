import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStackTree, walkPaths } from '../../src/core/stacktree.ts';
import type { Frame, StackSample } from '../../src/core/session.ts';

const F = (id: number, fn: string, module = '/opt/fwd', addr = `0x${(0x1000 + id).toString(16)}`): Frame => ({
  id, fn, off: 0, module, build_id: 'b1', addr, kernel: module === '[kernel]',
});

test('one pass builds the tree with interned functions, self and total counts', () => {
  // Frames 2 and 5 are the same function at two addresses: one node per call path.
  const frames = [F(1, 'main'), F(2, 'rx'), F(3, 'route'), F(5, 'rx'), F(6, 'rx', '/lib/other.so')];
  const stacks: StackSample[] = [
    { frames: [2, 1], count: 10 },
    { frames: [5, 1], count: 5 },
    { frames: [3, 2, 1], count: 7 },
    { frames: [1], count: 2 },
    { frames: [6, 1], count: 1 },
    { frames: [9, 1], count: 4 }, // frame 9 never defined
    { frames: [2, 1], count: 0 },
  ];
  const t = buildStackTree(frames, stacks);
  assert.equal(t.total, 29);
  assert.equal(t.root.total, 29);
  const main = [...t.root.children.values()];
  assert.equal(main.length, 1);
  assert.equal(t.functions[main[0]!.fn]!.name, 'main');
  assert.equal(main[0]!.self, 2);
  const kids = new Map([...main[0]!.children.values()].map((n) => [`${t.functions[n.fn]!.name}@${t.functions[n.fn]!.module}`, n]));
  assert.equal(kids.get('rx@/opt/fwd')!.total, 22);
  assert.equal(kids.get('rx@/opt/fwd')!.self, 15);
  assert.equal(kids.get('rx@/lib/other.so')!.total, 1);
  assert.equal(kids.get('[unknown frame 9]@[unknown]')!.total, 4);
  assert.equal(t.functions.filter((f) => f.name === 'rx').length, 2, 'interned per (name, module)');
  const paths = [...walkPaths(t)].map((p) => [p.path.map((i) => t.functions[i]!.name).join(';'), p.count]);
  assert.equal(paths.reduce((a, [, n]) => a + (n as number), 0), 29);
  assert.ok(paths.some(([k, n]) => k === 'main;rx;route' && n === 7));
});

test('large profiles build in one pass: 50k deep stacks over 5k frames in seconds at most', () => {
  const frames: Frame[] = [];
  for (let i = 0; i < 5000; i++) frames.push(F(i, `f${i % 2500}`, i % 2 ? '/opt/fwd' : '/lib/x.so'));
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const stacks: StackSample[] = [];
  let want = 0;
  for (let i = 0; i < 50000; i++) {
    const depth = 5 + Math.floor(rnd() * 40);
    const fr = Array.from({ length: depth }, () => Math.floor(rnd() * 5000));
    const count = 1 + Math.floor(rnd() * 3);
    want += count;
    stacks.push({ frames: fr, count });
  }
  const t0 = performance.now();
  const t = buildStackTree(frames, stacks);
  const ms = performance.now() - t0;
  assert.equal(t.total, want);
  assert.ok(t.functions.length <= 2500 && t.functions.length > 2400, 'frames of one function interned once');
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});
