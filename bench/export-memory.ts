// Memory and time of `pktpath export` and `pktpath report` on a large session: a synthetic session
// of N distinct stacks (default 1M), each variant run in its own process so its peak RSS is its own.
// Baseline: the previous whole-file path (loadSession, the in-memory call tree and exporters,
// the output built in memory), run the same way in the same run.
// `+sym` rows: the same stacks with frames the symbolizer asks about (elf_addr, build-id), answered
// by made-up debug-file answers (no tracer or DWARF here: one or two inlined functions on most
// addresses); baseline: the previous path for them (loadSession, symbolizeSession, the stacks
// written from memory), streaming: what `pktpath export` does (symbolizeStreamed, writeExport).
//
//   node --import tsx bench/export-memory.ts [--stacks 1000000] [--only folded,pprof+sym,...]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSession } from '../src/core/session-io.ts';
import { exportFolded } from '../src/core/export-folded.ts';
import { exportSpeedscope } from '../src/core/export-speedscope.ts';
import { exportPprof } from '../src/core/export-pprof.ts';
import { buildReport, formatReportTable } from '../src/core/report.ts';
import { main } from '../src/cli/main.ts';
import { writeExport } from '../src/cli/cmd-export.ts';
import { openSessionStreaming, whole } from '../src/core/session-stream.ts';
import { type AddrAnswer, type ModuleAnswers } from '../src/core/symbolic-frames.ts';
import { symbolizeSession, symbolizeStreamed, type AnswerSource } from '../src/symbols/symbolize-session.ts';

const FORMATS = ['folded', 'speedscope', 'pprof'] as const;

/** Deterministic pseudo-random numbers (xorshift32): the same session every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** A session file with `n` stacks of 4–24 frames over 20k frames in 5 modules, written piecewise. */
function writeSession(path: string, n: number, symbolized = false): void {
  const demo = JSON.parse(
    JSON.stringify({
      format: 'pktpath-session', version: 1, created: '2026-12-06T00:00:00Z', partial: false, partial_reason: null,
      target: { host: 'localhost', pid: 1, kernel: false, command: 'fwd', binary: '/bin/fwd', build_id: null },
      tracer: { stream_version: 1, version: 'bench', kernel: '6', arch: 'x86_64', features: {}, missing: [] },
      duration_s: 60, interval_ms: 1000, sample_hz: 999, hist: { sub_bits: 4, max_pow: 37 }, stages: [],
    }),
  ) as Record<string, unknown>;
  const fd = openSync(path, 'w');
  const put = (s: string) => writeSync(fd, s);
  put(JSON.stringify(demo).slice(0, -1));
  const NF = 20_000;
  put(',"frames":[');
  for (let i = 0; i < NF; i++) {
    // without elf_addr there is nothing for the symbolizer to do; with it, every frame is asked about
    const elf = symbolized ? `"0x${(0x1000 + i * 64).toString(16)}"` : 'null';
    const bid = symbolized ? `"b${i % 5}"` : 'null';
    put(`${i ? ',' : ''}{"id":${i},"fn":"fn_${i}","off":${i % 97},"module":"/usr/lib/mod${i % 5}.so","build_id":${bid},"addr":"0x${(0x400000 + i * 64).toString(16)}","kernel":false,"elf_addr":${elf}}`);
  }
  put('],"stacks":[');
  const r = rng(42);
  let out = '';
  let samples = 0;
  for (let i = 0; i < n; i++) {
    const depth = 4 + Math.floor(r() * 21);
    let f = Math.floor(r() * 50);
    const ids: number[] = [];
    for (let d = 0; d < depth; d++) {
      ids.push(f);
      f = (f * 31 + 1 + Math.floor(r() * 8) * 977) % NF; // each frame calls one of 8
    }
    const count = 1 + Math.floor(r() * 3);
    samples += count;
    out += `${i ? ',' : ''}{"frames":[${ids.reverse().join(',')}],"count":${count}}`;
    if (out.length > 1 << 20) {
      put(out);
      out = '';
    }
  }
  put(`${out}],"samples":${samples},"lost_samples":0,"drops":{},"warnings":[],"errors":[],"end_reason":"duration"}`);
  closeSync(fd);
}

