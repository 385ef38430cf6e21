// The host-side view model on the recorded demo session, and the webview page's HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSession } from '../../src/core/session-io.ts';
import { buildReport } from '../../src/core/report.ts';
import { attributeSamples } from '../../src/core/sampled.ts';
import type { Session } from '../../src/core/session.ts';
import { buildViewModel } from '../../src/core/view-model.ts';
import { buildWebviewHtml, jsonForScript, makeNonce } from '../../src/shared/webview-html.ts';
import { isFromWebview } from '../../src/shared/messages.ts';
import { sourceOf, type FlameData, type ViewModel } from '../../src/shared/view-types.ts';

const FIXTURE = join(__dirname, '..', 'fixtures', 'demo-session.pktpath.json');
const session = parseSession(readFileSync(FIXTURE), FIXTURE);

function childrenOfRoot(d: FlameData): number[] {
  const out: number[] = [];
  for (let i = 1; i < d.frame.length; i++) if (d.depth[i] === 1) out.push(i);
  return out;
}

test('view model: stage rows carry the report numbers, raw beside corrected, per-packet overhead', () => {
  const m = buildViewModel(session);
  const r = buildReport(session);
  assert.equal(m.mode, 'exact');
  assert.deepEqual(m.stages.map((s) => s.name), ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx']);
  m.stages.forEach((s, i) => {
    const row = r.stages[i]!;
    assert.equal(s.shown.ns_per_packet, row.ns_per_packet);
    assert.equal(s.raw.ns_per_packet, row.raw_ns_per_packet);
    assert.equal(s.shown.p99_ns, row.p99_ns);
    assert.equal(s.raw.p999_ns, row.raw_p999_ns);
    assert.equal(s.corrected, row.corrected);
    assert.equal(s.share, row.share);
    assert.equal(s.probe_overhead_ns, row.probe_overhead_ns);
    if (row.probe_overhead_ns !== null) {
      assert.ok(Math.abs(s.probe_overhead_per_packet_ns! - row.probe_overhead_ns * row.calls / row.packets) < 1e-9);
    }
    // Histogram bins are the stage's buckets with their bounds; counts add up to the calls.
    const st = session.stages[i]!;
    assert.equal(s.histogram.length, st.buckets.filter(([, c]) => c > 0).length);
    assert.equal(s.histogram.reduce((a, b) => a + b.count, 0), st.buckets.reduce((a, [, c]) => a + c, 0));
    for (const b of s.histogram) assert.ok(b.hi_ns > b.lo_ns);
  });
});

test('view model: CPU flame holds every sample; latency flame children are the stages at ns/packet', () => {
  const m: ViewModel = buildViewModel(session);
  const cpu = m.cpuFlame;
  assert.equal(cpu.total[0], session.stacks.reduce((a, s) => a + s.count, 0));
  // Samples per stage (nearest stage frame) never exceed all samples, and some fell in stages.
  const inStages = m.stages.reduce((a, s) => a + s.samples, 0);
  assert.ok(inStages > 0 && inStages <= cpu.total[0]!, `${inStages} of ${cpu.total[0]}`);
  const lat = m.latencyFlame;
  const kids = childrenOfRoot(lat);
  const withNs = m.stages.filter((s) => (s.shown.ns_per_packet ?? 0) > 0);
  assert.deepEqual(kids.map((i) => lat.frames[lat.frame[i]!]!.name), withNs.map((s) => s.name));
  kids.forEach((i, k) => assert.ok(Math.abs(lat.total[i]! - withNs[k]!.shown.ns_per_packet!) < 1e-6));
  const sum = withNs.reduce((a, s) => a + s.shown.ns_per_packet!, 0);
  assert.ok(Math.abs(lat.total[0]! - sum) < 1e-6);
  // Every stage node can open its function's source.
  for (const i of kids) assert.equal(sourceOf(lat, lat.frame[i]!)?.fn, session.stages.find((s) => s.name === lat.frames[lat.frame[i]!]!.name)?.attach.symbol);
});

test('webview HTML: strict CSP with the nonce, and injected JSON that cannot close its script', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9_-]{24}$/);
  assert.notEqual(nonce, makeNonce());
  const m = buildViewModel(session, { title: '</script><script>alert(1)</script>\u2028' });
  const html = buildWebviewHtml({ scriptUri: 'vscode-resource:/dist/webview.js', styleUri: 'vscode-resource:/media/webview.css', cspSource: 'vscode-resource:', nonce, model: m });
  const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'(;|$)`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(html.match(/<script/g)?.length, 2);
  assert.equal(html.match(new RegExp(`<script nonce="${nonce}"`, 'g'))?.length, 2);
  const json = /id="pktpath-initial">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  assert.ok(!json.includes('<'));
  assert.equal((JSON.parse(json) as ViewModel).title, m.title);
  assert.equal(jsonForScript('a<b\u2029'), '"a\\u003cb\\u2029"');
  assert.throws(() => buildWebviewHtml({ scriptUri: '', styleUri: '', cspSource: '', nonce: 'x" onload="1', model: null }), /nonce/);
});

