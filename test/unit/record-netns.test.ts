// --netns reaches the tracer as given when it is a namespace name, an absolute path or an inode,
// and anything else is refused before a process or connection exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tracerArgs, RecordError } from '../../src/tracer/record-session.ts';

const base = { kernel: true, stages: ['rx=tracepoint:net:netif_receive_skb'] };

test('--netns NAME, PATH and INODE are passed to the tracer', () => {
  for (const v of ['pp123-r', '/proc/42/ns/net', '4026532001', 'lab_1.r']) {
    const argv = tracerArgs({ ...base, netns: v });
    assert.deepEqual(argv.slice(-2), ['--netns', v]);
  }
  assert.ok(!tracerArgs(base).includes('--netns'));
});

test('hostile or empty --netns values are refused', () => {
  for (const v of ['', '..', '../etc', '-x', 'a b', 'a;rm', 'x'.repeat(300), '/a\nb', '0', '99999999999']) {
    assert.throws(() => tracerArgs({ ...base, netns: v }), RecordError, JSON.stringify(v));
  }
});

test('relocate: false asks the tracer to keep entry timestamps at the first byte; the default says nothing', () => {
  const pid = { pid: 42, stages: ['f=uprobe:/bin/true:main'] };
  assert.ok(tracerArgs({ ...pid, relocate: false }).includes('--no-relocate'));
  assert.ok(!tracerArgs(pid).includes('--no-relocate'));
  assert.ok(!tracerArgs({ ...pid, relocate: true }).includes('--no-relocate'));
});
