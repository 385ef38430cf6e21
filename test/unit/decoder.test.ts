import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { StreamDecoder, type DecodeEvent, type DecoderOptions } from '../../src/tracer/decoder.ts';
import type { StreamRecord } from '../../src/tracer/protocol.ts';

const FIXTURE = readFileSync('test/fixtures/stream-demo.jsonl') // tests run from the repo root;

// Production decoding unless a test says otherwise (the test runs set PKTPATH_STREAM_STRICT=1).
function decodeAll(chunks: Array<Buffer | string>, opts: DecoderOptions = {}): DecodeEvent[] {
  const d = new StreamDecoder({ strict: false, ...opts });
  const out: DecodeEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return out;
}
const records = (ev: DecodeEvent[]): StreamRecord[] => ev.flatMap((e) => (e.kind === 'record' ? [e.record] : []));
const warnings = (ev: DecodeEvent[]) => ev.flatMap((e) => (e.kind === 'warning' ? [e.error] : []));

test('decodes the fixture whole, and identically when fed byte by byte', () => {
  const whole = decodeAll([FIXTURE]);
  assert.equal(warnings(whole).length, 0);
  assert.equal(records(whole).length, 20);
  const bytes = decodeAll([...FIXTURE].map((b) => Buffer.from([b])));
  assert.deepEqual(records(bytes), records(whole));
  const first = records(whole)[0];
  assert.equal(first?.type, 'hello');
  const hist = records(whole).find((r) => r.type === 'hist');
  assert.ok(hist && hist.type === 'hist' && hist.buckets[0]?.[0] === 111);
});

test('CRLF line ends and blank lines are accepted', () => {
  const crlf = FIXTURE.toString('utf8').replace(/\n/g, '\r\n\r\n');
  const ev = decodeAll([crlf]);
  assert.equal(warnings(ev).length, 0);
  assert.equal(records(ev).length, 20);
});

test('garbage, truncated JSON and wrong types become warnings with line numbers; nothing valid lost', () => {
  const lines = FIXTURE.toString('utf8').trimEnd().split('\n');
  const bad = [
    'garbage \u0000\u0001 here',
    '{"type":"hist","seq":1,"stage":0,"calls":10,',
    '{"type":"hist","seq":1,"stage":0,"calls":"ten","packets":1,"sum_ns":1,"buckets":[]}',
    '{"type":"hist","seq":1,"stage":0,"calls":1,"packets":1,"sum_ns":1,"buckets":[[1,-2]]}',
    '{"type":"stage","id":0,"name":"x","kind":"teleport","spec":"s","packets":"one","ok":true}',
    '{"type":"stack","seq":1,"count":1,"tid":1,"frames":[]}',
    '[1,2,3]',
    '{"no":"type"}',
    '{"type":"tick","seq":1,"t_ns":-5,"dt_ns":1}',
    '{"type":"tick","seq":1,"t_ns":5,"dt_ns":1,"coverage":1.5}',
    '{"type":"stage","id":0,"name":"x","kind":"uprobe","spec":"s","packets":"one","ok":true,"key":"pkt"}',
  ];
  const mixed: string[] = [];
  lines.forEach((l, i) => {
    mixed.push(l);
    if (i < bad.length) mixed.push(bad[i]!);
  });
  const ev = decodeAll([mixed.join('\n') + '\n']);
  assert.deepEqual(records(ev), records(decodeAll([FIXTURE])), 'all valid records kept, in order');
  const w = warnings(ev);
  assert.equal(w.length, bad.length);
  for (const e of w) {
    assert.ok(e.line >= 2 && e.line % 2 === 0, `line number ${e.line} points at an inserted bad line`);
    assert.ok(e.reason.length > 5);
  }
  assert.match(w[0]!.reason, /not JSON/);
  assert.match(w[2]!.reason, /"calls" must be a non-negative integer, got "ten"/);
  assert.match(w[4]!.reason, /"kind" must be one of uprobe\|/);
  assert.match(w[0]!.toString(), /^tracer stream line 2: /);
});

