// Recorder (stream → Session) and session file I/O.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadSession, saveSession, SessionFileError } from '../../src/core/session-io.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import type { Session } from '../../src/core/session.ts';

const FIXTURE = readFileSync('test/fixtures/stream-demo.jsonl'); // tests run from the repo root

function recordFixture(text: Buffer | string, reason?: string): { session: Session; snapshots: Session[] } {
  const d = new StreamDecoder({ strict: true });
  const r = new Recorder({ host: 'localhost', sampleHz: 99, created: new Date('2026-01-01T00:00:00Z') });
  const snapshots: Session[] = [];
  r.onSnapshot((s) => snapshots.push(s));
  for (const ev of d.push(text)) r.event(ev);
  for (const ev of d.end()) r.event(ev);
  return { session: r.finish(reason), snapshots };
}

test('the recorder accumulates totals, buckets, timeline, stacks, drops', () => {
  const { session: s, snapshots } = recordFixture(FIXTURE);
  assert.equal(s.partial, false);
  assert.equal(s.end_reason, 'stdin');
  assert.equal(s.duration_s, 2);
  assert.equal(s.target.pid, 4242);
  assert.equal(s.target.binary, '/opt/fwd');
  assert.equal(s.target.build_id, 'abcd');
  assert.equal(s.stages.length, 2);
  const [rx, route] = s.stages;
  assert.equal(rx!.calls, 200);
  assert.equal(rx!.packets, 6400);
  assert.equal(rx!.sum_ns, 200000);
  assert.deepEqual(rx!.buckets, [[111, 200]]);
  assert.equal(rx!.calibration?.inner_ns, 400);
  assert.equal(route!.calibration, null);
  assert.equal(route!.unmatched, 1);
  assert.equal(route!.attach.single_step, true);
  assert.deepEqual(
    rx!.timeline.map((p) => [p.t_s, p.calls, p.packets]),
    [
      [1, 100, 3200],
      [2, 100, 3200],
    ],
  );
  assert.equal(rx!.timed, 200, 'timed: from the member, or the buckets of an older tracer');
  assert.equal(rx!.latency_key, 'call');
  assert.equal(rx!.attach.first_bytes, '55 48 89 e5');
  assert.equal(route!.latency_key, undefined);
  assert.deepEqual(s.intervals, [
    { t_s: 1, dt_s: 1, samples: 40, coverage: 1, overhead_pct: null },
    { t_s: 2, dt_s: 1, samples: 20, coverage: 0.5, overhead_pct: 2 },
  ]);
  assert.equal(s.samples, 60);
  assert.equal(s.lost_samples, 1);
  assert.deepEqual(s.drops, { stacks: 2 });
  assert.equal(s.frames.length, 3);
  assert.deepEqual(
    s.stacks.map((x) => [x.frames.join(','), x.count]),
    [
      ['2,1', 50],
      ['3,1', 10],
    ],
  );
  assert.ok(s.warnings.some((w) => /single-stepped/.test(w)));
  assert.ok(s.warnings.some((w) => /thread 4243 exited/.test(w)));
  // One immutable snapshot per tick, each a whole-interval view.
  assert.equal(snapshots.length, 2);
  assert.equal(snapshots[0]!.stages[0]!.calls, 100);
  assert.equal(snapshots[0]!.duration_s, 1);
  assert.ok(Object.isFrozen(snapshots[0]!.stages[0]!.timeline));
  assert.throws(() => {
    (snapshots[0]!.stages as unknown as unknown[]).push(1);
  });
});

test('a stream cut without bye gives a partial session that keeps what arrived', () => {
  const lines = FIXTURE.toString('utf8').split('\n');
  const cut = lines.slice(0, 16).join('\n') + '\n' + lines[16]!.slice(0, 10); // mid interval 2, torn line
  const { session: s } = recordFixture(cut, 'connection lost');
  assert.equal(s.partial, true);
  assert.equal(s.partial_reason, 'connection lost');
  assert.equal(s.duration_s, 1, 'duration ends at the last tick');
  assert.equal(s.stages[0]!.calls, 200, 'the unclosed interval is counted, not lost');
  assert.ok(s.warnings.some((w) => /truncated final line/.test(w)));
  assert.ok(s.warnings.some((w) => /never closed/.test(w)));
});

