// A small seeded run of the fuzz harness (test/fuzz/harness.ts): mutated session files through
// report/export/diff, mutated streams through the decoder and recorder, random command lines.
// The long run is bench/fuzz.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from '../fuzz/harness.ts';

test('fuzz: 900 seeded cases, no crash', { timeout: 120_000 }, async () => {
  const r = await runFuzz({ seed: 20261206, cases: 900 });
  assert.deepEqual(r.cases, { session: 300, stream: 300, argv: 300 });
  assert.deepEqual(r.crashes, [], JSON.stringify(r.crashes.slice(0, 3), null, 1));
});