test('messages from the webview are validated', () => {
  assert.ok(isFromWebview({ type: 'ready' }));
  assert.ok(isFromWebview({ type: 'openSource', frame: { fn: 'f', module: '/bin/x' } }));
  assert.ok(!isFromWebview({ type: 'openSource', frame: { fn: 1 } }));
  assert.ok(!isFromWebview({ type: 'openSource' }));
  assert.ok(!isFromWebview({ type: 'exec', cmd: 'rm' }));
  assert.ok(!isFromWebview(null));
  assert.ok(isFromWebview({ type: 'error', message: 'x' }));
});

test('view model, sampled mode: ns/packet with its interval from samples, no probe numbers claimed', () => {
  // The recorded stacks re-read as a sampled-mode session: no stages attached, packets from a counter.
  const specs = session.stages.map((s) => ({ name: s.name, symbol: s.attach.symbol!, module: 'fwd' }));
  const a = attributeSamples(session.frames, session.stacks, specs);
  const sampled: Session = {
    ...session, stages: [],
    sampled: {
      sample_hz: session.sample_hz, samples: a.samples, unattributed: a.unattributed, window_s: 4,
      packets: 60000, packets_source: 'test counter', counter_packets: 60000, counter_window_s: 4, stages: a.stages,
    },
  };
  const m = buildViewModel(sampled);
  assert.equal(m.mode, 'sampled');
  assert.deepEqual(m.stages.map((s) => s.name), specs.map((s) => s.name));
  for (const [i, s] of m.stages.entries()) {
    const want = (a.stages[i]!.samples * 1e9) / session.sample_hz / 60000;
    assert.ok(Math.abs(s.shown.ns_per_packet! - want) < 1e-6, `${s.name}: ${s.shown.ns_per_packet} vs ${want}`);
    assert.equal(s.probe_overhead_ns, null);
    assert.equal(s.shown.p99_ns, null);
    assert.equal(s.corrected, false);
    assert.ok(s.ci_ns !== null && s.ci_ns[0] <= s.shown.ns_per_packet! && s.shown.ns_per_packet! <= s.ci_ns[1]);
  }
  // With the sampler's own time in the recording, it is removed from what is shown and the raw count kept.
  const timed = buildViewModel({ ...sampled, sampled: { ...sampled.sampled!, timer_late_ns: 9000, sample_run_ns: 3000 } });
  const share = (12000 * session.sample_hz) / 1e9;
  for (const [i, s] of timed.stages.entries()) {
    const raw = m.stages[i]!.shown.ns_per_packet!;
    assert.ok(Math.abs(s.raw.ns_per_packet! - raw) < 1e-6 && Math.abs(s.shown.ns_per_packet! - raw * (1 - share)) < 1e-6);
    assert.match(s.note ?? '', /sampler's own time \(\d+\.\d% of the threads' CPU\) removed/);
  }
  // The CPU flame colours frames by the sampled stages' functions too.
  assert.ok(m.cpuFlame.stage.some((st) => st >= 0));
  const lat = m.latencyFlame;
  const kids = childrenOfRoot(lat).map((i) => lat.frames[lat.frame[i]!]!.name);
  assert.deepEqual(kids, m.stages.filter((s) => (s.shown.ns_per_packet ?? 0) > 0).map((s) => s.name));
  // A poll stage keeps its number, is marked, takes no share of the path and is not the weakest link.
  assert.ok(m.stages.every((s) => !s.poll && !s.idle_inclusive && s.calls_per_packet === null));
  const first = a.stages[0]!;
  const polled = buildViewModel({
    ...sampled,
    sampled: { ...sampled.sampled!, stages: [{ ...first, poll: true, poll_by: 'ethdev-rx', graph_counters: { calls: 900_000, objs: 60000, cycles: 1 } }, ...a.stages.slice(1)] },
  });
  const rx = polled.stages[0]!;
  assert.equal(rx.poll, true);
  assert.equal(rx.idle_inclusive, true);
  assert.equal(rx.share, null);
  assert.equal(rx.calls_per_packet, 15);
  assert.equal(rx.shown.ns_per_packet, m.stages[0]!.shown.ns_per_packet);
  assert.match(rx.note ?? '', /Includes idle polling: an ethdev rx burst function/);
  assert.notEqual(polled.verdict.weakest, rx.name);
  const rest = polled.stages.slice(1).reduce((x, s) => x + (s.share ?? 0), 0);
  assert.ok(Math.abs(rest - 1) < 1e-9, `the other stages share the path: ${rest}`);
  assert.match(polled.verdict.details.join('\n'), new RegExp(`${rx.name}: .* including idle polling`));
});