test('tracer errors are kept; hist for an unknown stage warns once', () => {
  const extra =
    '{"type":"hist","seq":9,"stage":7,"calls":1,"packets":1,"sum_ns":1,"buckets":[]}\n' +
    '{"type":"hist","seq":9,"stage":7,"calls":1,"packets":1,"sum_ns":1,"buckets":[]}\n' +
    '{"type":"error","message":"lost the target","missing":[],"fatal":true}\n';
  const text = FIXTURE.toString('utf8').replace(/\{"type":"bye".*\n/, extra + '{"type":"bye","reason":"error","t_ns":4000000000,"detached":true}\n');
  const { session: s } = recordFixture(text);
  assert.equal(s.partial, true);
  assert.equal(s.partial_reason, 'lost the target');
  assert.deepEqual(s.errors, ['lost the target']);
  assert.equal(s.warnings.filter((w) => /stage 7/.test(w)).length, 1);
});

// ---- session files ------------------------------------------------------------------------------

test('save/load round-trips plain and gzip files, atomically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-sess-'));
  try {
    const { session } = recordFixture(FIXTURE);
    for (const name of ['a.pktpath.json', 'b.pktpath.json.gz']) {
      const p = join(dir, name);
      await saveSession(p, session);
      const back = await loadSession(p);
      assert.deepEqual(back, JSON.parse(JSON.stringify(session)));
    }
    assert.equal(readFileSync(join(dir, 'b.pktpath.json.gz'))[0], 0x1f, 'gzip magic');
    assert.deepEqual(readdirSync(dir).sort(), ['a.pktpath.json', 'b.pktpath.json.gz'], 'no temp files left');
    // A failed write leaves the old file intact.
    await assert.rejects(saveSession(join(dir, 'missing-dir', 'c.pktpath.json'), session));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading bad files gives clear SessionFileErrors, never a raw SyntaxError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-sess-'));
  try {
    const { session } = recordFixture(FIXTURE);
    const good = JSON.stringify(session);
    const cases: Array<[string, Buffer | string, RegExp]> = [
      ['empty.pktpath.json', '', /empty/],
      ['trunc.pktpath.json', good.slice(0, good.length / 2), /truncated/],
      ['garbage.pktpath.json', 'hello world', /not valid JSON/],
      ['other.pktpath.json', JSON.stringify({ some: 'thing' }), /not a pktpath session file/],
      ['newer.pktpath.json', JSON.stringify({ ...session, version: 99 }), /version 99 is newer.*update pktpath/],
      ['damaged.pktpath.json', JSON.stringify({ ...session, stages: [{ ...session.stages[0], calls: 'many' }] }), /damaged\.pktpath\.json: stages\[0\]\.calls: expected a non-negative number, got "many"$/],
      ['badbuckets.pktpath.json', JSON.stringify({ ...session, stages: [{ ...session.stages[0], buckets: [[1]] }] }), /stages\[0\]\.buckets\[0\]: expected \[index, count\] of non-negative numbers, got an array of 1$/],
      ['trunc.pktpath.json.gz', gzipSync(good).subarray(0, 100), /corrupt or truncated gzip/],
    ];
    for (const [name, data, re] of cases) {
      const p = join(dir, name);
      writeFileSync(p, data);
      await assert.rejects(loadSession(p), (e: unknown) => {
        assert.ok(e instanceof SessionFileError, `${name}: ${String(e)}`);
        assert.match(e.message, re, name);
        assert.ok(e.message.startsWith(p), 'names the file');
        return true;
      });
    }
    await assert.rejects(loadSession(join(dir, 'nope.pktpath.json')), /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
