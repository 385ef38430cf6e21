// `pktpath record --kernel` along the kernel's forwarding path (router namespace, ip_forward=1):
// the tracepoint stages count the forwarded packets and give latencies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKernelLab, type KernelLab } from '../helpers/lab.ts';
import { startRecord, stopRecord, type RecordRun } from './record-helpers.ts';
import { loadSession } from '../../src/core/session-io.ts';
import { buildReport } from '../../src/core/report.ts';

const STAGES = [
  'rx=tracepoint:net:netif_receive_skb',
  'fib=tracepoint:fib:fib_table_lookup',
  'queue=tracepoint:net:net_dev_queue',
  'xmit=tracepoint:net:net_dev_xmit',
];
const dir = mkdtempSync(join(tmpdir(), 'pktpath-reck-'));
let lab: KernelLab | undefined;
let rec: RecordRun | undefined;

after(async () => {
  if (rec && rec.child.exitCode === null) rec.child.kill('SIGKILL');
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('record --kernel: tracepoint stages along the forwarding path count packets and give latencies', { timeout: 180_000 }, async () => {
  lab = await startKernelLab();
  const out = join(dir, 'kernel.pktpath.json');
  const args = ['--kernel', '-o', out];
  for (const s of STAGES) args.push('--stage', s);
  rec = startRecord(args);
  await rec.ready;
  const traffic = await lab.traffic({ pps: 10000, seconds: 3 });
  await new Promise((r) => setTimeout(r, 1500));
  const code = await stopRecord(rec);
  assert.equal(code, 0, rec.stderr());
  assert.ok(traffic.received > 0.99 * traffic.sent, `lab lost packets: sent ${traffic.sent}, received ${traffic.received}`);

  const s = await loadSession(out);
  assert.equal(s.partial, false, s.partial_reason ?? '');
  assert.equal(s.target.kernel, true);
  const r = buildReport(s);
  for (const st of r.stages) {
    assert.ok(st.attached, `${st.name} attached: ${st.attach_error}`);
    // Tracepoints fire for every skb on the host, so at least the forwarded packets were seen.
    assert.ok(st.calls >= 0.99 * traffic.received, `${st.name}: ${st.calls} calls for ${traffic.received} forwarded packets`);
  }
  // Stages after the first are point events timed from the previous stage of the same skb.
  const timed = r.stages.filter((x) => x.p50_ns !== null && x.p50_ns > 0);
  assert.ok(timed.length >= 2, `latencies along the path: ${JSON.stringify(r.stages.map((x) => [x.name, x.p50_ns]))}`);
  console.log(JSON.stringify({ sent: traffic.sent, received: traffic.received, stages: r.stages.map((x) => ({ name: x.name, calls: x.calls, p50: x.p50_ns, p99: x.p99_ns, mean: x.mean_ns, raw_mean: x.raw_mean_ns, overhead: x.probe_overhead_ns, unmatched: x.unmatched })) }));
});
