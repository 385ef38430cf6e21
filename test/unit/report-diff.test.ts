import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { diffSessions } from '../../src/core/diff.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import type { Session } from '../../src/core/session.ts';

function fixtureSession(): Session {
  const d = new StreamDecoder({ strict: true });
  const r = new Recorder({ host: 'localhost' });
  for (const ev of [...d.push(readFileSync('test/fixtures/stream-demo.jsonl')), ...d.end()]) r.event(ev);
  return r.finish();
}

test('diff matches stages by name, gives deltas, flags a correction mismatch and one-sided stages', () => {
  const a = fixtureSession();
  // B: route twice as slow per call; rx without calibration; a new stage only in B.
  const b: Session = {
    ...a,
    stages: [
      { ...a.stages[0]!, calibration: null },
      { ...a.stages[1]!, sum_ns: a.stages[1]!.sum_ns * 2 },
      { ...a.stages[1]!, id: 2, name: 'extra' },
    ],
  };
  const d = diffSessions(a, b);
  assert.deepEqual(d.stages.map((s) => s.name), ['rx', 'route', 'extra']);
  const route = d.stages[1]!;
  assert.equal(route.ns_per_packet_delta, 16000);
  assert.equal(route.ns_per_packet_change, 1);
  assert.equal(route.correction_mismatch, false);
  const rx = d.stages[0]!;
  assert.equal(rx.correction_mismatch, true, 'corrected in A, raw in B');
  assert.equal(rx.ns_per_packet_delta, 400 * 200 / 6400);
  const extra = d.stages[2]!;
  assert.equal(extra.a, null);
  assert.equal(extra.ns_per_packet_delta, null);
  assert.equal(extra.ns_per_packet_change, null);
});
