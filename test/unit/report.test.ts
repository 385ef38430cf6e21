import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildReport, formatReportTable, formatNs } from '../../src/core/report.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import type { Session } from '../../src/core/session.ts';

function fixtureSession(text = readFileSync('test/fixtures/stream-demo.jsonl', 'utf8')): Session {
  const d = new StreamDecoder({ strict: true });
  const r = new Recorder({ host: 'localhost' });
  for (const ev of [...d.push(text), ...d.end()]) r.event(ev);
  return r.finish();
}

test('report: corrected where calibrated, raw elsewhere, with the contract names', () => {
  const r = buildReport(fixtureSession());
  const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
  for (const k of ['stages', 'samples', 'duration_s', 'corrected', 'partial']) assert.ok(k in json, k);
  const row0 = (json.stages as Array<Record<string, unknown>>)[0]!;
  for (const k of ['name', 'calls', 'packets', 'p50_ns', 'p99_ns', 'p999_ns', 'mean_ns', 'ns_per_packet', 'probe_overhead_ns',
    'raw_p50_ns', 'raw_p99_ns', 'raw_p999_ns', 'raw_mean_ns', 'raw_ns_per_packet', 'probe_overhead_spread_ns', 'share',
    'packets_per_call', 'calls_per_s', 'packets_per_s', 'unmatched', 'kind', 'spec', 'warning', 'single_step']) {
    assert.ok(k in row0, `stage row has ${k}`);
  }
  const [rx, route] = r.stages;
  // rx: 200 calls of exactly 1000 ns (bucket [992, 1024)), calibrated inner 400 ns.
  assert.equal(rx!.raw_mean_ns, 1000);
  assert.equal(rx!.mean_ns, 600);
  assert.equal(rx!.corrected, true);
  assert.equal(rx!.probe_overhead_ns, 400);
  assert.equal(rx!.probe_overhead_spread_ns, 10);
  assert.ok(rx!.raw_p50_ns! >= 992 && rx!.raw_p50_ns! < 1024);
  assert.ok(Math.abs(rx!.p50_ns! - (rx!.raw_p50_ns! - 400)) < 1e-9);
  assert.equal(rx!.raw_ns_per_packet, 1000 / 32);
  assert.equal(rx!.ns_per_packet, 600 / 32);
  assert.equal(rx!.packets_per_call, 32);
  assert.equal(rx!.calls_per_s, 100);
  assert.equal(rx!.packets_per_s, 3200);
  // route: no calibration → raw, null overhead, a note.
  assert.equal(route!.corrected, false);
  assert.equal(route!.probe_overhead_ns, null);
  assert.equal(route!.mean_ns, 16000);
  assert.equal(route!.ns_per_packet, 16000);
  assert.match(route!.note ?? '', /not calibrated/);
  assert.equal(r.correction, 'some');
  assert.equal(r.corrected, true);
  assert.equal(r.slowest, 'route');
  assert.ok(Math.abs(rx!.share! + route!.share! - 1) < 1e-12);
  assert.ok(Math.abs(route!.share! - 16000 / (16000 + 18.75)) < 1e-12);
  assert.equal(r.samples, 60);
  assert.equal(r.duration_s, 2);
  assert.equal(r.coverage, 0.75);
  assert.equal(r.overhead_pct, 2);
  assert.equal(rx!.latency_key, 'call');
  assert.equal(rx!.timed, 200);
});

test('text table states correction per stage and warns about single-stepped sites', () => {
  const text = formatReportTable(buildReport(fixtureSession()));
  assert.match(text, /corrected where the site was calibrated/);
  assert.match(text, /rx\s+18\.8 ns/);
  assert.match(text, /-400 ns ±10\.0 ns/);
  assert.match(text, /route !? ?\*?\s+16\.0 µs.*raw/);
  assert.match(text, /route: the kernel single-steps its first instruction \(endbr64\)/);
  assert.match(text, /weakest link: route/);
  assert.match(text, /Probes were attached 75\.0% of the time .*unscaled/);
  assert.match(text, /probe cost to the target: 2\.0% of one CPU/);
});

