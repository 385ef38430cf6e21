// The fuzz harness: mutated session files through the commands that read them (report, report
// --json, export in three formats, diff), mutated tracer streams through the decoder and the
// recorder, and random command lines through the CLI. Seeded: a case is replayed from its seed.
//
// A crash is any of: an exception escaping a command; a failure message that is a raw JavaScript
// error (TypeError, RangeError, "is not a function", a stack overflow) or does not name the file;
// accepted input printing NaN, undefined or [object Object]; a control character reaching the
// terminal; a recorder session that its own schema refuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import { sessionProblem } from '../../src/core/session-schema.ts';
import { rng } from '../../bench/render-synthetic.ts'; // seeded: a case can be replayed

export type FuzzKind = 'session' | 'stream' | 'argv';

export interface Crash {
  kind: FuzzKind;
  seed: number;
  what: string;
  detail: string;
}

export interface FuzzResult {
  /** cases that ran (a mutation that could not be written is not one) */
  cases: Record<FuzzKind, number>;
  crashes: Crash[];
}

const RAW_JS_ERROR = /TypeError|RangeError|ReferenceError|is not a function|is not iterable|Cannot read propert|Cannot convert|Maximum call stack|Invalid typed array|Invalid array length|\bat .*\(.*:\d+:\d+\)/;
const BAD_PRINT = /\bNaN\b|\bundefined\b|\[object Object\]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const EVIL_STRINGS = ['', '\u001b[2J\u001b]0;x\u0007', '\u009b31m', 'evil\u202egnp.exe', '\u2066\u200f', 'a'.repeat(5000), '__proto__', 'constructor', '0x', '-1', '💥', '\ud800'];
const EVIL_VALUES: unknown[] = [null, true, false, 0, -1, -1000, 1.5, 2 ** 53, 1e308, -0, [], {}, [[]], { toString: 1 }, ...EVIL_STRINGS];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function deep(r: () => number): unknown {
  const n = 1 + Math.floor(r() * 50_000);
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = r() < 0.5 ? [v] : { a: v };
  return v;
}

/** One structural mutation at a random place of a JSON value (in place when possible). */
function mutateValue(r: () => number, root: unknown): unknown {
  // walk down a random path
  let parent: Record<string, unknown> | unknown[] | null = null;
  let key: string | number = '';
  let cur: unknown = root;
  const depth = Math.floor(r() * 6);
  for (let d = 0; d < depth; d++) {
    if (Array.isArray(cur) && cur.length) {
      parent = cur;
      key = Math.floor(r() * cur.length);
      cur = cur[key];
    } else if (cur && typeof cur === 'object' && Object.keys(cur).length) {
      parent = cur as Record<string, unknown>;
      key = pick(r, Object.keys(cur));
      cur = (cur as Record<string, unknown>)[key];
    } else break;
  }
  const op = Math.floor(r() * 8);
  let next: unknown;
  if (op === 0) next = pick(r, EVIL_VALUES);
  else if (op === 1) next = typeof cur === 'number' ? -cur - 1 : typeof cur === 'string' ? cur + pick(r, EVIL_STRINGS) : pick(r, EVIL_VALUES);
  else if (op === 2) next = deep(r);
  else if (op === 3) next = Array.isArray(cur) ? [...cur, ...cur] : [cur];
  else if (op === 4) next = typeof cur === 'number' ? cur * 1e6 : cur !== null && typeof cur === 'object' ? pick(r, EVIL_STRINGS) : String(cur);
  else if (op === 5 && parent && !Array.isArray(parent)) {
    delete parent[key as string];
    return root;
  } else if (op === 6 && cur && typeof cur === 'object' && !Array.isArray(cur)) {
    // an own member even for __proto__, as JSON.parse makes it
    Object.defineProperty(cur, pick(r, ['x', 'name', 'frames', 'count', 'buckets', 'sampled', '__proto__']), { value: pick(r, EVIL_VALUES), enumerable: true, writable: true, configurable: true });
    return root;
  } else next = Array.isArray(cur) ? cur.slice(0, Math.floor(r() * cur.length)) : pick(r, EVIL_VALUES);
  if (!parent) return next;
  if (Array.isArray(parent)) parent[key as number] = next;
  else parent[key as string] = next;
  return root;
}

/** Text-level damage: truncation, a flipped byte, an inserted token. */
function mutateText(r: () => number, text: string): string {
  const at = Math.floor(r() * text.length);
  const op = Math.floor(r() * 4);
  if (op === 0) return text.slice(0, at);
  if (op === 1) return text.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + text.slice(at + 1);
  if (op === 2) return text.slice(0, at) + pick(r, ['1e400', '-', '"', '{', ']', ',', 'NaN', '\\u0000']) + text.slice(at);
  return text.replace(/\d+/, pick(r, ['-1', '1e400', '99999999999999999999', '0.5']));
}

