// Questions about one ELF file's symbols and DWARF, answered by the tracer binary's `--dwarf FILE`
// mode (elfutils libdw, native-tracer/dwarf_mode.c) on this machine. One process per file; requests
// are batched and answers come back in order, one JSON line each.
import { spawn } from 'node:child_process';
import type { AddrAnswer, InlineLevel } from '../core/symbolic-frames.ts';
import type { Transport } from '../remote/transport.ts';

export interface FileInfo {
  build_id: string | null;
  debuglink: string | null;
  dwarf: boolean;
  symtab: boolean;
  code: boolean;
}

export interface RangesAnswer {
  ranges: Array<[string, string]>; // [lo, hi) ELF addresses, hex
  inlined?: number;
  out_of_line?: number;
  files?: string[];
}

export type Request =
  | { kind: 'info' }
  | { kind: 'addr'; addr: string }
  | { kind: 'inline'; name: string }
  | { kind: 'lines'; file: string; first: number; last: number };

export type Answer =
  | { kind: 'info'; info: FileInfo }
  | { kind: 'addr'; answer: AddrAnswer }
  | { kind: 'ranges'; answer: RangesAnswer }
  | { kind: 'error'; message: string };

export class DwarfHelperError extends Error {}

function requestLine(r: Request): string {
  switch (r.kind) {
    case 'info':
      return 'info';
    case 'addr':
      if (!/^0x[0-9a-f]+$/i.test(r.addr)) throw new DwarfHelperError(`not a hex address: ${JSON.stringify(r.addr)}`);
      return `addr ${r.addr.toLowerCase()}`;
    case 'inline':
      if (!r.name || /[\r\n]/.test(r.name)) throw new DwarfHelperError(`not a function name: ${JSON.stringify(r.name)}`);
      return `inline ${r.name}`;
    case 'lines':
      if (!Number.isInteger(r.first) || !Number.isInteger(r.last) || r.first < 1 || r.last < r.first) {
        throw new DwarfHelperError(`lines ${r.first}-${r.last}: want 1 <= FIRST <= LAST`);
      }
      if (!r.file || /[\r\n]/.test(r.file)) throw new DwarfHelperError(`not a file name: ${JSON.stringify(r.file)}`);
      return `lines ${r.first} ${r.last} ${r.file}`;
  }
}

type O = Record<string, unknown>;
const isObj = (v: unknown): v is O => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const isHex = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-f]+$/.test(v);

function parseRanges(v: unknown): Array<[string, string]> | null {
  if (!Array.isArray(v)) return null;
  const out: Array<[string, string]> = [];
  for (const p of v) {
    if (!Array.isArray(p) || p.length !== 2 || !isHex(p[0]) || !isHex(p[1])) return null;
    out.push([p[0], p[1]]);
  }
  return out;
}

/** One answer line, checked field by field (the helper reads untrusted files; its output is data). */
export function parseAnswer(line: string): Answer {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { kind: 'error', message: `unreadable answer: ${line.slice(0, 200)}` };
  }
  if (!isObj(v)) return { kind: 'error', message: 'answer is not an object' };
  if (typeof v.error === 'string') return { kind: 'error', message: v.error };
  if ('dwarf' in v) {
    return {
      kind: 'info',
      info: { build_id: str(v.build_id), debuglink: str(v.debuglink), dwarf: v.dwarf === true, symtab: v.symtab === true, code: v.code === true },
    };
  }
  if (isHex(v.addr)) {
    const frames: InlineLevel[] = [];
    if (Array.isArray(v.frames)) {
      for (const f of v.frames) {
        if (!isObj(f)) continue;
        frames.push({ fn: str(f.fn), file: str(f.file), line: typeof f.line === 'number' && f.line > 0 ? f.line : 0 });
      }
    }
    const answer: AddrAnswer = { sym: str(v.sym), sym_lo: isHex(v.sym_lo) ? v.sym_lo : '0x0', frames };
    if (isHex(v.fde_lo) && v.fde_lo !== '0x0') answer.fde_lo = v.fde_lo;
    return { kind: 'addr', answer };
  }
  const ranges = parseRanges(v.ranges);
  if (ranges) {
    const a: RangesAnswer = { ranges };
    if (typeof v.inlined === 'number') a.inlined = v.inlined;
    if (typeof v.out_of_line === 'number') a.out_of_line = v.out_of_line;
    if (Array.isArray(v.files)) a.files = v.files.filter((f): f is string => typeof f === 'string');
    return { kind: 'ranges', answer: a };
  }
  return { kind: 'error', message: `unexpected answer: ${line.slice(0, 200)}` };
}

/** The helper's exit and output turned into answers, one per request, or the reason there are none. */
function answersOf(code: number | null, stdout: string, stderr: string, n: number, what: string): Answer[] {
  const got = stdout.split('\n').filter((l) => l !== '');
  if (code !== 0) {
    const why = got.length ? parseAnswer(got[0]!) : null;
    throw new DwarfHelperError(why?.kind === 'error' ? why.message : `${what}: exit ${code} ${stderr.trim()}`);
  }
  if (got.length !== n) throw new DwarfHelperError(`${what}: ${got.length} answers to ${n} requests`);
  return got.map(parseAnswer);
}

/** Asks `tracer --dwarf file` every request; answers in the same order. */
export function askDwarf(tracer: string, file: string, requests: readonly Request[]): Promise<Answer[]> {
  const lines = requests.map(requestLine);
  return new Promise((resolve, reject) => {
    const child = spawn(tracer, ['--dwarf', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString();
    });
    child.on('error', (e) => reject(new DwarfHelperError(`${tracer} --dwarf could not run: ${e.message}`)));
    child.stdin.on('error', () => {
      /* the helper exited early (it could not open the file): its answer says why */
    });
    child.on('close', (code) => {
      try {
        resolve(answersOf(code, Buffer.concat(out).toString('utf8'), err, requests.length, `${tracer} --dwarf ${file}`));
      } catch (e) {
        reject(e as Error);
      }
    });
    child.stdin.end(lines.length ? lines.join('\n') + '\n' : '');
  });
}

/** askDwarf on the host a transport reaches (where the binary that runs is), through the tracer there. */
export async function askDwarfOn(t: Transport, tracer: string, file: string, requests: readonly Request[]): Promise<Answer[]> {
  const lines = requests.map(requestLine);
  const cmd = t.run([tracer, '--dwarf', file], { root: true });
  const out: Buffer[] = [];
  let err = '';
  cmd.stdout.on('data', (b: Buffer) => out.push(b));
  cmd.stderr.on('data', (b: Buffer) => {
    if (err.length < 4096) err += b.toString();
  });
  cmd.stdin.on('error', () => {
    /* exited early: its answer says why */
  });
  cmd.stdin.end(lines.length ? lines.join('\n') + '\n' : '');
  const st = await cmd.exit;
  return answersOf(st.code, Buffer.concat(out).toString('utf8'), err, requests.length, `${t.host}: ${tracer} --dwarf ${file}`);
}

export async function fileInfo(tracer: string, file: string): Promise<FileInfo> {
  const [a] = await askDwarf(tracer, file, [{ kind: 'info' }]);
  if (a?.kind !== 'info') throw new DwarfHelperError(`${file}: ${a?.kind === 'error' ? a.message : 'no answer'}`);
  return a.info;
}