test('a session with no calls and no calibration: nulls, raw, no crash; hostile names stay data', () => {
  const s = fixtureSession();
  const empty: Session = {
    ...s,
    calibration: undefined,
    stages: s.stages.map((st) => ({ ...st, name: 'x\n;rm -rf /\u0007', calls: 0, packets: 0, sum_ns: 0, buckets: [], calibration: null })),
  } as Session;
  const r = buildReport(empty);
  assert.equal(r.corrected, false);
  assert.equal(r.correction, 'none');
  assert.equal(r.stages[0]!.p50_ns, null);
  assert.equal(r.stages[0]!.ns_per_packet, null);
  assert.equal(r.slowest, null);
  const text = formatReportTable(r);
  assert.doesNotMatch(text, /x\n;rm/);
  assert.match(text, /RAW/);
  assert.match(text, /no calls were counted/);
});

test('formatNs', () => {
  assert.equal(formatNs(812), '812 ns');
  assert.equal(formatNs(1520), '1.52 µs');
  assert.equal(formatNs(13_400_000), '13.4 ms');
  assert.equal(formatNs(null), '-');
});

test('a point event that starts the path: calls counted, no latency, not a zero', () => {
  const s = fixtureSession();
  const first: Session = {
    ...s,
    stages: [{ ...s.stages[0]!, kind: 'tracepoint', sum_ns: 0, buckets: [] }, s.stages[1]!],
  };
  const r = buildReport(first);
  const st = r.stages[0]!;
  assert.equal(st.calls, 200);
  assert.equal(st.packets_per_call, 32);
  assert.equal(st.p50_ns, null);
  assert.equal(st.mean_ns, null);
  assert.equal(st.raw_mean_ns, null);
  assert.equal(st.ns_per_packet, null);
  assert.equal(st.corrected, false);
  assert.match(st.note ?? '', /no latency: a point event/);
  assert.equal(r.correction, 'none', 'the only timed stage (route) is uncalibrated');
});

test('a calibration with a mean probe cost: the mean and ns/pkt subtract it, the quantiles the median', () => {
  const text = readFileSync('test/fixtures/stream-demo.jsonl', 'utf8').replace(
    /("type":"calibration",[^\n]*"inner_ns":400[^\n]*)\}/,
    '$1,"inner_mean_ns":450,"inner_mean_spread_ns":12,"sched":"target-rt"}',
  );
  assert.match(text, /"inner_mean_ns":450/, 'the fixture has the calibration this test extends');
  const s = fixtureSession(text);
  assert.equal(s.stages[0]!.calibration?.inner_mean_ns, 450);
  const rx = buildReport(s).stages[0]!;
  assert.equal(rx.raw_mean_ns, 1000);
  assert.equal(rx.mean_ns, 550);
  assert.equal(rx.ns_per_packet, 550 / 32);
  assert.equal(rx.probe_overhead_ns, 450);
  assert.equal(rx.probe_overhead_spread_ns, 12);
  assert.equal(rx.probe_overhead_median_ns, 400);
  assert.ok(Math.abs(rx.p50_ns! - (rx.raw_p50_ns! - 400)) < 1e-9, 'quantiles shift by the median cost');
  // null (too few clean batches), or a non-number from a hand-edited session file: the median cost
  const nul = buildReport(fixtureSession(text.replace('"inner_mean_ns":450', '"inner_mean_ns":null'))).stages[0]!;
  assert.equal(nul.mean_ns, 600);
  assert.equal(nul.probe_overhead_ns, 400);
  const edited = structuredClone(fixtureSession(text));
  Object.assign(edited.stages[0]!.calibration!, { inner_mean_ns: 'x' });
  const bad = buildReport(edited).stages[0]!;
  assert.equal(bad.mean_ns, 600);
  assert.equal(bad.probe_overhead_ns, 400);
});
