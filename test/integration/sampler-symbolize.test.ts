// Runs the C unit tests of the symbolizer and the JSON writer (native-tracer/test/): every
// function nm lists in a PIE and a non-PIE test binary and in libc (through .dynsym) resolves to
// itself, build-ids match readelf, runtime addresses map through /proc/PID/maps (also of a child
// whose executable was deleted), kallsyms lookups, and JSON escaping of hostile bytes; function
// ranges from .eh_frame_hdr (what names code without symbols) equal readelf's FDE list, also in a
// stripped copy; PLT stubs named NAME@plt where objdump labels them.
//   node --import tsx --test test/integration/sampler-symbolize.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUILD, ROOT } from './sampler-run.ts';

test('symbolizer and JSON writer C unit tests pass', () => {
  const r = spawnSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer/test'), `BUILD=${BUILD}`, 'check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make check failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /json: ok/);
  assert.match(r.stdout, /test_symbolize_pie\): \d+ checks ok/);
  assert.match(r.stdout, /test_symbolize_nopie\): \d+ checks ok/);
  assert.match(r.stdout, /libc\.so\.6: \d{3,} nm functions checked/);
  assert.match(r.stdout, /ok \S*libc\.so\.6: \d{3,} FDE ranges as readelf lists them/);
  assert.match(r.stdout, /test_symbolize_pie: \d+ PLT stubs checked/);
  assert.match(r.stdout, /ok \S*test_symbolize_stripped: \d{2,} FDE ranges as readelf lists them/);
});
