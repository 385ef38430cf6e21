// Function names are untrusted bytes. test/targets/spin_hostile.c burns CPU in functions named
// (by asm label) `we"ird\name <img src=x onerror=alert(1)>` + TAB + `$` and `bad` 0xFF `utf8`;
// the stream must stay valid JSON and carry the first name exactly and the second with the
// invalid byte as U+FFFD. Run as root: node --import tsx --test test/integration/sampler-hostile.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildSampler, buildTracer, profile, record, startTarget, type Driver } from './sampler-run.ts';

const HOSTILE = 'we"ird\\name <img src=x onerror=alert(1)>\t$';
const BAD_UTF8 = 'bad\uFFFDutf8';
const HOSTILE_DIR = 'd"ir\\ <img src=x onerror=alert(2)> \u00e9';
let tracerBuildError: string | null = null;

before(() => {
  buildSampler();
  tracerBuildError = buildTracer();
});

async function hostileCase(driver: Driver): Promise<void> {
  // the module path is untrusted too: the binary sits in a directory with a hostile name
  const target = await startTarget('spin_hostile', 20, [], HOSTILE_DIR);
  try {
    const rec = await record(driver, target.pid, 499, 2);
    assert.equal(rec.exitCode, 0, `recorder failed: ${rec.stderr}`);
    assert.deepEqual(rec.decodeWarnings, [], 'every line decodes as a valid record');
    // the decoder would quietly turn raw invalid bytes into U+FFFD itself: check the bytes
    assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(rec.raw), 'stdout is valid UTF-8');
    assert.ok(!rec.raw.some((b) => (b < 0x20 && b !== 0x0a) || b === 0x7f), 'no raw control bytes');
    const p = profile(rec.records);
    assert.deepEqual(p.problems, []);
    const names = new Set([...p.frames.values()].map((f) => f.fn));
    assert.ok(names.has(HOSTILE), `exact hostile name among ${JSON.stringify([...names])}`);
    assert.ok(names.has(BAD_UTF8), 'invalid UTF-8 byte became U+FFFD');
    const hostile = [...p.frames.values()].filter((f) => f.fn === HOSTILE);
    assert.ok(hostile.length > 0 && hostile.every((f) => f.module === target.exe && f.build_id !== null),
      `module ${JSON.stringify(hostile[0]?.module)} is the exact path ${JSON.stringify(target.exe)}`);
    assert.ok(target.exe.includes(HOSTILE_DIR));
  } finally {
    target.stop();
  }
}

test('hostile symbol names through the sampler API come out as exact, valid JSON', async () => {
  await hostileCase('sampler');
});

test('hostile symbol names through pktpath-tracer', async () => {
  assert.equal(tracerBuildError, null, `pktpath-tracer must build: ${tracerBuildError}`);
  await hostileCase('tracer');
});
