// The session schema: every malformed file is one line naming the file and the member; accepted
// files never make a reader print NaN, undefined or [object Object]; deep stacks are walked
// without recursion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSession, SessionFileError } from '../../src/core/session-io.ts';
import { buildReport, formatReportTable } from '../../src/core/report.ts';
import { formatSampledReport } from '../../src/core/sampled.ts';
import { exportFolded, parseFolded } from '../../src/core/export-folded.ts';
import { exportSpeedscope } from '../../src/core/export-speedscope.ts';
import { exportPprof } from '../../src/core/export-pprof.ts';
import { buildCpuFlame } from '../../src/core/flamegraph.ts';
import { buildViewModel } from '../../src/core/view-model.ts';
import { diffSessions } from '../../src/core/diff.ts';
import { memberPath, preview } from '../../src/core/session-schema.ts';
import type { Session } from '../../src/core/session.ts';

const DEMO = readFileSync('test/fixtures/demo-session.pktpath.json', 'utf8');
const demo = (): Session & Record<string, unknown> => JSON.parse(DEMO) as Session & Record<string, unknown>;
const sampled = () => ({
  sample_hz: 999,
  samples: 100,
  unattributed: 10,
  window_s: 1,
  packets: 1000,
  packets_source: 'netdev lo rx_packets',
  counter_packets: 1000,
  counter_window_s: 1,
  stages: [{ name: 'rx', symbol: 'rx_burst', module: null, samples: 90, inclusive_samples: 90 }],
});