test('unknown record types and members are ignored, each said once; the record keeps its known members', () => {
  const ev = decodeAll([
    '{"type":"hello2","x":1}\n{"type":"warning","message":"hi","extra":{"deep":1}}\n{"type":"hello2","x":2}\n' +
      '{"type":"warning","message":"again","extra":2}\n',
  ]);
  assert.equal(warnings(ev).length, 2);
  assert.match(warnings(ev)[0]!.reason, /unknown record type "hello2"/);
  assert.match(warnings(ev)[1]!.reason, /warning: member "extra" is not known to this pktpath, ignored \(said once\)/);
  assert.deepEqual(records(ev), [{ type: 'warning', message: 'hi' }, { type: 'warning', message: 'again' }]);
});

test('strict decoding (the tests\'): an unknown member or record type is fatal and names it', () => {
  const hello = JSON.parse(FIXTURE.toString('utf8').split('\n')[0]!) as Record<string, unknown>;
  const member = decodeAll([JSON.stringify({ ...hello, new_member: 1 }) + '\n{"type":"ready","t_ns":1}\n'], { strict: true });
  assert.equal(member.length, 1);
  assert.equal(member[0]!.kind, 'fatal');
  assert.match(member[0]!.kind === 'fatal' ? member[0]!.error.reason : '', /hello: unknown member "new_member" \(strict decoding/);
  const nested = decodeAll([JSON.stringify({ ...hello, hist: { ...(hello.hist as object), min_pow: 0 } }) + '\n'], { strict: true });
  assert.match(nested[0]!.kind === 'fatal' ? nested[0]!.error.reason : '', /unknown member "hist\.min_pow"/);
  const type = decodeAll(['{"type":"hello2","x":1}\n'], { strict: true });
  assert.match(type[0]!.kind === 'fatal' ? type[0]!.error.reason : '', /unknown record type "hello2"/);
  // the fixture (an older tracer's stream, without the members added since) decodes strictly
  assert.deepEqual(warnings(decodeAll([FIXTURE], { strict: true })), []);
  assert.equal(records(decodeAll([FIXTURE], { strict: true })).length, 20);
});

test('the hello carries perf_event_paranoid and lockdown', () => {
  const hello = JSON.parse(FIXTURE.toString('utf8').split('\n')[0]!) as Record<string, unknown>;
  const ev = decodeAll([JSON.stringify({ ...hello, perf_event_paranoid: 2, lockdown: 'none' }) + '\n'], { strict: true });
  const h = records(ev)[0];
  assert.ok(h?.type === 'hello');
  assert.equal(h.perf_event_paranoid, 2);
  assert.equal(h.lockdown, 'none');
});

test('huge lines are skipped with a warning and the next line survives', () => {
  const huge = '{"type":"warning","message":"' + 'x'.repeat(5000) + '"}';
  const ev = decodeAll([huge.slice(0, 2000), huge.slice(2000), '\n{"type":"warning","message":"ok"}\n'], { maxLineBytes: 1024 });
  assert.equal(warnings(ev).length, 1);
  assert.match(warnings(ev)[0]!.reason, /longer than 1024 bytes/);
  assert.equal(warnings(ev)[0]!.line, 1);
  assert.deepEqual(records(ev), [{ type: 'warning', message: 'ok' }]);
  // One chunk holding a huge complete line.
  const ev2 = decodeAll([huge + '\n{"type":"warning","message":"ok"}\n'], { maxLineBytes: 1024 });
  assert.equal(warnings(ev2).length, 1);
  assert.equal(records(ev2).length, 1);
});

test('a hello of another stream version is a clear fatal error', () => {
  const hello = JSON.parse(FIXTURE.toString('utf8').split('\n')[0]!) as Record<string, unknown>;
  const d = new StreamDecoder({ strict: false });
  const ev = d.push(JSON.stringify({ ...hello, version: 2 }) + '\n{"type":"ready","t_ns":1}\n');
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.kind, 'fatal');
  assert.match(ev[0]!.kind === 'fatal' ? ev[0]!.error.reason : '', /version 2 is newer than this pktpath reads: update pktpath/);
  assert.ok(d.failed);
  assert.deepEqual(d.push('{"type":"ready","t_ns":1}\n'), []);
});

