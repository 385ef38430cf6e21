// Sampled mode on the real demo forwarder (DPDK over af_packet) under traffic, packets from its
// DPDK telemetry socket: `pktpath record --mode sampled ... --packets-from dpdk:SOCKET:0:rx`.
// Checks what can be checked against independent accounts: packets per second against the
// generator's rate, the sampled CPU time against the kernel's own accounting of the forwarder's
// CPU time (/proc/PID/schedstat), and the bookkeeping of the attribution. The forwarder busy-polls,
// as DPDK forwarders do: with the demo's default 100 µs sleep after an empty poll, the samples read
// ~17% below the kernel's accounting here (0.19 vs 0.23 of a CPU, with this tracer and the one
// before the calibration changes alike) — see KNOWN_ISSUES.md. I/O samples reach fwd_tx/fwd_rx
// through the sampler's stack scan (libc and DPDK lack frame pointers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDemoLab, type DemoLab } from '../helpers/lab.ts';
import { buildTracer, recordSampledCli } from '../helpers/measure.ts';
import { LocalTransport } from '../../src/remote/local.ts';
import { readCounter, type CounterSource } from '../../src/tracer/counters.ts';

let lab: DemoLab | null = null;

after(async () => {
  await lab?.stop();
});

/** Nanoseconds the process's threads have run, summed (first field of each task's schedstat). */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return sum;
}

/** Each CPU's steal time so far, in s (/proc/stat; USER_HZ is 100 on Linux). */
function stealS(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => Number(l.split(/\s+/)[8] ?? 0) / 100);
}

test('sampled mode on the DPDK demo: telemetry packets, CPU time and stages agree with independent counts', async (ctx) => {
  buildTracer();
  lab = await startDemoLab({ burst: 32, fwdArgs: ['--busy-poll'] });
  const pps = 20000;
  const traffic = lab.traffic({ pps, seconds: 20 });
  // The generator takes a moment to start: record only once the forwarder's port counts packets.
  const t = new LocalTransport();
  const src: CounterSource = { kind: 'dpdk', socket: lab.telemetrySocket, port: 0, field: 'ipackets' };
  const first = await readCounter(t, src);
  for (let i = 0; i < 100 && (await readCounter(t, src)).packets - first.packets < pps / 10; i++) await sleep(100);
  await sleep(500);
  const stages = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'].map((s) => ({
    name: s, spec: `uprobe:${lab!.fwdBinary}:${s}`,
  }));
  const steal0 = stealS();
  const cpu0 = cpuNs(lab.fwdPid);
  const t0 = process.hrtime.bigint();
  // (no symbolizing after the recording: it would take this 2-core machine's CPU from the forwarder
  // inside the span the kernel's share is read over)
  const report = await recordSampledCli(lab.fwdPid, stages, `dpdk:${lab.telemetrySocket}:0:rx`, 999, 8, ['--no-symbolize']);
  const cpu1 = cpuNs(lab.fwdPid);
  const t1 = process.hrtime.bigint();
  // Time the hypervisor took from a CPU: the scheduler's clock (schedstat) leaves it out, the
  // task-clock the samples follow does not (seen: 0.703 vs 0.623 while this VM's host faulted in
  // memory another job had just touched). The largest share any one CPU lost over the span.
  const stolen = Math.max(0, ...stealS().map((v, i) => (v - (steal0[i] ?? v)) / (Number(t1 - t0) / 1e9)));
  const sent = await traffic;
  assert.ok(sent.sent > pps * 15, `the generator sent ${sent.sent}`);

  const s = report.sampled;
  assert.ok(s, `a sampled section (${report.sampled_error ?? ''})`);
  // Packets from telemetry over the sampling window, against the generator's rate.
  const measuredPps = s.packets / s.window_s;
  const info = `sampled ${JSON.stringify({ ...s, stages: undefined })}; generator ${JSON.stringify(sent)}`;
  ctx.diagnostic(info);
  assert.ok(Math.abs(measuredPps - pps) < 0.1 * pps, `telemetry counted ${measuredPps.toFixed(0)} pps, the generator sends ${pps}: ${info}`);
  // Samples / hz is the forwarder's CPU time: compare the CPU share with the kernel's schedstat
  // over the sampling window itself (sched_s: the threads' schedstat read at the window's edges).
  // The span this test can time from outside is longer: the CLI's own start and end take this
  // 2-core machine's CPU from the forwarder there, so that share may only be lower.
  const sampledShare = s.samples / s.sample_hz / s.window_s;
  assert.ok(s.sched_s !== undefined && s.sched_s > 0, `the window's schedstat: ${info}`);
  const windowShare = s.sched_s / s.window_s;
  // The task-clock the samples follow runs ahead of schedstat by ~10 µs per time the thread is
  // switched in (0.245 s over ~21k switch-ins in 7 s; 0.57 s over ~62k on a busier run): the
  // tracer's shift_bound (timer lateness × switch-ins ÷ CPU time) bounds that (0.38 and 0.94 s).
  const perSwitch = ((s.shift_bound ?? 0) * (s.cpu_s ?? 0)) / s.window_s;
  assert.ok(
    Math.abs(sampledShare - windowShare) < 0.1 * windowShare + stolen + perSwitch,
    `CPU share from samples ${sampledShare.toFixed(3)} vs schedstat over the window ${windowShare.toFixed(3)} ` +
      `(steal: up to ${stolen.toFixed(3)} of a CPU; switch-ins: up to ${perSwitch.toFixed(3)})`,
  );
  // and the sampler against the task-clock it samples, which steal does not touch
  assert.ok(s.cpu_s !== undefined && Math.abs(s.samples / s.sample_hz - s.cpu_s) < 0.05 * s.cpu_s, `samples vs task-clock: ${info}`);
  const spanShare = (cpu1 - cpu0) / Number(t1 - t0);
  assert.ok(spanShare > 0 && spanShare < 1.1 * sampledShare + stolen + perSwitch, `schedstat over the whole span ${spanShare.toFixed(3)} vs samples ${sampledShare.toFixed(3)}`);
  const attributed = s.stages.reduce((a, x) => a + x.samples, 0);
  ctx.diagnostic(`attributed ${attributed} of ${s.samples} samples: ${s.stages.map((x) => `${x.name} ${x.samples}`).join(', ')}`);
  assert.ok(attributed <= s.samples);
  assert.equal(s.stages.length, stages.length);
  const total = s.stages.reduce((a, x) => a + x.ns_per_packet, 0);
  assert.ok(total <= (1e9 / pps) * 1.1, `stages take ${total.toFixed(0)} ns per packet of ${1e9 / pps} ns available`);
  for (const x of s.stages) assert.ok(x.ci_low_ns <= x.ns_per_packet && x.ns_per_packet <= x.ci_high_ns);
});
