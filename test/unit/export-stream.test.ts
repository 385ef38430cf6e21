// The streamed exports say what the in-memory ones say (folded paths and counts, speedscope
// weights per path, pprof samples), and the streamed reader finds the stacks of any valid file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { parseSession } from '../../src/core/session-io.ts';
import { streamSession, findTopLevelMember } from '../../src/core/session-stream.ts';
import { foldedChunks, pprofChunks, speedscopeChunks } from '../../src/core/export-stream.ts';
import { exportFolded, parseFolded } from '../../src/core/export-folded.ts';
import { exportSpeedscope, type SpeedscopeFile } from '../../src/core/export-speedscope.ts';
import { buildPprof } from '../../src/core/export-pprof.ts';

const RAW = readFileSync('test/fixtures/demo-session.pktpath.json');

function byPath(f: SpeedscopeFile): Map<string, number> {
  const m = new Map<string, number>();
  const p = f.profiles[0]!;
  p.samples.forEach((s, i) => {
    const k = s.map((id) => `${f.shared.frames[id]!.name}@${f.shared.frames[id]!.file}`).join(';');
    m.set(k, (m.get(k) ?? 0) + p.weights[i]!);
  });
  // sums of the same weights in another order differ in the last bits
  return new Map([...m].map(([k, v]) => [k, Math.round(v)]));
}

test('streamed reading gives the same session and stacks, plain or gzip, pretty or not', () => {
  const s = parseSession(RAW, 'demo');
  for (const raw of [RAW, gzipSync(RAW), Buffer.from(JSON.stringify(s, null, 2))]) {
    const st = streamSession(raw, 'demo');
    assert.deepEqual([...st.stacks()], s.stacks);
    assert.deepEqual({ ...st.session, stacks: s.stacks }, s);
  }
  assert.equal(findTopLevelMember(Buffer.from('{"a":"x\\"}","stacks":[1]}'), 'stacks')?.start, 21);
});

test('a damaged stack is one line naming the file and the element', () => {
  const s = JSON.parse(RAW.toString()) as { stacks: unknown[] };
  s.stacks[3] = { frames: [1, -2], count: 1 };
  const st = streamSession(Buffer.from(JSON.stringify(s)), 'bad.json');
  assert.throws(() => [...st.stacks()], /^Error: bad\.json: stacks\[3\]\.frames\[1\]: expected a non-negative integer, got -2$|bad\.json: stacks\[3\]\.frames\[1\]: expected a non-negative integer, got -2$/);
});

test('streamed folded, speedscope and pprof match the in-memory exports', () => {
  const s = parseSession(RAW, 'demo');
  const st = streamSession(RAW, 'demo');
  for (const modules of [false, true]) {
    assert.deepEqual(parseFolded([...foldedChunks(st.session, st.stacks(), { modules })].join('')), parseFolded(exportFolded(s, { modules })));
  }
  const streamed = JSON.parse([...speedscopeChunks(st.session, st.stacks())].join('')) as SpeedscopeFile;
  const mem = exportSpeedscope(s);
  assert.deepEqual(byPath(streamed), byPath(mem));
  assert.ok(Math.abs(streamed.profiles[0]!.endValue - mem.profiles[0]!.endValue) < 1e-6 * mem.profiles[0]!.endValue);
  assert.equal(streamed.profiles[0]!.name, mem.profiles[0]!.name);
  const p = Profile.decode(new Uint8Array(gunzipSync(gzipSync(Buffer.concat([...pprofChunks(st.session, st.stacks())])))));
  const q = buildPprof(s);
  assert.equal(p.sample.length, q.sample.length);
  const names = (pr: Profile) =>
    pr.sample.map((x) => x.locationId.map((l) => pr.stringTable.strings[Number(pr.function[Number(pr.location[Number(l) - 1]!.line[0]!.functionId) - 1]!.name)]).join(';') + ` ${x.value.join(',')}`).sort();
  assert.deepEqual(names(p), names(q));
  assert.equal(p.period, q.period);
});