/** Every address named, most with one or two functions inlined (as debug files of optimized code answer). */
const madeUpAnswers: AnswerSource = async (modules) => {
  const answers = new Map<string, ModuleAnswers>();
  for (const [k, m] of modules) {
    const map = new Map<string, AddrAnswer>();
    for (const a of m.addrs) {
      const n = Number(BigInt(a) % 997n);
      const inl = Array.from({ length: n % 3 }, (_, i) => ({ fn: `inl_${(n + i) % 50}`, file: 'inl.h', line: 10 + i }));
      map.set(a, { sym: `sym_${n}`, sym_lo: `0x${(BigInt(a) & ~0xffn).toString(16)}`, frames: [...inl, { fn: `f_${n}`, file: 'f.c', line: n }] });
    }
    answers.set(k, { source: 'local-build', debug_file: `/build${m.module}`, answers: map });
  }
  return { answers, missing: [], warnings: [] };
};

async function runOne(variant: string, what: string, file: string, out: string): Promise<void> {
  const t0 = performance.now();
  if (what.endsWith('+sym')) {
    const fmt = what.slice(0, -4) as (typeof FORMATS)[number];
    const src =
      variant === 'baseline'
        ? whole((await symbolizeSession(await loadSession(file), madeUpAnswers)).session)
        : (await symbolizeStreamed(await openSessionStreaming(file), madeUpAnswers)).session;
    await writeExport(src, fmt, out);
  } else if (variant === 'baseline') {
    const s = await loadSession(file);
    if (what === 'report') formatReportTable(buildReport(s));
    else if (what === 'folded') writeFileSync(out, exportFolded(s));
    else if (what === 'speedscope') writeFileSync(out, JSON.stringify(exportSpeedscope(s)));
    else writeFileSync(out, exportPprof(s));
  } else {
    const quiet = { out: () => {}, err: () => {} };
    const code = what === 'report' ? await main(['report', file], quiet) : await main(['export', file, '--format', what, '-o', out], quiet);
    if (code !== 0) throw new Error(`exit ${code}`);
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, outMb: what === 'report' ? 0 : statSync(out).size / 1e6 }) + '\n');
}

async function bench(): Promise<void> {
  const { values } = parseArgs({ options: { stacks: { type: 'string', default: '1000000' }, only: { type: 'string' } } });
  const n = Number(values.stacks);
  const all = [...FORMATS, 'report', ...FORMATS.map((f) => `${f}+sym`)];
  const only = values.only ? values.only.split(',') : all;
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-export-mem-'));
  try {
    const file = join(dir, 'big.pktpath.json');
    const symFile = join(dir, 'big-sym.pktpath.json');
    writeSession(file, n);
    writeSession(symFile, n, true);
    console.log(`session: ${n} stacks, ${(statSync(file).size / 1e6).toFixed(1)} MB (+sym: ${(statSync(symFile).size / 1e6).toFixed(1)} MB)\n`);
    const rows = [['what', 'path', 'peak RSS MB', 'time s', 'output MB']];
    for (const what of all.filter((w) => only.includes(w))) {
      for (const variant of ['baseline', 'streaming']) {
        const input = what.endsWith('+sym') ? symFile : file;
        const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, 'run', variant, what, input, join(dir, `out.${what}`)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (r.status !== 0) {
          rows.push([what, variant, `failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').pop() ?? ''}`, '', '']);
          continue;
        }
        const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; maxRssMb: number; outMb: number };
        rows.push([what, variant, m.maxRssMb.toFixed(0), (m.ms / 1000).toFixed(1), m.outMb ? m.outMb.toFixed(1) : '-']);
      }
    }
    const w = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    for (const row of rows) console.log(row.map((x, c) => x.padEnd(w[c]!)).join('  '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'run') void runOne(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6]!);
else void bench();
