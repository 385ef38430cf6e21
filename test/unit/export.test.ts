import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { exportFolded, parseFolded } from '../../src/core/export-folded.ts';
import { exportSpeedscope } from '../../src/core/export-speedscope.ts';
import { exportPprof } from '../../src/core/export-pprof.ts';
import { SESSION_FORMAT, type Frame, type Session } from '../../src/core/session.ts';

function session(): Session {
  const frames: Frame[] = [
    { id: 1, fn: 'main', off: 4, module: '/opt/fwd', build_id: 'aa11', addr: '0x401004', kernel: false },
    { id: 2, fn: 'fwd_rx', off: 8, module: '/opt/fwd', build_id: 'aa11', addr: '0x401108', kernel: false },
    { id: 3, fn: 'evil;name\nwith\tcontrol', off: 0, module: '/lib/x;y.so', build_id: null, addr: '0x7f0000', kernel: false },
    { id: 4, fn: 'ksys_read', off: 1, module: '[kernel]', build_id: null, addr: '0xffffffff81000001', kernel: true },
  ];
  return {
    format: SESSION_FORMAT, version: 1, created: '2026-01-01T00:00:00.000Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 7, kernel: false, command: null, binary: '/opt/fwd', build_id: 'aa11' },
    tracer: { stream_version: 1, version: 't', kernel: 'k', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 2, interval_ms: 1000, sample_hz: 100, hist: { sub_bits: 4, max_pow: 37 }, stages: [], frames,
    stacks: [
      { frames: [2, 1], count: 30 },
      { frames: [3, 2, 1], count: 12 },
      { frames: [4, 3, 1], count: 5 },
      { frames: [1], count: 3 },
    ],
    samples: 50, lost_samples: 0, drops: {}, warnings: [],
  };
}

test('folded: counts round-trip, hostile names sanitized, optional modules', () => {
  const s = session();
  const text = exportFolded(s);
  const m = parseFolded(text);
  assert.equal([...m.values()].reduce((a, b) => a + b, 0), 50);
  assert.equal(m.get('main;fwd_rx'), 30);
  assert.equal(m.get('main;fwd_rx;evil:name with control'), 12);
  assert.equal(m.get('main;evil:name with control;ksys_read'), 5);
  assert.equal(m.get('main'), 3);
  assert.equal(text.split('\n').filter(Boolean).length, 4, 'no name broke a line');
  const withMods = parseFolded(exportFolded(s, { modules: true }));
  assert.equal(withMods.get('main [fwd];fwd_rx [fwd];evil:name with control [x:y.so]'), 12);
  assert.equal(withMods.get('main [fwd];evil:name with control [x:y.so];ksys_read [[kernel]]'), 5);
});

test('speedscope: schema fields and weights in ns', () => {
  const f = exportSpeedscope(session());
  assert.equal(f.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(f.profiles.length, 1);
  const p = f.profiles[0]!;
  assert.equal(p.type, 'sampled');
  assert.equal(p.unit, 'nanoseconds');
  assert.equal(p.samples.length, p.weights.length);
  assert.equal(p.weights.reduce((a, b) => a + b, 0), 50 * 1e7);
  assert.equal(p.endValue, 50 * 1e7);
  for (const smp of p.samples) for (const i of smp) assert.ok(i >= 0 && i < f.shared.frames.length);
  const names = p.samples.map((smp) => smp.map((i) => f.shared.frames[i]!.name).join('/'));
  assert.ok(names.includes('main/fwd_rx'), 'root first');
  assert.equal(f.activeProfileIndex, 0);
});

test('pprof: gzipped profile decodes back with pprof-format; sums and build ids match', () => {
  const buf = exportPprof(session());
  assert.equal(buf[0], 0x1f);
  const p = Profile.decode(gunzipSync(buf));
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  assert.deepEqual(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`), ['samples/count', 'cpu/nanoseconds']);
  const total = p.sample.reduce((a, s) => a + Number(s.value[0]), 0);
  assert.equal(total, 50);
  assert.equal(p.sample.reduce((a, s) => a + Number(s.value[1]), 0), 50 * 1e7);
  assert.equal(Number(p.period), 1e7);
  const fwd = p.mapping.find((m) => str(m.filename) === '/opt/fwd');
  assert.ok(fwd);
  assert.equal(str(fwd.buildId), 'aa11');
  // Leaf first: the first location of the 12-count sample is the evil frame.
  const s12 = p.sample.find((s) => Number(s.value[0]) === 12)!;
  const loc = p.location.find((l) => l.id === s12.locationId[0])!;
  const fn = p.function.find((f) => f.id === loc.line[0]!.functionId)!;
  assert.equal(str(fn.name), 'evil;name\nwith\tcontrol', 'pprof keeps names verbatim (protobuf strings)');
  assert.equal(BigInt(loc.address), 0x7f0000n);
  assert.equal(p.location.length, 4);
  assert.equal(p.function.length, 4);
});
