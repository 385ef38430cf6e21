import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectionStage } from '../../src/core/selection-stage.ts';
import { parseDwarfStage } from '../../src/symbols/stage-ranges.ts';
import { parseStageArg } from '../../src/tracer/spec.ts';

const base = { file: '/ws/examples/l3fwd/l3fwd_lpm.c', word: null, wordIsFunction: false };

test('a function name under the cursor is an inline: stage of the target binary', () => {
  const s = selectionStage({ ...base, startLine: 40, endLine: 40, endCharacter: 12, word: 'lpm_get_ipv4_dst_port', wordIsFunction: true }, '/usr/bin/l3fwd');
  assert.deepEqual(s, { name: 'lpm_get_ipv4_dst_port', spec: 'inline:/usr/bin/l3fwd:lpm_get_ipv4_dst_port', kind: 'inline' });
  assert.doesNotThrow(() => parseDwarfStage(s.name, s.spec));
});

test('selected lines are a lines: stage, 1-based; a selection ending at column 0 leaves that line out', () => {
  const s = selectionStage({ ...base, startLine: 99, endLine: 110, endCharacter: 0 }, '/usr/bin/l3fwd');
  assert.deepEqual(s, { name: 'l3fwd_lpm_100-110', spec: 'lines:/usr/bin/l3fwd:l3fwd_lpm.c:100-110', kind: 'lines' });
  assert.deepEqual(parseDwarfStage(s.name, s.spec), { kind: 'lines', name: s.name, spec: s.spec, binary: '/usr/bin/l3fwd', file: 'l3fwd_lpm.c', first: 100, last: 110 });
  assert.equal(selectionStage({ ...base, startLine: 99, endLine: 110, endCharacter: 3 }, '/x').spec, 'lines:/x:l3fwd_lpm.c:100-111');
  // an empty selection on a word that is not a function: its line
  assert.equal(selectionStage({ ...base, startLine: 5, endLine: 5, endCharacter: 3, word: 'pkts' }, '/x').spec, 'lines:/x:l3fwd_lpm.c:6-6');
});

test('stage names are valid --stage names whatever the file is called', () => {
  for (const file of ['/ws/9x y.c', 'C:\\src\\main.c', '/ws/.hidden.c', '/ws/' + 'a'.repeat(80) + '.c']) {
    const s = selectionStage({ ...base, file, startLine: 0, endLine: 0, endCharacter: 4 }, '/x');
    assert.doesNotThrow(() => parseStageArg(`${s.name}=uprobe:/x:f`), s.name);
  }
});