test('a partial final line: kept when complete JSON, a truncation warning otherwise', () => {
  const ok = decodeAll(['{"type":"ready","t_ns":5}\n{"type":"bye","reason":"stdin","t_ns":9,"detached":true}']);
  assert.equal(records(ok).length, 2);
  const cut = decodeAll(['{"type":"ready","t_ns":5}\n{"type":"bye","reason":"st']);
  assert.equal(records(cut).length, 1);
  assert.match(warnings(cut)[0]!.reason, /truncated final line/);
  assert.equal(warnings(cut)[0]!.line, 2);
});

test('multi-byte UTF-8 split across chunks decodes intact', () => {
  const line = Buffer.from('{"type":"warning","message":"naïve — ✓"}\n', 'utf8');
  const ev = decodeAll([line.subarray(0, 31), line.subarray(31, 33), line.subarray(33)]);
  assert.deepEqual(records(ev), [{ type: 'warning', message: 'naïve — ✓' }]);
});

test('random bytes and mangled fixture lines never throw and never lose a valid line', () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const valid = FIXTURE.toString('utf8').trimEnd().split('\n');
  for (let round = 0; round < 200; round++) {
    const lines: string[] = [];
    let kept = 0;
    for (const l of valid) {
      if (l.includes('"hello"')) {
        lines.push(l);
        kept++;
        continue;
      }
      const r = rnd();
      if (r < 0.5) {
        lines.push(l);
        kept++;
      } else if (r < 0.75) {
        // Cut, or a byte flipped into something that is not JSON.
        const at = Math.floor(rnd() * l.length);
        lines.push(l.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 32)) + l.slice(at + 1));
      } else {
        lines.push(Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))).toString('latin1'));
      }
    }
    const text = lines.join('\n') + '\n';
    const chunks: string[] = [];
    for (let i = 0; i < text.length; ) {
      const n = 1 + Math.floor(rnd() * 300);
      chunks.push(text.slice(i, i + n));
      i += n;
    }
    const ev = decodeAll(chunks);
    assert.ok(records(ev).length >= kept, `round ${round}: ${records(ev).length} records < ${kept} valid lines`);
  }
});

test('tick: the sampler clocks (cpu_ns, sched_ns, slices, timer_late_ns, sample_run_ns) are optional integers', () => {
  const ev = decodeAll([
    '{"type":"tick","seq":1,"t_ns":5,"dt_ns":1,"samples":3,"lost":0,"cpu_ns":3000000,"sched_ns":3500000,"slices":40,"timer_late_ns":9000,"sample_run_ns":2700}\n' +
      '{"type":"tick","seq":2,"t_ns":6,"dt_ns":1}\n' +
      '{"type":"tick","seq":3,"t_ns":7,"dt_ns":1,"cpu_ns":-1}\n',
  ]);
  const t = records(ev);
  assert.equal(t.length, 2);
  assert.deepEqual(t[0], {
    type: 'tick', seq: 1, t_ns: 5, dt_ns: 1, samples: 3, lost: 0, cpu_ns: 3000000, sched_ns: 3500000, slices: 40, timer_late_ns: 9000, sample_run_ns: 2700,
  });
  assert.deepEqual(t[1], { type: 'tick', seq: 2, t_ns: 6, dt_ns: 1, samples: 0, lost: 0 });
  assert.match(warnings(ev)[0]!.reason, /"cpu_ns" must be a non-negative integer/);
});
