// Stripped code named where the debug files are: a -g target is split (objcopy --only-keep-debug,
// strip --add-gnu-debuglink), the stripped build runs and is sampled by the real tracer, and the
// session is symbolized by build-id through the user's own -g build, a .build-id directory (a
// temporary root, and /usr/lib/debug itself: the file is installed there and removed), the .gnu_debuglink beside it, and a real elfutils debuginfod
// server; a build with another build-id is refused with a warning. Without any, frames are named
// lib+0xSTART after their function's range, grouped per function.
//   node --import tsx --test test/integration/symbols-stripped.test.ts   (root)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../src/tracer/recorder.ts';
import type { Session } from '../../src/core/session.ts';
import { saveSession } from '../../src/core/session-io.ts';
import { symbolizeSession, type SymbolizeOptions } from '../../src/symbols/symbolize-session.ts';
import { buildIdPath } from '../../src/symbols/debug-files.ts';
import { foldedChunks } from '../../src/core/export-stream.ts';
import { startDebuginfod, type Debuginfod } from '../helpers/debuginfod.ts';
import { ROOT, TRACER, buildTracer, readelfBuildId, record, startExecutable, type Target } from './sampler-run.ts';

let dir = '';
let target: Target | undefined;
let server: Debuginfod | undefined;
let tracerBuildError: string | null = null;
let session: Session;
let buildId = '';
let hotStart = 0n; // where the hot static function starts (nm of the -g build)

const SRC = join(ROOT, 'test/targets/inline_chain.c');
const noDebugDirs = (): string => mkdtempSync(join(dir, 'empty-'));

before(async () => {
  tracerBuildError = buildTracer();
  // a broken tracer build fails every test here, never skips them
  if (tracerBuildError) throw new Error(`pktpath-tracer must build: ${tracerBuildError}`);
  dir = mkdtempSync(join(tmpdir(), 'pktpath-symbols-'));
  const g = join(dir, 'build', 'inline_chain');
  mkdirSync(join(dir, 'build'));
  mkdirSync(join(dir, 'run'));
  mkdirSync(join(dir, 'debug'));
  mkdirSync(join(dir, 'other'));
  execFileSync('nice', ['cc', '-O2', '-g', '-fno-omit-frame-pointer', '-o', g, SRC]);
  execFileSync('objcopy', ['--only-keep-debug', g, join(dir, 'debug', 'inline_chain.debug')]);
  execFileSync('objcopy', ['--strip-all', '--add-gnu-debuglink=' + join(dir, 'debug', 'inline_chain.debug'), g, join(dir, 'run', 'inline_chain')]);
  // the same code built otherwise: another build-id, the same name
  execFileSync('nice', ['cc', '-O1', '-g', '-fno-omit-frame-pointer', '-o', join(dir, 'other', 'inline_chain'), SRC]);
  buildId = readelfBuildId(g);
  assert.equal(readelfBuildId(join(dir, 'run', 'inline_chain')), buildId);
  assert.notEqual(readelfBuildId(join(dir, 'other', 'inline_chain')), buildId);
  const nm = execFileSync('nm', [g]).toString();
  const m = /^([0-9a-f]+) t hot_static\b/m.exec(nm);
  assert.ok(m, `nm lists hot_static:\n${nm}`);
  hotStart = BigInt(`0x${m[1]}`);
  assert.doesNotMatch(execFileSync('nm', ['-D', join(dir, 'run', 'inline_chain')]).toString(), /hot_static/);

  target = await startExecutable(join(dir, 'run', 'inline_chain'), ['30']);
  const rec = await record('tracer', target.pid, 499, 2);
  const r = new Recorder({ host: 'localhost', pid: target.pid, sampleHz: 499 });
  for (const x of rec.records) r.record(x);
  session = r.finish();
  assert.ok(session.samples > 200, `samples: ${session.samples}`);
});

