// Finds function definitions in C source cheaply (no parser): enough to suggest stages to probe and to
// place CodeLens and hovers. Comments, strings and preprocessor lines are blanked first so braces and
// parentheses inside them do not count; a definition is `name(...)` followed by `{` at file scope.

export interface CFunction {
  name: string;
  line: number; // 0-based line of the name
  character: number; // 0-based column of the name
  bodyEndLine: number; // 0-based line of the closing brace
  params: string[]; // parameter names, in order ("" where a parameter has no name)
  returnType: string; // the text before the name, attributes and storage class removed
}

const NOT_FUNCTIONS = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', '__attribute__', 'defined']);

/** Replaces comments, string/char literals and preprocessor lines with spaces, keeping offsets. */
export function blankNonCode(src: string): string {
  const out = src.split('');
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to && k < out.length; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let lineStart = true;
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (lineStart && c === '#') {
      // A directive runs to the end of the line, continued by backslashes.
      let j = i;
      while (j < src.length && !(src[j] === '\n' && src[j - 1] !== '\\')) j++;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const j = end < 0 ? src.length : end + 2;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '/' && n === '/') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = src.length;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      blank(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '\n') lineStart = true;
    else if (c !== ' ' && c !== '\t') lineStart = false;
    i++;
  }
  return out.join('');
}

/** Function definitions at file scope, in source order. */
export function findCFunctions(src: string): CFunction[] {
  const code = blankNonCode(src);
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const pos = (off: number): { line: number; character: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: off - lineStarts[lo]! };
  };
  const found: CFunction[] = [];
  let depth = 0;
  let parenDepth = 0;
  let lastCloseParen = -1; // offset of the `)` that closed a top-level parameter list
  let lastOpenParen = -1;
  let open: { name: string; off: number; params: string[] } | null = null;
  let candidate: { name: string; off: number; params: string[] } | null = null;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (depth === 0) {
      if (c === '(') {
        if (parenDepth === 0) lastOpenParen = i;
        parenDepth++;
      } else if (c === ')') {
        parenDepth = Math.max(0, parenDepth - 1);
        if (parenDepth === 0 && lastOpenParen >= 0) {
          const before = code.slice(0, lastOpenParen).match(/([A-Za-z_]\w*)\s*$/);
          const name = before?.[1];
          // `__attribute__((x))` after a parameter list must not replace the function's name.
          if (name && !NOT_FUNCTIONS.has(name)) {
            candidate = { name, off: lastOpenParen - before[0].length, params: paramNames(code.slice(lastOpenParen + 1, i)) };
            lastCloseParen = i;
          }
        }
      } else if (c === ';') {
        candidate = null;
      } else if (c === '{') {
        const between = candidate ? code.slice(lastCloseParen + 1, i) : '';
        // Only attributes, whitespace or K&R-free qualifiers may sit between `)` and `{`.
        if (candidate && /^(\s|__attribute__\s*\(\(.*?\)\)|const|noexcept)*$/s.test(between)) open = candidate;
        else open = null;
        candidate = null;
        depth = 1;
        continue;
      } else if (c === '=') {
        candidate = null; // an initializer: `x = { ... }`
      }
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0 && open) {
        const p = pos(open.off);
        found.push({ name: open.name, line: p.line, character: p.character, bodyEndLine: pos(i).line, params: open.params,
          returnType: returnTypeBefore(code, open.off) });
        open = null;
      }
    }
  }
  return found;
}

function paramNames(list: string): string[] {
  const t = list.trim();
  if (t === '' || t === 'void') return [];
  return t.split(',').map((p) => {
    const m = /([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*$/.exec(p.trim());
    // A lone type (`int`) has no name; a name is the last identifier after a type.
    return m && /[\s*]/.test(p.trim().slice(0, m.index).trim() + ' ') && p.trim().slice(0, m.index).trim() !== '' ? m[1]! : '';
  });
}

function returnTypeBefore(code: string, off: number): string {
  const start = Math.max(code.lastIndexOf(';', off), code.lastIndexOf('}', off), code.lastIndexOf('{', off)) + 1;
  return code
    .slice(start, off)
    .replace(/__attribute__\s*\(\(.*?\)\)/gs, ' ')
    .replace(/\b(static|inline|extern|__inline__|__always_inline)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * How many packets one call of a stage function handles, guessed from its C signature: receive
 * functions return the burst they got; others take a count parameter (`n`, `nb_pkts`, ...);
 * otherwise one call is one packet. The user can edit the spec; this is only the suggestion.
 */
export function guessPackets(f: Pick<CFunction, 'name' | 'params' | 'returnType'>): 'one' | 'ret' | `arg${number}` {
  const integral = /\b(u?int(8|16|32|64)_t|unsigned|int|size_t|uint)\b/.test(f.returnType) && !f.returnType.includes('*');
  if (integral && /(^|_)(rx|recv|receive|poll)(_|$)/i.test(f.name)) return 'ret';
  const i = f.params.findIndex((p) => /^(n|nb|nb_pkts|nb_rx|nb_tx|count|cnt|num|npkts|n_pkts|pkt_count)$/i.test(p));
  if (i >= 0) return `arg${i}`;
  return 'one';
}

/** Names that look like stages of a packet path (rx/tx/parse/route/lookup/rewrite, fwd_*). */
export function looksLikeStage(name: string): boolean {
  return /^fwd_/i.test(name) || /(^|_)(rx|tx|parse|route|lookup|rewrite|classify|forward|xmit|recv|enqueue|dequeue)(_|$)/i.test(name);
}
