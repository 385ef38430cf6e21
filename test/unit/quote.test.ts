// The quoting function is checked against a real /bin/sh (and dash when present): every hostile word
// must arrive as exactly one argument, byte for byte, and no payload may run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envArgv, quoteWord, shellCommand } from '../../src/remote/quote.ts';

const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash'].filter((s) => existsSync(s));

function hostile(canary: string): string[] {
  return [
    '',
    ' ',
    "'",
    "''",
    "x';touch " + canary + ";'",
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `"; touch ${canary}; "`,
    `a\nb`,
    `\n`,
    `line1\ntouch ${canary}`,
    '\\',
    "\\'",
    '$HOME',
    '${HOME}',
    '*',
    '~',
    '~root',
    '-rf',
    '--',
    '!',
    '#comment',
    'a b\tc',
    '&& touch ' + canary,
    '| touch ' + canary,
    '> ' + canary,
    'ünïcödé ✓',
    '\x01\x7f',
  ];
}

test('every hostile word round-trips through sh as one argument and runs nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-quote-'));
  try {
    const canary = join(dir, 'canary');
    const words = hostile(canary);
    for (const sh of SHELLS) {
      // printf prints each argument NUL-terminated, so the split is exact.
      const cmd = shellCommand(['printf', '%s\\0', ...words]);
      const r = spawnSync(sh, ['-c', cmd], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${sh}: ${r.stderr}`);
      const got = r.stdout.split('\0').slice(0, -1);
      assert.deepEqual(got, words, sh);
      assert.equal(existsSync(canary), false, `${sh}: payload ran`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quoteWord: shape', () => {
  assert.equal(quoteWord(''), "''");
  assert.equal(quoteWord('abc'), "'abc'");
  assert.equal(quoteWord("it's"), `'it'\\''s'`);
  assert.throws(() => quoteWord('a\0b'), /NUL/);
});

test('env assignments are quoted and names validated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-quote-'));
  try {
    const canary = join(dir, 'canary');
    const cmd = shellCommand(['sh', '-c', 'printf %s "$PP_X"'], { PP_X: `$(touch ${canary})'"` });
    const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
    assert.equal(r.stdout, `$(touch ${canary})'"`);
    assert.equal(existsSync(canary), false);
    assert.throws(() => shellCommand(['true'], { 'A;touch x': '1' }), /invalid environment variable name/);
    assert.throws(() => shellCommand([]), /empty argv/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('envArgv runs through env(1) with hostile values intact', () => {
  const argv = envArgv(['sh', '-c', 'printf %s "$PP_Y"'], { PP_Y: "a'b\n$(x)" });
  const r = spawnSync('/bin/sh', ['-c', shellCommand(argv)], { encoding: 'utf8' });
  assert.equal(r.stdout, "a'b\n$(x)");
  assert.throws(() => envArgv(['A=B'], {}), /must not contain '='/);
});