interface Ctx {
  dir: string;
  base: unknown;
  baseText: string;
  basePath: string;
  stream: string[];
}

function makeContext(): Ctx {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-fuzz-'));
  const stream = readFileSync('test/fixtures/stream-demo.jsonl', 'utf8').split('\n').filter(Boolean);
  const d = new StreamDecoder({ strict: false });
  const rec = new Recorder({ host: 'localhost', sampleHz: 99, created: new Date('2026-01-01T00:00:00Z') });
  for (const ev of d.push(stream.join('\n') + '\n')) rec.event(ev);
  for (const ev of d.end()) rec.event(ev);
  const base = { ...rec.finish() } as Record<string, unknown>;
  base.sampled = {
    sample_hz: 999, samples: 100, unattributed: 10, window_s: 1, packets: 1000, packets_source: 'netdev lo rx_packets',
    counter_packets: 1000, counter_window_s: 1, stages: [{ name: 'rx', symbol: 'fwd_rx', module: null, samples: 90, inclusive_samples: 90 }],
  };
  const baseText = JSON.stringify(base);
  const basePath = join(dir, 'base.pktpath.json');
  writeFileSync(basePath, baseText);
  return { dir, base, baseText, basePath, stream };
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string; threw: unknown }> {
  let out = '';
  let err = '';
  try {
    const code = await main(argv, { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
    return { code, out, err, threw: undefined };
  } catch (e) {
    return { code: -1, out, err, threw: e };
  }
}

function judge(res: { code: number; out: string; err: string; threw: unknown }, file: string | null): string | null {
  if (res.threw !== undefined) return `threw: ${String((res.threw as Error)?.stack ?? res.threw).slice(0, 300)}`;
  if (RAW_JS_ERROR.test(res.err)) return `raw error: ${res.err.slice(0, 300)}`;
  if (CONTROL.test(res.out) || CONTROL.test(res.err)) return 'a control character reached the terminal';
  if (res.code === 0 && BAD_PRINT.test(res.out.replace(/"[^"\n]*"/g, '""'))) return `printed: ${res.out.match(BAD_PRINT)![0]}`;
  if (res.code === 1 && file && !res.err.includes(file) && !/^pktpath \w+: (cannot|could not)/m.test(res.err)) return `error does not name the file: ${res.err.slice(0, 200)}`;
  if (![0, 1, 2, 3].includes(res.code)) return `exit ${res.code}`;
  return null;
}

const COMMANDS = (file: string, out: string): string[][] => [
  ['report', file, '--no-symbolize'],
  ['report', file, '--json', '--no-symbolize'],
  ['export', file, '--format', 'folded', '-o', out, '--no-symbolize'],
  ['export', file, '--format', 'speedscope', '-o', out, '--no-symbolize'],
  ['export', file, '--format', 'pprof', '-o', out, '--no-symbolize'],
  ['diff', file, file],
];

async function sessionCase(ctx: Ctx, seed: number): Promise<Crash | null | 'skip'> {
  const r = rng(seed);
  let text: string;
  if (r() < 0.25) text = mutateText(r, ctx.baseText);
  else {
    try {
      let v: unknown = JSON.parse(ctx.baseText);
      const n = 1 + Math.floor(r() * 3);
      for (let i = 0; i < n; i++) v = mutateValue(r, v);
      text = JSON.stringify(v);
    } catch {
      return 'skip'; // the mutation itself failed (e.g. too deep for JSON.stringify): no file to try
    }
  }
  const file = join(ctx.dir, `case-${seed}.pktpath.json`);
  writeFileSync(file, text);
  const cmd = pick(r, COMMANDS(file, join(ctx.dir, 'out')));
  if (cmd[0] === 'diff' && r() < 0.5) cmd[1] = ctx.basePath;
  const res = await run(cmd);
  const why = judge(res, file);
  if (why && process.env.PKTPATH_FUZZ_KEEP) writeFileSync(`${process.env.PKTPATH_FUZZ_KEEP}/case-${seed}.json`, text);
  if (why && process.env.PKTPATH_FUZZ_KEEP) writeFileSync(`${process.env.PKTPATH_FUZZ_KEEP}/case-${seed}.out`, res.out + res.err);
  rmSync(file, { force: true });
  return why ? { kind: 'session', seed, what: cmd.join(' ').replace(file, 'FILE'), detail: why } : null;
}

function streamCase(ctx: Ctx, seed: number): Crash | null {
  const r = rng(seed);
  const lines = [...ctx.stream];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * lines.length);
    const op = r();
    if (op < 0.4) {
      try {
        lines[at] = JSON.stringify(mutateValue(r, JSON.parse(lines[at]!)));
      } catch {
        lines[at] = mutateText(r, lines[at]!);
      }
    } else if (op < 0.7) lines[at] = mutateText(r, lines[at]!);
    else if (op < 0.85) lines.splice(at, 0, lines[Math.floor(r() * lines.length)]!);
    else lines.splice(at, 1);
  }
  try {
    const d = new StreamDecoder({ strict: false, maxLineBytes: 1 << 20 });
    const rec = new Recorder({ host: 'localhost', sampleHz: 99, created: new Date('2026-01-01T00:00:00Z') });
    const text = lines.join('\n') + '\n';
    // arbitrary chunking: a line may arrive in pieces
    for (let i = 0; i < text.length; ) {
      const step = 1 + Math.floor(r() * 400);
      for (const ev of d.push(text.slice(i, i + step))) rec.event(ev);
      i += step;
    }
    for (const ev of d.end()) rec.event(ev);
    const s = rec.finish(r() < 0.2 ? 'connection lost' : undefined);
    const problem = sessionProblem(JSON.parse(JSON.stringify(s)));
    if (problem) return { kind: 'stream', seed, what: 'recorder session', detail: `its own schema refuses it: ${problem}` };
  } catch (e) {
    return { kind: 'stream', seed, what: 'decode+record', detail: `threw: ${String((e as Error)?.stack ?? e).slice(0, 300)}` };
  }
  return null;
}

const ARG_TOKENS = [
  'report', 'export', 'diff', 'record', '--json', '--format', 'folded', 'pprof', 'speedscope', 'svg', '-o', '-f', '--modules',
  '--pid', '--kernel', '--stage', 'rx=uprobe:/bin/true:main', 'x=tracepoint:net:netif_receive_skb', 'bad=', '=', 'a=kprobe:',
  '--duration', '--sample-hz', '--interval-ms', '--mode', 'sampled', 'exact', '--packets-from', 'dev:lo', '--unwind', 'dwarf', 'fp',
  '--stack-bytes', '--max-overhead', '--recalibrate-s', '--netns', '--fail-if-slower', '--no-symbolize', '--debug-file', '--debug-dir',
  '-1', '0', '1e9', 'NaN', '12abc', '', '--', '-', '--bogus', '-xyz', '/proc/x.json', '/dev/null', '/tmp', 'BASE', 'OUT',
];

async function argvCase(ctx: Ctx, seed: number): Promise<Crash | null | 'skip'> {
  const r = rng(seed);
  const n = Math.floor(r() * 9);
  const argv: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = pick(r, ARG_TOKENS);
    argv.push(t === 'BASE' ? ctx.basePath : t === 'OUT' ? join(ctx.dir, 'argv-out') : r() < 0.05 ? pick(r, EVIL_STRINGS) : t);
  }
  if (argv[0] === 'record') {
    // never a real recording: no tracer to find, and no remote host
    argv.push('--tracer', '/nonexistent/pktpath-fuzz-tracer', '--duration', '0.01');
    if (argv.includes('--host')) return 'skip';
  }
  if (argv[0] === 'ps') return 'skip';
  if (argv[0] === 'report' || argv[0] === 'export') argv.push('--no-symbolize');
  const res = await run(argv);
  const why = judge(res, null);
  return why ? { kind: 'argv', seed, what: JSON.stringify(argv).slice(0, 200), detail: why } : null;
}

/** Runs `cases` cases from `seed` on, spread over the kinds asked for. */
export async function runFuzz(o: { seed: number; cases: number; kinds?: FuzzKind[]; onProgress?: (done: number, crashes: number) => void }): Promise<FuzzResult> {
  const kinds = o.kinds ?? ['session', 'stream', 'argv'];
  const ctx = makeContext();
  const result: FuzzResult = { cases: { session: 0, stream: 0, argv: 0 }, crashes: [] };
  try {
    for (let i = 0; i < o.cases; i++) {
      const seed = o.seed + i;
      const kind = kinds[i % kinds.length]!;
      const c = kind === 'session' ? await sessionCase(ctx, seed) : kind === 'stream' ? streamCase(ctx, seed) : await argvCase(ctx, seed);
      if (c === 'skip') continue; // not a case: counted only what ran
      result.cases[kind]++;
      if (c) result.crashes.push(c);
      if (o.onProgress && (i + 1) % 1000 === 0) o.onProgress(i + 1, result.crashes.length);
    }
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
  return result;
}
