import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { findCFunctions, guessPackets, looksLikeStage } from '../../src/vscode/c-functions.ts';

test('finds the five stage functions of the demo forwarder, at their lines', () => {
  const src = readFileSync('native-tracer/demo/fwd.c', 'utf8');
  const fns = findCFunctions(src);
  const lines = src.split('\n');
  for (const name of ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx', 'main']) {
    const f = fns.find((x) => x.name === name);
    assert.ok(f, `${name} found`);
    assert.equal(lines[f.line]!.slice(f.character, f.character + name.length), name);
    assert.ok(f.bodyEndLine > f.line);
  }
  const stages = fns.filter((f) => looksLikeStage(f.name)).map((f) => f.name);
  assert.deepEqual(stages, ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx']);
});

test('ignores declarations, initializers, comments, strings and macros', () => {
  const src = [
    '#define F(x) { x }',
    'int proto(int a);',
    'static int table[] = { 1, 2 };',
    '/* int commented(void) { } */',
    'const char *s = "int str(void) {";',
    'struct s { int (*cb)(int); };',
    'static inline int',
    'two_lines(int a,',
    '          int b) __attribute__((hot))',
    '{',
    '  if (a) { return b; }',
    '  return a;',
    '}',
    'void k(void) { }',
  ].join('\n');
  const fns = findCFunctions(src);
  assert.deepEqual(fns.map((f) => [f.name, f.line, f.bodyEndLine]), [['two_lines', 7, 12], ['k', 13, 13]]);
});

test('stage-like names', () => {
  for (const n of ['fwd_anything', 'eth_rx', 'rx_burst', 'ip_route_input', 'l3_lookup', 'hdr_rewrite']) assert.ok(looksLikeStage(n), n);
  for (const n of ['main', 'usage', 'print_counters', 'proxy', 'txt_parser']) assert.ok(!looksLikeStage(n), n);
});

test('packet counts guessed from the demo stage signatures', () => {
  const fns = findCFunctions(readFileSync('native-tracer/demo/fwd.c', 'utf8'));
  const guess = (n: string): string => guessPackets(fns.find((f) => f.name === n)!);
  assert.deepEqual(fns.find((f) => f.name === 'fwd_route_lookup')!.params, ['pkts', 'hop', 'n']);
  assert.equal(fns.find((f) => f.name === 'fwd_rx')!.returnType, 'uint16_t');
  assert.deepEqual(['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx', 'main'].map(guess),
    ['ret', 'arg1', 'arg2', 'arg2', 'arg2', 'one']);
  assert.deepEqual(findCFunctions('int f(int, char *) { return 0; }')[0]!.params, ['', '']);
});
