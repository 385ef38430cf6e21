// The streamed exports say what the in-memory ones say (folded paths and counts, speedscope
// weights per path, pprof samples), the streamed reader finds the stacks of any valid file, and a
// session symbolized while streaming exports exactly what the whole-session symbolizer gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { parseSession } from '../../src/core/session-io.ts';
import { openSessionStreaming, streamSession, findTopLevelMember, whole, type StreamedSession } from '../../src/core/session-stream.ts';
import type { ModuleSymbols, Session } from '../../src/core/session.ts';
import type { AddrAnswer, ModuleAnswers } from '../../src/core/symbolic-frames.ts';
import { symbolizeSession, symbolizeStreamed, type AnswerSource } from '../../src/symbols/symbolize-session.ts';
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

test('a file is read through a window: stacks across its edges, multi-byte names, gzip and damage as from memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-stream-'));
  try {
    const s = parseSession(RAW, 'demo');
    // > 3 windows of stacks, with names of multi-byte characters in the frames after them
    const many = { ...s, stacks: Array.from({ length: 60_000 }, (_, i) => s.stacks[i % s.stacks.length]!), frames: s.frames.map((f, i) => (i === 0 ? { ...f, fn: 'ünïcødé_∑' } : f)) };
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify(many, null, 1));
    const fromFile = await openSessionStreaming(file);
    assert.deepEqual([...fromFile.stacks()], many.stacks);
    assert.deepEqual([...fromFile.stacks()].length, many.stacks.length, 'iterated twice');
    assert.deepEqual({ ...fromFile.session, stacks: many.stacks }, many);
    const gz = join(dir, 'big.json.gz');
    writeFileSync(gz, gzipSync(Buffer.from(JSON.stringify(many))));
    assert.deepEqual([...(await openSessionStreaming(gz)).stacks()].length, many.stacks.length);
    const bad = JSON.parse(JSON.stringify(many)) as { stacks: unknown[] };
    bad.stacks[50_000] = { frames: [1, -2], count: 1 };
    writeFileSync(file, JSON.stringify(bad));
    const damaged = await openSessionStreaming(file);
    assert.throws(() => [...damaged.stacks()], /big\.json: stacks\[50000\]\.frames\[1\]: expected a non-negative integer, got -2/);
    writeFileSync(file, JSON.stringify(bad).slice(0, 2_500_000));
    await assert.rejects(openSessionStreaming(file), /big\.json/);
    await assert.rejects(openSessionStreaming(dir), /is a directory/);
    await assert.rejects(openSessionStreaming(join(dir, 'none.json')), /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

// Answers made up for every address a debug file is asked about (fwd's; libc has none): some
// addresses unnamed, some renamed, some with one or two functions inlined (one without a name).
const madeUp: AnswerSource = async (modules) => {
  const answers = new Map<string, ModuleAnswers>();
  const missing: ModuleSymbols[] = [];
  for (const [k, m] of modules) {
    if (!m.module.endsWith('/fwd')) {
      missing.push({ module: m.module, build_id: m.build_id, source: null, debug_file: null, named: 0, inlined: 0 });
      continue;
    }
    const map = new Map<string, AddrAnswer>();
    for (const a of m.addrs) {
      const n = Number(BigInt(a) % 1009n);
      const outer = { fn: `fn_${n % 7}`, file: 'fwd.c', line: 100 + (n % 3) };
      const lv = (i: number) => ({ fn: i === 1 && n % 2 ? null : `inl_${(n + i) % 4}`, file: 'lpm.h', line: 10 + i });
      if (n % 5 === 0) continue;
      if (n % 5 === 1) map.set(a, { sym: null, sym_lo: '0x0', frames: [] });
      else map.set(a, { sym: `sym_${n % 11}`, sym_lo: `0x${(BigInt(a) - BigInt(n % 64)).toString(16)}`, frames: [...Array.from({ length: (n % 5) - 2 }, (_, i) => lv(i)), outer] });
    }
    answers.set(k, { source: 'local-build', debug_file: '/build/fwd', answers: map });
  }
  return { answers, missing, warnings: ['a warning'] };
};

async function allFormats(src: StreamedSession): Promise<string[]> {
  return [
    [...foldedChunks(src.session, src.stacks())].join(''),
    [...foldedChunks(src.session, src.stacks(), { modules: true })].join(''),
    [...speedscopeChunks(src.session, src.stacks())].join(''),
    Buffer.concat([...pprofChunks(src.session, src.stacks())]).toString('base64'),
  ];
}

test('a symbolized export streamed is the whole-session symbolized export, byte for byte, ids included', async () => {
  const demo = parseSession(RAW, 'demo');
  // `found` letters, and a session symbolized before (other answers): symbolizing starts from the tracer's frames
  const withFound: Session = { ...demo, stacks: demo.stacks.map((st, i) => ({ ...st, found: st.frames.map((_, j) => 'frc'[(i + j) % 3]).join('') })) };
  const reanswered: AnswerSource = async (m) => {
    const r = await madeUp(m);
    return { ...r, answers: new Map([...r.answers].map(([k, v]) => [k, { ...v, answers: new Map([...v.answers].map(([a, x]) => [a, { ...x, frames: [{ fn: 'old', file: null, line: 0 }, ...x.frames] }])) }])) };
  };
  const before = (await symbolizeSession(withFound, reanswered)).session;
  let inlined = 0;
  for (const s of [demo, withFound, before]) {
    const mem = (await symbolizeSession(s, madeUp)).session;
    const streamed = (await symbolizeStreamed(streamSession(Buffer.from(JSON.stringify(s)), 'demo'), madeUp)).session;
    assert.deepEqual(streamed.session, { ...mem, stacks: [] });
    assert.deepEqual([...streamed.stacks()], mem.stacks);
    assert.deepEqual(await allFormats(streamed), await allFormats(whole(mem)));
    inlined += mem.frames.filter((f) => f.inline).length;
    assert.ok(mem.symbols!.modules[0]!.named > 0);
    assert.notDeepEqual(mem.stacks, s.stacks, 'the answers changed the stacks');
  }
  assert.ok(inlined > 0, 'inline frames were added');
});
