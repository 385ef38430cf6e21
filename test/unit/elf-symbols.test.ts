import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { containingFunction, copiesOf, elfFunctions, type ElfFunction } from '../../src/core/elf-symbols.ts';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

test('the function symbols of a stripped library (.dynsym) are the ones nm lists, with their sizes', () => {
  const fns = elfFunctions(readFileSync(LIBC));
  const nm = execFileSync('nm', ['-D', '-S', '--defined-only', LIBC], { encoding: 'utf8' })
    .split('\n').map((l) => l.split(/\s+/)).filter((p) => p.length === 4 && /^[TtiW]$/.test(p[2]!));
  assert.ok(nm.length > 1000, `nm lists ${nm.length} functions`);
  const byKey = new Set(fns.map((f) => `${f.name.replace(/@.*/, '')}@${f.start}/${f.size}`));
  for (const [addr, size, , name] of nm) {
    assert.ok(byKey.has(`${name!.replace(/@.*/, '')}@${parseInt(addr!, 16)}/${parseInt(size!, 16)}`), `${name} at ${addr} size ${size}`);
  }
  const memcpy = fns.find((f) => f.name === 'getpid')!;
  assert.equal(containingFunction(fns, memcpy.start + 1)?.start, memcpy.start);
});

test('the covering function: innermost start, global alias first, sizeless only at its address', () => {
  const f = (name: string, start: number, size: number, global = false): ElfFunction => ({ name, start, size, global });
  const fns = [f('outer', 0x100, 0x100), f('inner', 0x140, 0x20), f('alias_l', 0x300, 0x10), f('alias_g', 0x300, 0x10, true), f('nosize', 0x400, 0)];
  assert.equal(containingFunction(fns, 0x150)?.name, 'inner');
  assert.equal(containingFunction(fns, 0x1ff)?.name, 'outer');
  assert.equal(containingFunction(fns, 0x200), null);
  assert.equal(containingFunction(fns, 0x305)?.name, 'alias_g');
  assert.equal(containingFunction(fns, 0x400)?.name, 'nosize');
  assert.equal(containingFunction(fns, 0x401), null);
});

test('copies of a function: GCC suffixes and same-named locals, not longer names', () => {
  const f = (name: string, start: number): ElfFunction => ({ name, start, size: 8, global: false });
  const fns = [f('send_burst', 0x10), f('send_burst.isra.0', 0x20), f('send_burst.isra.0', 0x30), f('send_burst.cold', 0x40), f('send_bursts', 0x50), f('send_burst', 0x10)];
  assert.deepEqual(copiesOf(fns, 'send_burst').map((c) => `${c.name}@${c.start.toString(16)}`), ['send_burst@10', 'send_burst.isra.0@20', 'send_burst.isra.0@30', 'send_burst.cold@40']);
});
