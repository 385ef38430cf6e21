// A small seeded run of the fuzz harness (test/fuzz/harness.ts): mutated session files through
// report/export/diff, mutated streams through the decoder and recorder, random command lines.
// The long run is bench/fuzz.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from '../fuzz/harness.ts';

test('fuzz: 900 seeded cases (those that ran), no crash', { timeout: 120_000 }, async () => {
  const r = await runFuzz({ seed: 20261206, cases: 900 });
  assert.ok(r.cases.session > 250 && r.cases.stream === 300 && r.cases.argv > 250, JSON.stringify(r.cases));
  assert.deepEqual(r.crashes, [], JSON.stringify(r.crashes.slice(0, 3), null, 1));
});
