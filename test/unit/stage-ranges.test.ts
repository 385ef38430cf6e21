import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DwarfStageError, exactModeRefusal, mergeRanges, parseDwarfStage, rangesFromAnswer, resolveDwarfStages, type AskDwarf,
} from '../../src/symbols/stage-ranges.ts';
import { splitDwarfStages } from '../../src/cli/dwarf-stages.ts';
import { attributeSamples } from '../../src/core/sampled.ts';
import type { Answer, Request } from '../../src/symbols/dwarf-helper.ts';
import type { Frame } from '../../src/core/session.ts';

test('inline:BIN:FUNC and lines:BIN:FILE:FIRST-LAST parse; the first : ends BIN, FILE may hold :', () => {
  assert.deepEqual(parseDwarfStage('r', 'inline:/opt/l3fwd:rte_lpm_lookup'), {
    kind: 'inline', name: 'r', spec: 'inline:/opt/l3fwd:rte_lpm_lookup', binary: '/opt/l3fwd', func: 'rte_lpm_lookup',
  });
  assert.deepEqual(parseDwarfStage('l', 'lines:/opt/fwd:src/c:d/main.c:120-134'), {
    kind: 'lines', name: 'l', spec: 'lines:/opt/fwd:src/c:d/main.c:120-134', binary: '/opt/fwd', file: 'src/c:d/main.c', first: 120, last: 134,
  });
  for (const bad of ['inline:/opt/fwd', 'inline::f', 'inline:/opt/fwd:f-g', 'lines:/opt/fwd:main.c:20-10', 'lines:/opt/fwd:main.c:0-3', 'lines:/opt/fwd:main.c', 'lines:/x:a.c:1-2\n']) {
    assert.throws(() => parseDwarfStage('s', bad), DwarfStageError, bad);
  }
});

test('ranges are sorted and merged where they touch or overlap; empty ones dropped', () => {
  assert.deepEqual(mergeRanges('/b/fwd', [['0x30', '0x40'], ['0x10', '0x20'], ['0x20', '0x28'], ['0x35', '0x50'], ['0x60', '0x60']]), [
    { module: '/b/fwd', lo: 0x10, hi: 0x28 },
    { module: '/b/fwd', lo: 0x30, hi: 0x50 },
  ]);
});

test('answers become ranges, or a refusal that says what is missing', () => {
  const inl = parseDwarfStage('r', 'inline:/b/fwd:lookup');
  const ok: Answer = { kind: 'ranges', answer: { ranges: [['0x1000', '0x1040']], inlined: 3, out_of_line: 1 } };
  const r = rangesFromAnswer(inl, ok, '/b/fwd');
  assert.deepEqual(r.ranges, [{ module: '/b/fwd', lo: 0x1000, hi: 0x1040 }]);
  assert.match(r.note, /lookup: 3 inlined instances, 1 out-of-line copies, 1 ranges, 64 bytes/);
  assert.throws(() => rangesFromAnswer(inl, { kind: 'ranges', answer: { ranges: [] } }, '/b/fwd'), /no code of lookup/);
  assert.throws(() => rangesFromAnswer(inl, { kind: 'error', message: 'no DWARF in this file' }, '/b/fwd'), /no DWARF/);
  const ln = parseDwarfStage('l', 'lines:/b/fwd:main.c:5-9');
  assert.throws(() => rangesFromAnswer(ln, { kind: 'ranges', answer: { ranges: [], files: [] } }, '/b/fwd'), /no source file matching main.c/);
  assert.throws(() => rangesFromAnswer(ln, { kind: 'ranges', answer: { ranges: [['0x1', '0x2']], files: ['/a/main.c', '/b/main.c'] } }, '/b/fwd'), /matches 2 source files/);
  assert.throws(() => rangesFromAnswer(ln, { kind: 'ranges', answer: { ranges: [], files: ['/a/main.c'] } }, '/b/fwd'), /no code for lines 5-9/);
});

test('a binary without DWARF is answered from its debug file; without one, the stage is refused', async () => {
  const asked: string[] = [];
  const answers = (dwarf: boolean): AskDwarf => async (file: string, reqs: readonly Request[]) => {
    asked.push(`${file}:${reqs.map((q) => q.kind).join(',')}`);
    return reqs.map((q): Answer => (q.kind === 'info'
      ? { kind: 'info', info: { build_id: 'ab12', debuglink: null, dwarf, symtab: false, code: true } }
      : { kind: 'ranges', answer: { ranges: [['0x10', '0x20']], inlined: 1, out_of_line: 0 } }));
  };
  const st = [parseDwarfStage('r', 'inline:/b/fwd:lookup')];
  const got = await resolveDwarfStages(st, answers(false), async (bin, id) => (bin === '/b/fwd' && id === 'ab12' ? { path: '/dbg/fwd.debug', ask: answers(true) } : null));
  assert.deepEqual(got.get('r')!.ranges, [{ module: '/b/fwd', lo: 0x10, hi: 0x20 }], 'ranges keep the module that runs');
  assert.deepEqual(asked, ['/b/fwd:info,inline', '/dbg/fwd.debug:inline']);
  await assert.rejects(resolveDwarfStages(st, answers(false), async () => null), /has no DWARF and no debug file was found for build-id ab12: r need it/);
});

test('exact mode refuses the DWARF kinds; other specs pass through untouched', () => {
  assert.deepEqual(splitDwarfStages(['a=uprobe:/b/fwd:f'], 'exact'), { plain: ['a=uprobe:/b/fwd:f'], dwarf: [] });
  assert.throws(() => splitDwarfStages(['x=inline:/b/fwd:f'], 'exact'), /stage x: inline:\/b\/fwd:f is for sampled mode only/);
  assert.match(exactModeRefusal({ name: 'l', spec: 'lines:/b:a.c:1-2', kind: 'lines' }), /a run of source lines has no call and return/);
  const s = splitDwarfStages(['a=uprobe:/b/fwd:f', 'x=lines:/b/fwd:a.c:1-2'], 'sampled');
  assert.equal(s.plain.length, 1);
  assert.equal(s.dwarf[0]!.kind, 'lines');
});

test('sampled attribution by ranges: a frame is in the stage by module basename and ELF address', () => {
  const f = (id: number, elf: string | null, module = '/run/fwd'): Frame => ({
    id, fn: 'loop', off: 0, module, build_id: null, addr: '0x0', kernel: false, ...(elf !== null ? { elf_addr: elf } : {}),
  });
  const frames = [f(1, '0x1010'), f(2, '0x1040'), f(3, '0x1010', '/other/lib.so'), f(4, null), f(5, '0x2000')];
  const stacks = [{ frames: [1, 5], count: 3 }, { frames: [2, 5], count: 2 }, { frames: [3], count: 1 }, { frames: [4], count: 1 }];
  const r = attributeSamples(frames, stacks, [{ name: 'lk', symbol: 'inline:/b/fwd:lookup', module: 'fwd', ranges: [{ module: '/b/fwd', lo: 0x1000, hi: 0x1040 }] }]);
  assert.equal(r.stages[0]!.samples, 3);
  assert.equal(r.unattributed, 4);
});
