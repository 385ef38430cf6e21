// The stream has one schema on each side: native-tracer/stream.c writes it (and pktpath.h holds its
// constants), src/tracer/stream-schema.ts reads it (and protocol.ts mirrors the constants), and
// docs/stream.md describes it. A member, record type or constant on one side only fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import * as protocol from '../../src/tracer/protocol.ts';
import { RECORD_SCHEMAS, RECORD_TYPES, STAGE_KINDS } from '../../src/tracer/stream-schema.ts';
import { headerConstants, headerStageKinds, otherJsonWriters, streamWriterMembers } from '../helpers/tracer-source.ts';

/** A schema's member names, nested objects' members as "outer.inner". */
function schemaMembers(schema: TSchema, prefix = ''): string[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.entries(props).flatMap(([k, s]) => [prefix + k, ...schemaMembers(s, `${prefix}${k}.`)]);
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

test('every record type stream.c writes has a schema, and every schema a writer', () => {
  const written = streamWriterMembers();
  assert.deepEqual(sorted(written.keys()), sorted(RECORD_TYPES));
});

for (const type of RECORD_TYPES) {
  test(`${type}: the members stream.c writes are exactly the schema's`, () => {
    const c = streamWriterMembers().get(type) ?? new Set<string>();
    const ts = new Set(schemaMembers(RECORD_SCHEMAS[type]));
    const onlyC = sorted([...c].filter((m) => !ts.has(m)));
    const onlyTs = sorted([...ts].filter((m) => !c.has(m)));
    assert.deepEqual(onlyC, [], `written by native-tracer/stream.c but missing from src/tracer/stream-schema.ts: ${onlyC.join(', ')}`);
    assert.deepEqual(onlyTs, [], `in src/tracer/stream-schema.ts but never written by native-tracer/stream.c: ${onlyTs.join(', ')}`);
  });
}

test('only stream.c writes JSON member names', () => {
  assert.deepEqual(otherJsonWriters(), []);
});

test("protocol.ts's constants are pktpath.h's", () => {
  const h = headerConstants();
  const mirrored: Array<[string, number]> = [
    ['STREAM_VERSION', protocol.STREAM_VERSION],
    ['MAX_STAGES', protocol.MAX_STAGES],
    ['MAX_DEPTH', protocol.MAX_DEPTH],
    ['MAX_MATCH', protocol.MAX_MATCH],
    ['MAX_STACK', protocol.MAX_STACK],
    ['HIST_SUB_BITS', protocol.HIST_SUB_BITS],
    ['HIST_SUB', protocol.HIST_SUB],
    ['HIST_MAX_POW', protocol.HIST_MAX_POW],
    ['HIST_BUCKETS', protocol.HIST_BUCKETS],
  ];
  for (const [name, ts] of mirrored) assert.equal(ts, h.get(name), `PKTPATH_${name}`);
});

test("the stage kinds and their codes are pktpath.h's enum, in order", () => {
  const kinds = headerStageKinds();
  assert.deepEqual([...STAGE_KINDS], kinds.map(([k]) => k));
  for (const [k, code] of kinds) assert.equal(protocol.STAGE_KIND_CODE[k as protocol.StageKindName], code, k);
});

test('docs/stream.md has a section for every record type naming each of its members', () => {
  const doc = readFileSync(resolve(__dirname, '../../docs/stream.md'), 'utf8');
  // "### warning, error" is one section for two record types; " — " starts the heading's gloss
  const sections = new Map<string, string>();
  for (const s of doc.split(/^### /m).slice(1)) {
    for (const name of (s.split('\n')[0] ?? '').split(' — ')[0]?.split(', ') ?? []) sections.set(name.trim(), s);
  }
  for (const type of RECORD_TYPES) {
    const s = sections.get(type);
    assert.ok(s, `docs/stream.md has no "### ${type}" section`);
    for (const m of schemaMembers(RECORD_SCHEMAS[type])) {
      const leaf = m.split('.').pop() ?? m;
      assert.ok(s.includes(`"${leaf}"`) || s.includes(`\`${leaf}\``), `docs/stream.md's ${type} section does not mention ${m}`);
    }
  }
});
