// What the C tracer's sources say about the stream, read from the files themselves: the constants
// and stage kinds of native-tracer/pktpath.h, and the members each record writer in
// native-tracer/stream.c writes. Tests compare these with the TS side instead of repeating numbers.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NATIVE = resolve(__dirname, '../../native-tracer');

/** The C string literals of a piece of source, in order, unescaped (enough for format strings). */
export function cStringLiterals(src: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\\n]|\\.)*)"/g;
  // comments and character literals hold no stream text; drop them so their quotes do not mislead
  const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '').replace(/'(?:[^'\\]|\\.)'/g, "' '");
  for (const m of code.matchAll(re)) out.push((m[1] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)));
  return out;
}

/** The #define PKTPATH_* constants of pktpath.h, evaluated (they refer to one another). */
export function headerConstants(path = join(NATIVE, 'pktpath.h')): Map<string, number> {
  const src = readFileSync(path, 'utf8');
  const out = new Map<string, number>();
  for (const m of src.matchAll(/^#define PKTPATH_(\w+)\s+([^\n]*?)\s*(?:\/\*.*)?$/gm)) {
    const name = m[1] ?? '';
    let expr = m[2] ?? '';
    expr = expr.replace(/PKTPATH_(\w+)/g, (_, n: string) => {
      const v = out.get(n);
      if (v === undefined) throw new Error(`pktpath.h: ${name} refers to ${n}, not defined before it`);
      return String(v);
    });
    if (!/^[\d\s()+\-*/<>]+$/.test(expr)) continue; // not a number (none today)
    out.set(name, evaluate(expr));
  }
  return out;
}

/** An integer expression of the kind #defines hold: + - * / << and parentheses. */
function evaluate(expr: string): number {
  const tokens = expr.match(/\d+|<<|[()+\-*/]/g) ?? [];
  let i = 0;
  const next = (): string => tokens[i++] ?? '';
  const peek = (): string => tokens[i] ?? '';
  const atom = (): number => {
    const t = next();
    if (t === '(') {
      const v = shift();
      if (next() !== ')') throw new Error(`unbalanced: ${expr}`);
      return v;
    }
    if (t === '-') return -atom();
    if (!/^\d+$/.test(t)) throw new Error(`not a number: ${t} in ${expr}`);
    return Number(t);
  };
  const product = (): number => {
    let v = atom();
    while (peek() === '*' || peek() === '/') v = next() === '*' ? v * atom() : Math.trunc(v / atom());
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = next() === '+' ? v + product() : v - product();
    return v;
  };
  const shift = (): number => {
    let v = sum();
    while (peek() === '<<') {
      next();
      v = v * 2 ** sum();
    }
    return v;
  };
  const v = shift();
  if (i !== tokens.length) throw new Error(`cannot read ${expr}`);
  return v;
}

/** enum pktpath_stage_kind: the stream's kind names (PKTPATH_KIND_UPROBE -> "uprobe") and codes, in order. */
export function headerStageKinds(path = join(NATIVE, 'pktpath.h')): Array<[string, number]> {
  const src = readFileSync(path, 'utf8');
  const body = /enum pktpath_stage_kind\s*\{([\s\S]*?)\};/.exec(src)?.[1];
  if (!body) throw new Error('pktpath.h has no enum pktpath_stage_kind');
  return [...body.matchAll(/PKTPATH_KIND_(\w+)\s*=\s*(\d+)/g)].map((m) => [(m[1] ?? '').toLowerCase(), Number(m[2])]);
}

/**
 * The members each record type's writer in stream.c writes: for every function whose format text
 * starts a record ({"type":"NAME"), the member names in its string literals, nested objects'
 * members as "outer.inner".
 */
export function streamWriterMembers(path = join(NATIVE, 'stream.c')): Map<string, Set<string>> {
  const src = readFileSync(path, 'utf8');
  const out = new Map<string, Set<string>>();
  for (const fn of src.matchAll(/^\w[^\n]*\bstream_\w+\([^)]*\)\s*\n\{([\s\S]*?)^\}/gm)) {
    const text = cStringLiterals(fn[1] ?? '').join('');
    const type = /\{"type":"(\w+)"/.exec(text)?.[1];
    if (!type) continue;
    if (out.has(type)) throw new Error(`stream.c: two writers of "${type}" records`);
    const members = new Set<string>();
    const outer: string[] = [];
    for (let i = 0; i < text.length; i++) {
      const m = /^"(\w+)":/.exec(text.slice(i));
      if (m) {
        const name = m[1] ?? '';
        members.add([...outer, name].join('.'));
        i += m[0].length;
        if (text[i] === '{') outer.push(name);
        else i--;
      } else if (text[i] === '}') {
        outer.pop();
      }
    }
    out.set(type, members);
  }
  return out;
}

/** Every other C source of the tracer (not stream.c, not its tests) that writes a JSON member name. */
export function otherJsonWriters(dir = NATIVE): string[] {
  return readdirSync(dir)
    // dwarf_mode.c answers the --dwarf mode's questions (debug files on the editor's machine): its own
    // protocol, not the stream; so does dpdk_query.c (--dpdk-query: a DPDK process's structure)
    .filter((f) => /\.c$/.test(f) && f !== 'stream.c' && f !== 'dwarf_mode.c' && f !== 'dpdk_query.c')
    .filter((f) => cStringLiterals(readFileSync(join(dir, f), 'utf8')).some((s) => /"\w+":/.test(s)));
}
