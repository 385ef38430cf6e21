// Shared by the tracer-*.test.ts integration tests: build the real tracer and the nested/recursive
// C target, run them, and read the tracer's stream through the project's validating decoder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import type { StreamRecord } from '../../src/tracer/protocol.ts';

export const ROOT = resolve(__dirname, '../..');
// PKTPATH_TRACER_BUILD names another build directory under native-tracer/, so that two people
// working in one checkout can build and test at once without one make overwriting the other's objects.
const BUILD = process.env.PKTPATH_TRACER_BUILD ?? 'build';
if (!/^[A-Za-z0-9._-]+$/.test(BUILD)) throw new Error(`PKTPATH_TRACER_BUILD must be a plain directory name: ${BUILD}`);
export const TRACER = join(ROOT, 'native-tracer', BUILD, 'pktpath-tracer');

export function buildTracer(): void {
  execFileSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer'), `BUILD=${BUILD}`], { stdio: 'pipe' });
}

export interface NestedBuild {
  dir: string;
  exe: string;
  stripped: string;
  /** ELF addresses of the stage functions, as nm prints them */
  addr: Record<'outer' | 'inner' | 'rec', string>;
  remove(): void;
}

/** Compiles test/targets/nested.c like the demo (push-first functions) plus a stripped copy. */
export function buildNested(): NestedBuild {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-tracer-'));
  const exe = join(dir, 'nested');
  const stripped = join(dir, 'nested-stripped');
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-fno-shrink-wrap', '-o', exe, join(ROOT, 'test/targets/nested.c')]);
  execFileSync('strip', ['-o', stripped, exe]);
  const nm = execFileSync('nm', [exe]).toString();
  const addr = { outer: '', inner: '', rec: '' };
  for (const line of nm.split('\n')) {
    const m = /^([0-9a-f]+) [Tt] (outer|inner|rec)$/.exec(line);
    if (m) addr[m[2] as keyof typeof addr] = `0x${m[1]!.replace(/^0+/, '')}`;
  }
  return { dir, exe, stripped, addr, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A running nested target: go(n) runs n rounds (outer+inner×2, rec(5)) and resolves when done. */
export interface NestedTarget {
  proc: ChildProcess;
  pid: number;
  go(rounds: number): Promise<void>;
  stop(): void;
}

export async function startNested(exe: string): Promise<NestedTarget> {
  const proc = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiters: Array<{ re: RegExp; res: () => void }> = [];
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.re.test(buf)) {
        waiters.splice(i, 1);
        w.res();
      }
    }
  });
  const waitFor = (re: RegExp): Promise<void> =>
    new Promise((res, rej) => {
      if (re.test(buf)) return res();
      waiters.push({ re, res });
      proc.once('exit', (code) => rej(new Error(`target exited (${code}) while waiting for ${re}`)));
    });
  await waitFor(/^ready$/m);
  return {
    proc,
    pid: proc.pid!,
    async go(rounds: number) {
      proc.stdin?.write(`go ${rounds}\n`);
      await waitFor(new RegExp(`^done ${rounds}$`, 'm'));
      buf = '';
    },
    stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/** A tracer run: records as they arrive, a promise for "ready" and one for the exit. */
export interface TracerRun {
  proc: ChildProcess;
  records: StreamRecord[];
  decodeErrors: string[];
  /** stdout as written, for members the decoder does not know (yet) */
  raw(): string;
  stderr(): string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

export function runTracer(args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}): TracerRun {
  const proc = spawn(TRACER, args, { stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'] });
  const decoder = new StreamDecoder({ strict: true });
  const records: StreamRecord[] = [];
  const decodeErrors: string[] = [];
  let err = '';
  let out = '';
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  ready.catch(() => {}); // only a caller that awaits ready cares that it never came
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const ev of decoder.push(d)) {
      if (ev.kind !== 'record') {
        decodeErrors.push(ev.error.toString());
        continue;
      }
      records.push(ev.record);
      if (ev.record.type === 'ready') onReady();
    }
  });
  const exited = new Promise<number | null>((res) =>
    proc.on('close', (code) => {
      onFail(new Error(`tracer exited (${code}) before ready: ${err.slice(-500)} ${JSON.stringify(records.filter((r) => r.type === 'error'))}`));
      res(code);
    }),
  );
  return { proc, records, decodeErrors, raw: () => out, stderr: () => err, ready, exited };
}

export interface StageSum {
  calls: number;
  packets: number;
  sum_ns: number;
  unmatched: number;
  buckets: Map<number, number>;
}

/** Sums every hist record per stage id. */
export function sumHists(records: StreamRecord[]): Map<number, StageSum> {
  const out = new Map<number, StageSum>();
  for (const r of records) {
    if (r.type !== 'hist') continue;
    const s = out.get(r.stage) ?? { calls: 0, packets: 0, sum_ns: 0, unmatched: 0, buckets: new Map<number, number>() };
    s.calls += r.calls;
    s.packets += r.packets;
    s.sum_ns += r.sum_ns;
    s.unmatched += r.unmatched;
    for (const [i, c] of r.buckets) s.buckets.set(i, (s.buckets.get(i) ?? 0) + c);
    out.set(r.stage, s);
  }
  return out;
}

/** Lower edge (ns) of the bucket holding the median, from the log-linear layout in pktpath.h. */
export function medianBucketLow(b: Map<number, number>): number {
  const idx = [...b.keys()].sort((x, y) => x - y);
  const n = [...b.values()].reduce((a, c) => a + c, 0);
  let acc = 0;
  for (const i of idx) {
    acc += b.get(i)!;
    if (acc * 2 >= n) {
      if (i < 16) return i;
      const p = Math.floor(i / 16) + 3;
      return 2 ** p + (i % 16) * 2 ** (p - 4);
    }
  }
  return NaN;
}

export interface BpfObject {
  id: number;
  name?: string;
}

/** Programs and links a process holds open, by id, from its fds' fdinfo (this bpftool build does
 * not list holder pids). */
export function bpfHeldBy(pid: number): { progs: number[]; links: number[] } {
  const progs = new Set<number>();
  const links = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const link = /^link_id:\s*(\d+)/m.exec(info);
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    if (link) links.add(Number(link[1]));
    if (prog) progs.add(Number(prog[1]));
  }
  return { progs: [...progs].sort((a, b) => a - b), links: [...links].sort((a, b) => a - b) };
}

/** Ids among `ids` that still exist. */
export function bpfStillThere(ids: { progs: number[]; links: number[] }): { progs: number[]; links: number[] } {
  const ids_ = (what: 'prog' | 'link'): Set<number> =>
    new Set((JSON.parse(execFileSync('bpftool', [what, 'list', '-j']).toString()) as BpfObject[]).map((o) => o.id));
  const p = ids_('prog');
  const l = ids_('link');
  return { progs: ids.progs.filter((i) => p.has(i)), links: ids.links.filter((i) => l.has(i)) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
