// Debug-file names applied to a session's frames (src/core/symbolic-frames.ts): renaming, inline
// frames before the function they were inlined into, callers looked up at return address - 1,
// and symbolizing twice giving the same result as once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySymbols, distinctRoles, lookupAddress, moduleKey, stackSymbolizer, stripSymbols, type AddrAnswer, type ModuleAnswers } from '../../src/core/symbolic-frames.ts';
import type { Frame, Session } from '../../src/core/session.ts';
import { SESSION_FORMAT } from '../../src/core/session.ts';
import { tracerUnnamed, addressesByModule } from '../../src/symbols/symbolize-session.ts';

const MOD = '/opt/fwd';
const F = (id: number, fn: string, elf: number, o: Partial<Frame> = {}): Frame => ({
  id, fn, off: 0, module: MOD, build_id: 'b1', addr: `0x${(0x5500000000 + elf).toString(16)}`, kernel: false,
  elf_addr: `0x${elf.toString(16)}`, ...o,
});

function session(frames: Frame[], stacks: Session['stacks']): Session {
  return {
    format: SESSION_FORMAT, version: 1, created: '2025-01-01T00:00:00Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 1, kernel: false, command: null, binary: MOD, build_id: 'b1' },
    tracer: { stream_version: 1, version: 't', kernel: 'k', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 1, interval_ms: 1000, sample_hz: 999, hist: { sub_bits: 4, max_pow: 37 },
    stages: [], frames, stacks, samples: stacks.reduce((n, s) => n + s.count, 0), lost_samples: 0, drops: {}, warnings: [],
  };
}

const ans = (sym: string | null, lo: number, chain: Array<[string, string, number]>): AddrAnswer => ({
  sym, sym_lo: `0x${lo.toString(16)}`, frames: chain.map(([fn, file, line]) => ({ fn, file, line })),
});

// leaf at 0x1234 inside lookup() inlined into route() inlined into the static loop(); its caller's
// return address is 0x2005 in main (the call ends there: looked up at 0x2004)
const frames = [
  F(0, 'fwd+0x1200', 0x1234, { off: 0x34, named_by: 'eh_frame' }),
  F(1, 'main', 0x2005, { off: 5, named_by: 'symtab' }),
  { id: 2, fn: 'do_syscall_64', off: 10, module: '[kernel]', build_id: null, addr: '0xffffffff81000000', kernel: true, elf_addr: null },
];
const answers: ModuleAnswers = {
  source: 'build-id-dir',
  debug_file: '/usr/lib/debug/.build-id/b1.debug',
  answers: new Map([
    ['0x1234', ans('loop.cold', 0x1200, [['lookup', 'lpm.h', 40], ['route', 'fwd.c', 12], ['loop', 'fwd.c', 90]])],
    ['0x2004', ans('main', 0x2000, [['main', 'fwd.c', 120]])],
  ]),
};
const byModule = new Map([[moduleKey(MOD, 'b1'), answers]]);

test('a stripped leaf gets its name and its inlined functions as frames of their own, innermost first', () => {
  const s = session(frames, [{ frames: [2, 0, 1], count: 7, found: 'krc' }]);
  const r = applySymbols(s, byModule);
  const byId = new Map(r.frames.map((f) => [f.id, f]));
  const st = r.stacks[0]!;
  const names = st.frames.map((id) => byId.get(id)!.fn);
  assert.deepEqual(names, ['do_syscall_64', 'lookup', 'route', 'loop', 'main']);
  assert.equal(st.found, 'kiirc', 'inline frames are marked i, the others keep how they were found');
  assert.equal(st.count, 7);
  const loop = byId.get(st.frames[3]!)!;
  assert.equal(loop.off, 0x34);
  assert.deepEqual(loop.tracer, { fn: 'fwd+0x1200', off: 0x34, named_by: 'eh_frame' });
  assert.equal(loop.named_by, 'debug');
  assert.deepEqual([loop.file, loop.line], ['fwd.c', 90]);
  assert.equal(loop.symbol, 'loop.cold', 'the DWARF name is shown, the ELF symbol kept');
  assert.equal(byId.get(st.frames[4]!)!.symbol, undefined, 'no symbol kept where it is the name');
  const lookup = byId.get(st.frames[1]!)!;
  assert.equal(lookup.inline, true);
  assert.equal(lookup.addr, loop.addr, 'an inline frame has the address of the frame it was inlined into');
  assert.deepEqual(r.symbols?.modules, [{ module: MOD, build_id: 'b1', source: 'build-id-dir', debug_file: answers.debug_file, named: 2, inlined: 2 }]);
});

test('callers are looked up at the return address - 1', () => {
  assert.equal(lookupAddress(frames[1]!, true), '0x2004');
  assert.equal(lookupAddress(frames[1]!, false), '0x2005');
  assert.equal(lookupAddress(frames[2]!, false), null);
  // the same return address as the leaf (sampled right after the call returned) is its own frame
  const s = session(frames, [{ frames: [0, 1], count: 1 }, { frames: [1], count: 2 }]);
  const r = applySymbols(s, new Map([[moduleKey(MOD, 'b1'), {
    ...answers,
    answers: new Map([...answers.answers, ['0x2005', ans('main', 0x2000, [['tail', 'fwd.c', 121], ['main', 'fwd.c', 121]])]]),
  }]]));
  const byId = new Map(r.frames.map((f) => [f.id, f]));
  const callerMain = r.stacks[0]!.frames.at(-1)!;
  const leafChain = r.stacks[1]!.frames.map((id) => byId.get(id)!.fn);
  assert.deepEqual(leafChain, ['tail', 'main']);
  assert.notEqual(byId.get(callerMain)!.line, byId.get(r.stacks[1]!.frames[1]!)!.line);
});

test('symbolizing twice equals symbolizing once, and stripping gives back the tracer\'s frames', () => {
  const s = session(frames, [{ frames: [2, 0, 1], count: 7, found: 'krc' }, { frames: [0, 1], count: 3 }]);
  const once = applySymbols(s, byModule);
  const twice = applySymbols(once, byModule);
  assert.deepEqual(twice, once);
  const back = stripSymbols(once);
  assert.deepEqual(back.stacks, s.stacks);
  assert.deepEqual(back.frames, s.frames);
  assert.equal(back.symbols, undefined);
});

test('frames of modules without a debug file keep the tracer\'s names', () => {
  const other = F(5, 'libx.so+0x40', 0x40, { module: '/lib/libx.so', build_id: 'b2' });
  const s = session([...frames, other], [{ frames: [5, 1], count: 1 }]);
  const r = applySymbols(s, byModule, { missing: [{ module: '/lib/libx.so', build_id: 'b2', source: null, debug_file: null, named: 0, inlined: 0 }] });
  const byId = new Map(r.frames.map((f) => [f.id, f]));
  assert.equal(byId.get(r.stacks[0]!.frames[0]!)!.fn, 'libx.so+0x40');
  assert.equal(r.symbols?.modules.length, 2);
});

test('which frames the tracer could not name, and the addresses each module is asked about', () => {
  assert.equal(tracerUnnamed({ fn: 'fwd+0x1200', module: MOD, named_by: 'eh_frame' }), true);
  assert.equal(tracerUnnamed({ fn: 'fwd+0x1200', module: MOD }), true, 'older streams: by the name pattern');
  assert.equal(tracerUnnamed({ fn: 'fwd+0x1200', module: MOD, named_by: 'symtab' }), false);
  assert.equal(tracerUnnamed({ fn: 'main', module: MOD }), false);
  const s = session(frames, [{ frames: [2, 0, 1], count: 7 }, { frames: [1], count: 1 }]);
  const m = addressesByModule(s.frames, s.stacks).get(moduleKey(MOD, 'b1'))!;
  assert.deepEqual([...m.addrs].sort(), ['0x1234', '0x2004', '0x2005']);
  assert.equal(m.eh_named, 1);
});

test('stacks symbolized one at a time, after the distinct (frame, role) pairs, equal applySymbols (ids included)', () => {
  const more = { ...answers, answers: new Map([...answers.answers, ['0x2005', ans('main', 0x2000, [['tail', 'fwd.c', 121], ['main', 'fwd.c', 121]])]]) };
  const bm = new Map([[moduleKey(MOD, 'b1'), more]]);
  // frame 1 as a caller, then as a leaf (two versions of one id), an unknown id, `found` letters
  const stacks = [{ frames: [2, 0, 1], count: 7, found: 'krc' }, { frames: [1], count: 2, found: 'f' }, { frames: [9, 1], count: 1 }, { frames: [0, 1], count: 3 }];
  const s = session(frames, stacks);
  const whole = applySymbols(s, bm);
  const z = stackSymbolizer(s.frames, bm);
  for (const r of distinctRoles(s.frames, s.stacks)) z.expand(r.id, r.caller);
  assert.deepEqual(z.frames(), whole.frames);
  assert.deepEqual(s.stacks.map((st) => z.stack(st)), whole.stacks);
  assert.deepEqual(z.symbols(), whole.symbols);
  assert.deepEqual(z.frames(), whole.frames, 'mapping stacks adds no frames');
  assert.ok(whole.frames.some((f) => f.inline));
});
