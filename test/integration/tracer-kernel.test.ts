// Kernel tracepoints keyed by the skb (and fib_table_lookup by CPU), on real packets sent over a
// veth pair between two test-created network namespaces. Tracepoints see the whole machine, so
// other traffic can only add events: counts are asserted as lower bounds, latencies as sane.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { CalibrationRecord, StageRecord } from '../../src/tracer/protocol.ts';
import { buildTracer, medianBucketLow, runTracer, sumHists } from './tracer-util.ts';

const tag = `pp${process.pid % 100000}k`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const PACKETS = 400;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

before(() => {
  buildTracer();
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('link', 'add', `${tag}va`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${tag}vb`, 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', '10.251.7.1/24', 'dev', `${tag}va`);
  ip('-n', nsB, 'addr', 'add', '10.251.7.2/24', 'dev', `${tag}vb`);
  ip('-n', nsA, 'link', 'set', `${tag}va`, 'up');
  ip('-n', nsB, 'link', 'set', `${tag}vb`, 'up');
});
after(() => {
  for (const ns of [nsA, nsB]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
});

test('skb-keyed tracepoints give per-stage latencies along the veth path', async () => {
  const run = runTracer([
    '--kernel', '--interval-ms', '500',
    '--stage', 'queue=tracepoint:net:net_dev_queue',
    '--stage', 'xmit=tracepoint:net:net_dev_start_xmit',
    '--stage', 'rx=tracepoint:net:netif_rx',
    '--stage', 'recv=tracepoint:net:netif_receive_skb',
    '--stage', 'fib=tracepoint:fib:fib_table_lookup',
  ]);
  try {
    await run.ready;
    const send = `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(${PACKETS}):\n  s.sendto(b'x'*64,('10.251.7.2',9999)); time.sleep(0.001)\n`;
    execFileSync('ip', ['netns', 'exec', nsA, 'python3', '-c', send], { stdio: 'pipe' });
  } finally {
    run.proc.kill('SIGTERM');
  }
  assert.equal(await run.exited, 0);
  assert.deepEqual(run.decodeErrors, []);
  // "key" is an additive member (pktpath.h): read it from the raw lines
  const st = run.raw().split('\n').filter((l) => l.includes('"type":"stage"')).map((l) => JSON.parse(l) as StageRecord & { key: string });
  assert.deepEqual(st.map((s) => [s.name, s.ok, s.key]), [
    ['queue', true, 'skb'],
    ['xmit', true, 'skb'],
    ['rx', true, 'skb'],
    ['recv', true, 'skb'],
    ['fib', true, 'cpu'],
  ]);
  const cal = run.records.filter((r): r is CalibrationRecord => r.type === 'calibration');
  assert.equal(cal.length, 5);
  for (const c of cal) {
    assert.equal(c.class, 'tracepoint');
    assert.ok(c.outer_ns > 0 && c.outer_ns < 20000, `tracepoint probe cost ${c.outer_ns} ns`);
  }
  const sums = sumHists(run.records);
  const [queue, xmit, rx, recv, fib] = [0, 1, 2, 3, 4].map((i) => sums.get(i));
  assert.ok(queue && xmit && rx && recv && fib, 'every stage saw events');
  for (const s of [queue, xmit, rx, recv]) assert.ok(s.calls >= PACKETS, `calls ${s.calls} >= ${PACKETS}`);
  assert.equal(queue.buckets.size, 0, 'the first stage starts each packet timeline');
  for (const s of [xmit, rx, recv]) {
    const timed = [...s.buckets.values()].reduce((a, c) => a + c, 0);
    assert.ok(timed >= PACKETS * 0.9, `timed ${timed}`);
    const med = medianBucketLow(s.buckets);
    assert.ok(med > 0 && med < 1e6, `median gap ${med} ns between consecutive stages`);
    assert.ok(s.unmatched <= s.calls * 0.5, `unmatched ${s.unmatched} of ${s.calls}`);
  }
});