after(async () => {
  target?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const userStacks = (s: Session) => {
  const byId = new Map(s.frames.map((f) => [f.id, f]));
  return s.stacks.map((st) => ({ count: st.count, frames: st.frames.map((id) => byId.get(id)!).filter((f) => !f.kernel) }));
};

/** Share of samples whose user stack, past its leading inlined frames, is `outer` (leaf first), and
 * of those the share with `inlined` among the inlined frames. */
function shares(s: Session, outer: string[], inlined: string): { stack: number; inline: number } {
  let n = 0;
  let withInline = 0;
  let all = 0;
  for (const st of userStacks(s)) {
    all += st.count;
    const k = st.frames.findIndex((f) => !f.inline);
    const rest = st.frames.slice(k);
    if (outer.every((nm, i) => rest[i]?.fn.replace(/\.(constprop|isra|part)\.\d+$/, '') === nm)) {
      n += st.count;
      if (st.frames.slice(0, k).some((f) => f.fn === inlined)) withInline += st.count;
    }
  }
  return { stack: all ? n / all : 0, inline: n ? withInline / n : 0 };
}

function opts(o: Partial<SymbolizeOptions>): SymbolizeOptions {
  return { tracer: TRACER, localBuilds: [], debugDirs: [noDebugDirs()], debuginfod: false, env: {}, ...o };
}

function assertNamed(s: Session, source: string): void {
  const mod = s.symbols?.modules.find((m) => m.module.endsWith('/run/inline_chain'));
  assert.ok(mod, `symbols for the target: ${JSON.stringify(s.symbols)}`);
  assert.equal(mod.source, source);
  assert.ok(mod.named > 0 && mod.inlined > 0, JSON.stringify(mod));
  // leaf first: the inlined helpers, the static function they were inlined into, its static caller, main
  const sh = shares(s, ['hot_static', 'caller_static', 'main'], 'mix_round');
  assert.ok(sh.stack > 0.9, `share of samples in hot_static < caller_static < main: ${sh.stack}`);
  assert.ok(sh.inline > 0.9, `of those, share with mix_round inlined: ${sh.inline}`);
  const inl = s.frames.filter((f) => f.inline);
  assert.ok(inl.some((f) => f.fn === 'mix_round' && f.file?.endsWith('inline_chain.c') && (f.line ?? 0) > 0));
}

test('without debug files, stripped code is named lib+0xSTART after its function range, one name per function', () => {
  const hot = `inline_chain+0x${hotStart.toString(16)}`;
  const frames = session.frames.filter((f) => f.module.endsWith('/run/inline_chain'));
  const hotFrames = frames.filter((f) => f.fn === hot);
  assert.ok(hotFrames.length > 0, `frames named ${hot}: ${frames.map((f) => f.fn).join(', ')}`);
  for (const f of hotFrames) assert.equal(BigInt(f.elf_addr!) - BigInt(f.off), hotStart, 'off counts from the function start');
  // every sampled address of the hot loop shares that one name
  const inHot = frames.filter((f) => {
    const a = BigInt(f.elf_addr!);
    return a >= hotStart && a < hotStart + 0x40n;
  });
  assert.deepEqual([...new Set(inHot.map((f) => f.fn))], [hot]);
  assert.ok(shares(session, [hot], '').stack > 0.9);
});

test('the user\'s own -g build with the same build-id names it, inlined functions as frames (CLI export)', async () => {
  const file = join(dir, 'session.pktpath.json');
  await saveSession(file, session);
  const out = join(dir, 'out.folded');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'export', file, '--format', 'folded', '-o', out,
    '--debug-file', join(dir, 'build', 'inline_chain'), '--debug-dir', noDebugDirs(), '--no-debuginfod'], {
    encoding: 'utf8', cwd: ROOT, env: { ...process.env, PKTPATH_TRACER: TRACER },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /run\/inline_chain: \d+ frames named, \d+ inlined frames added from \S+build\/inline_chain \(local-build\)/);
  const folded = readFileSync(out, 'utf8');
  assert.match(folded, /main;caller_static[^;]*;hot_static[^;]*;mix_round;mix_step \d+/);
  const s = await symbolizeSession(session, opts({ localBuilds: [join(dir, 'build', 'inline_chain')] }));
  assertNamed(s.session, 'local-build');
  // the CLI streams the stacks through the symbolizer: the same bytes as the whole symbolized session
  assert.equal(folded, [...foldedChunks(s.session, s.session.stacks)].join(''));
});

test('a .build-id directory (DIR/.build-id/xx/rest.debug) names it', async () => {
  const root = mkdtempSync(join(dir, 'debugroot-'));
  const p = buildIdPath(root, buildId);
  mkdirSync(join(p, '..'), { recursive: true });
  copyFileSync(join(dir, 'debug', 'inline_chain.debug'), p);
  const s = await symbolizeSession(session, opts({ debugDirs: [root] }));
  assertNamed(s.session, 'build-id-dir');
});

test('/usr/lib/debug/.build-id/xx/rest.debug (the default debug directory, as a debug package installs it) names it', async () => {
  const p = buildIdPath('/usr/lib/debug', buildId);
  const sub = join(p, '..');
  const made = existsSync(sub) ? null : mkdirSync(sub, { recursive: true });
  assert.ok(!existsSync(p), `${p} is not there before the test`);
  copyFileSync(join(dir, 'debug', 'inline_chain.debug'), p);
  try {
    const { debugDirs: _none, ...o } = opts({});
    const s = await symbolizeSession(session, o);
    assertNamed(s.session, 'build-id-dir');
    assert.equal(s.session.symbols?.modules.find((m) => m.module.endsWith('/run/inline_chain'))?.debug_file, p);
  } finally {
    rmSync(p, { force: true });
    if (made) rmSync(made, { recursive: true, force: true });
  }
});

test('the .gnu_debuglink file beside the stripped binary names it', async () => {
  const beside = join(dir, 'run', 'inline_chain.debug');
  copyFileSync(join(dir, 'debug', 'inline_chain.debug'), beside);
  try {
    const s = await symbolizeSession(session, opts({}));
    assertNamed(s.session, 'debuglink');
  } finally {
    rmSync(beside);
  }
});

test('a real debuginfod server names it, and its download lands in the debuginfod cache', async () => {
  server = await startDebuginfod(join(dir, 'debug'), buildId);
  const cache = mkdtempSync(join(dir, 'cache-'));
  const env = { DEBUGINFOD_URLS: server.url, DEBUGINFOD_CACHE_PATH: cache };
  const s = await symbolizeSession(session, opts({ debuginfod: true, env }));
  assertNamed(s.session, 'debuginfod');
  assert.ok(existsSync(join(cache, buildId, 'debuginfo')));
  await server.stop();
  server = undefined;
  // the cache serves the next reader without the server
  const again = await symbolizeSession(session, opts({ debuginfod: true, env }));
  assertNamed(again.session, 'debuginfod');
});

test('a build with another build-id is refused for naming, with a warning', async () => {
  const s = await symbolizeSession(session, opts({ localBuilds: [join(dir, 'other', 'inline_chain')] }));
  assert.ok(s.warnings.some((w) => /other\/inline_chain \(build-id [0-9a-f]{12}…\) is not the build that ran as \S+run\/inline_chain/.test(w)), s.warnings.join('\n'));
  assert.ok(s.warnings.some((w) => /no debug file for build-id/.test(w)), s.warnings.join('\n'));
  assert.equal(s.session.frames.filter((f) => f.named_by === 'debug').length, 0, 'nothing named from the other build');
  const mod = s.session.symbols?.modules.find((m) => m.module.endsWith('/run/inline_chain'));
  assert.equal(mod?.source, null);
});