function reject(v: unknown, re: RegExp, name = 'bad.pktpath.json'): string {
  try {
    parseSession(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), name);
  } catch (e) {
    assert.ok(e instanceof SessionFileError, String(e));
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${name}: `), `names the file: ${e.message}`);
    assert.match(e.message, re);
    return e.message;
  }
  assert.fail(`accepted, expected ${re}`);
}

test('the demo session is valid', () => {
  const s = parseSession(Buffer.from(DEMO), 'demo');
  assert.equal(s.stages.length, 5);
});

test('each kind of malformed session is one line naming the file and the member', () => {
  const withStage = (patch: Record<string, unknown>) => {
    const s = demo();
    Object.assign(s.stages[2]!, patch);
    return s;
  };
  const cases: Array<[unknown, RegExp]> = [
    [{ ...demo(), hist: { sub_bits: 4, max_pow: -1000 } }, /^bad\.pktpath\.json: hist\.max_pow: expected an integer in 1\.\.63, got -1000$/],
    [{ ...demo(), hist: { sub_bits: 4, max_pow: 2 } }, /hist\.max_pow: expected at least hist\.sub_bits \(4\), got 2$/],
    [{ ...demo(), hist: { sub_bits: 40, max_pow: 50 } }, /hist\.sub_bits: expected an integer in 1\.\.8, got 40$/],
    [withStage({ name: { toString: 1 } }), /stages\[2\]\.name: expected a string, got an object$/],
    [withStage({ buckets: [[3, 1], [-1, 2]] }), /stages\[2\]\.buckets\[1\]\[0\]: expected a non-negative integer, got -1$/],
    [withStage({ kind: 'bogus' }), /stages\[2\]\.kind: expected one of uprobe\|/],
    [withStage({ attach: { ok: true } }), /stages\[2\]\.attach\.error: expected a string or null, got nothing$/],
    [withStage({ calibration: { inner_ns: 'x' } }), /stages\[2\]\.calibration: expected a calibration object or null/],
    [withStage({ timeline: [{ t_s: 1, calls: 1, packets: 1, sum_ns: null }] }), /stages\[2\]\.timeline\[0\]\.sum_ns: expected a non-negative number, got null$/],
    [{ ...demo(), stages: [], sampled: { ...sampled(), stages: [{ name: 7, symbol: 's', module: null, samples: 1, inclusive_samples: 1 }] } }, /sampled\.stages\[0\]\.name: expected a string, got 7$/],
    [{ ...demo(), stages: [], sampled: { ...sampled(), packets_source: ['x'] } }, /sampled\.packets_source: expected a string, got an array of 1$/],
    [{ ...demo(), sampled: { ...sampled(), sample_hz: '999' } }, /sampled\.sample_hz: expected a non-negative number, got "999"$/],
    [{ ...demo(), partial_reason: { a: 1 } }, /partial_reason: expected a string or null, got an object$/],
    [{ ...demo(), target: { ...demo().target, host: 1 } }, /target\.host: expected a string, got 1$/],
    [{ ...demo(), tracer: { ...demo().tracer, version: null } }, /tracer\.version: expected a string, got null$/],
    [{ ...demo(), drops: { stacks: -1 } }, /drops\.stacks: expected a non-negative number, got -1$/],
    [{ ...demo(), warnings: ['ok', {}] }, /warnings\[1\]: expected a string, got an object$/],
    [{ ...demo(), frames: [{ id: 1, fn: 'f', off: 0, module: 'm', addr: '0x1', kernel: false }] }, /frames\[0\]\.build_id: expected a string or null, got nothing$/],
    [{ ...demo(), stacks: [{ frames: [1, 'x'], count: 1 }] }, /stacks\[0\]\.frames\[1\]: expected a non-negative integer, got "x"$/],
    [{ ...demo(), stacks: [{ frames: [1, 2], count: 1, found: 'k' }] }, /stacks\[0\]\.found: expected one letter per frame \(2\), got 1$/],
    [{ ...demo(), intervals: [{ t_s: 1, dt_s: 1, samples: 0, coverage: 7, overhead_pct: null }] }, /intervals\[0\]\.coverage: expected a number in 0\.\.1, got 7$/],
    [{ ...demo(), duration_s: 'a'.repeat(5000) }, /duration_s: expected a non-negative number, got "a{40}\.\.\."$/],
    [{ ...demo(), symbols: { modules: [{}], warnings: [] } }, /symbols\.modules\[0\]\.module: expected a string, got nothing$/],
    // numbers too large for a double parse as Infinity
    [DEMO.replace('"duration_s":4.000095451', '"duration_s":1e400'), /duration_s: expected a non-negative number, got Infinity$/],
  ];
  for (const [v, re] of cases) reject(v, re);
});

test('deep nesting anywhere is a one-line error or ignored, never a stack overflow', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  for (const d of [deep(100_000), deepObj(100_000)]) {
    for (const at of ['"created":"2026-11-26T15:23:02.945Z"', '"partial_reason":null', '"warnings":[]']) {
      const key = at.slice(0, at.indexOf(':'));
      reject(DEMO.replace(at, `${key}:${d}`), new RegExp(`${key.slice(1, -1)}(\\[0\\])?: expected .*, got an (array|object)`));
    }
    // in a member no reader uses: tolerated
    const s = parseSession(Buffer.from(DEMO.replace('"format"', `"x":${d},"format"`)), 'ok');
    assert.equal(s.stages.length, 5);
  }
});

test('a 50k-frame stack exports (folded, speedscope, pprof) and builds the flame without recursion', () => {
  const s = demo();
  const depth = 50_000;
  const frames = Array.from({ length: depth }, (_, i) => ({ id: 100_000 + i, fn: `f${i}`, off: 0, module: '/bin/x', build_id: null, addr: '0x1', kernel: false }));
  s.frames.push(...frames);
  s.stacks.push({ frames: frames.map((f) => f.id), count: 3 });
  const v = parseSession(Buffer.from(JSON.stringify(s)), 'deep');
  const folded = parseFolded(exportFolded(v));
  const longest = [...folded.keys()].reduce((a, k) => (k.length > a.length ? k : a), '');
  assert.equal(longest.split(';').length, depth);
  const sp = exportSpeedscope(v);
  assert.ok(sp.profiles[0]!.samples.some((p) => p.length === depth));
  assert.ok(exportPprof(v).length > 0);
  assert.ok(buildCpuFlame(v).frames.length > depth);
  assert.ok(buildViewModel(v));
});

test('accepted mutations never print NaN, undefined or [object Object]', () => {
  const bad = /NaN|undefined|\[object Object\]|Infinity/;
  const variants: Session[] = [];
  const base = () => parseSession(Buffer.from(DEMO), 'demo');
  for (const patch of [
    { duration_s: 0 },
    { sample_hz: 0 },
    { samples: 0, stacks: [], frames: [] },
    { partial: true, partial_reason: null },
    { intervals: [] },
    { stages: [], sampled: sampled() },
    { stages: [], sampled: { ...sampled(), packets: 0 } },
    { stages: [], sampled: { ...sampled(), sample_hz: 0, window_s: 0 } },
  ]) {
    variants.push(Object.assign(base(), patch));
  }
  const zeroed = base();
  for (const st of zeroed.stages) Object.assign(st, { calls: 0, packets: 0, sum_ns: 0, buckets: [], timeline: [] });
  variants.push(zeroed);
  const huge = base();
  for (const st of huge.stages) st.buckets = [[1e9, 1e15]];
  variants.push(huge);
  for (const v of variants) {
    const r = buildReport(v);
    let text = formatReportTable(r);
    if (r.sampled) text += formatSampledReport(r.sampled);
    assert.doesNotMatch(text, bad, text);
    const d = diffSessions(v, base());
    assert.doesNotMatch(JSON.stringify(d.stages.map((x) => x.name)), bad);
  }
});

test('member paths and previews', () => {
  assert.equal(memberPath('/stages/2/buckets/0/1'), 'stages[2].buckets[0][1]');
  assert.equal(memberPath('/drops/a~1b'), 'drops.a/b');
  assert.equal(preview(undefined), 'nothing');
  assert.equal(preview([1, 2]), 'an array of 2');
  assert.equal(preview('x'.repeat(100)), `"${'x'.repeat(40)}..."`);
});
