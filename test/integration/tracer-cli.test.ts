// The tracer's command line and lifetime: bad specs get one clear error record and a non-zero
// exit; --check reports what this host lacks (no kprobes, no fentry here); the tracer stops on
// end of stdin, on --duration and when its target exits, always with a bye record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HelloRecord, RecordOf, StageRecord, StreamRecord } from '../../src/tracer/protocol.ts';
import { buildNested, buildTracer, runTracer, startNested, TRACER, type NestedBuild, type NestedTarget } from './tracer-util.ts';

let build: NestedBuild;
const targets: NestedTarget[] = [];

before(() => {
  buildTracer();
  build = buildNested();
});
after(() => {
  for (const t of targets) t.stop();
  build?.remove();
});

function parse(stdout: string): StreamRecord[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as StreamRecord);
}

const badSpecs: Array<[string[], RegExp]> = [
  [['--pid', '1', '--stage', 'x=uprobe:/bin/true'], /expected uprobe:BINARY:SYMBOL/],
  [['--pid', '1', '--stage', 'x=uprobe:/bin/true:0xZZ'], /bad address '0xZZ'/],
  [['--pid', '1', '--stage', 'x=uprobe:/bin/true:main;rm -rf /'], /bad symbol/],
  [['--pid', '1', '--stage', 'x=uprobe:/bin/true:main:packets=arg9'], /bad packets=arg9/],
  [['--pid', '1', '--stage', 'x=usdt:/bin/true:prov'], /expected usdt:BINARY:PROVIDER:NAME/],
  [['--pid', '1', '--stage', 'x=uprobe:/bin/true:0x10:arg1=0xZZ'], /arg1=0xZZ: expected 0x followed by hex digits/],
  [['--pid', '1', '--stage', `x=uprobe:/bin/true:0x10:arg1=${Array.from({ length: 17 }, (_, i) => `0x${i + 1}`).join(',')}`], /arg1=: at most 16 values/],
  [['--pid', '1', '--stage', 'x=tracepoint:net'], /expected tracepoint:CATEGORY:NAME/],
  [['--pid', '1', '--stage', 'x=bogus:thing'], /unknown probe kind 'bogus'/],
  [['--pid', '1', '--stage', 'nospec'], /expected NAME=SPEC/],
  [['--pid', '1', '--stage', 'a=tracepoint:net:netif_rx', '--stage', 'a=tracepoint:net:netif_rx'], /given twice/],
  [['--pid', 'abc', '--stage', 'a=tracepoint:net:netif_rx'], /--pid: 'abc' is not a number/],
  [['--stage', 'a=tracepoint:net:netif_rx'], /exactly one of --pid PID or --kernel/],
  [['--kernel', '--interval-ms', '-5', '--stage', 'a=tracepoint:net:netif_rx'], /--interval-ms/],
  [['--kernel', '--frobnicate'], /unknown argument '--frobnicate'/],
  [['--kernel', '--no-calibrate', '--max-overhead', '5', '--stage', 'a=tracepoint:net:netif_rx'], /--max-overhead needs the calibrated probe cost/],
  [['--kernel', '--netns', `no-such-ns-${process.pid}`, '--stage', 'a=tracepoint:net:netif_rx'], /--netns: \/run\/netns\/no-such-ns-\d+: No such file/],
  [['--kernel', '--netns', '/etc/hostname', '--stage', 'a=tracepoint:net:netif_rx'], /--netns: \/etc\/hostname is not a network namespace file/],
  [['--kernel', '--netns', '/proc/self/ns/mnt', '--stage', 'a=tracepoint:net:netif_rx'], /another kind of namespace/],
  [['--kernel', '--netns', '0', '--stage', 'a=tracepoint:net:netif_rx'], /--netns: '0' is not a namespace inode/],
];

for (const [args, re] of badSpecs) {
  test(`bad command line ${JSON.stringify(args.join(' '))} → one error record, exit 2`, () => {
    const r = spawnSync(TRACER, args, { encoding: 'utf8' });
    assert.equal(r.status, 2);
    const recs = parse(r.stdout);
    assert.equal(recs.length, 1);
    const e = recs[0] as RecordOf<'error'>;
    assert.equal(e.type, 'error');
    assert.equal(e.fatal, true);
    assert.match(e.message, re);
    assert.doesNotMatch(r.stderr, /at .*\(|Segmentation|core dumped/);
  });
}

test('--check says kprobes and fentry are missing here, and why', () => {
  const r = spawnSync(TRACER, ['--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const [hello] = parse(r.stdout) as [HelloRecord];
  assert.equal(hello.type, 'hello');
  assert.equal(hello.version, 1);
  assert.equal(hello.features.btf, true);
  assert.equal(hello.features.uprobes, true);
  assert.equal(hello.features.kprobes, false);
  assert.equal(hello.features.fentry, false);
  assert.ok(hello.missing.some((m) => /^kprobes: .*CONFIG_KPROBES/.test(m)), hello.missing.join('\n'));
  assert.ok(hello.missing.some((m) => /^fentry: .*Operation not permitted/.test(m)), hello.missing.join('\n'));
});

test('kprobe and fentry stages fail clearly on this host; a tracepoint stage still runs', async () => {
  const run = runTracer(['--kernel', '--duration', '1', '--no-calibrate', '--stage', 'k=kprobe:ip_rcv', '--stage', 'f=fentry:ip_rcv', '--stage', 't=tracepoint:net:netif_receive_skb']);
  assert.equal(await run.exited, 0);
  const st = run.records.filter((r): r is StageRecord => r.type === 'stage');
  assert.equal(st.length, 3);
  assert.match(st[0]!.error ?? '', /kprobes are not available/);
  assert.match(st[1]!.error ?? '', /fentry\/fexit are not available/);
  assert.equal(st[2]!.ok, true);
  assert.equal(run.records.at(-1)?.type, 'bye');
});

test('no stage attachable: error and non-zero exit', async () => {
  const run = runTracer(['--kernel', '--no-calibrate', '--stage', 'k=kprobe:ip_rcv', '--stage', 'n=tracepoint:net:no_such_tp']);
  assert.equal(await run.exited, 3);
  const errs = run.records.filter((r): r is RecordOf<'error'> => r.type === 'error');
  assert.ok(errs.some((e) => /no tracepoint net:no_such_tp/.test(e.message)));
  assert.ok(errs.some((e) => e.fatal && /no stage could be attached/.test(e.message)));
});

test('a missing process is a clear fatal error', async () => {
  const run = runTracer(['--pid', '4194000', '--stage', 'x=tracepoint:net:netif_rx']);
  assert.equal(await run.exited, 3, 'no live user process: exit 3, as for a target gone');
  assert.ok(run.records.some((r) => r.type === 'bye' && r.reason === 'target_invalid'));
  assert.ok(run.records.some((r) => r.type === 'error' && /process 4194000 does not exist/.test(r.message)));
});

test('stops on end of stdin, on --duration and when the target exits', async () => {
  const target = await startNested(build.exe);
  targets.push(target);
  const stage = ['--no-calibrate', '--interval-ms', '100', '--stage', `outer=uprobe:${build.exe}:outer`];

  const a = runTracer(['--pid', String(target.pid), ...stage]);
  await a.ready;
  a.proc.stdin?.end();
  assert.equal(await a.exited, 0);
  assert.deepEqual(a.records.at(-1), { ...a.records.at(-1), type: 'bye', reason: 'stdin', detached: true });

  const b = runTracer(['--pid', String(target.pid), '--duration', '0.5', ...stage]);
  const t0 = Date.now();
  assert.equal(await b.exited, 0);
  assert.ok(Date.now() - t0 < 8000);
  assert.deepEqual(b.records.at(-1), { ...b.records.at(-1), type: 'bye', reason: 'duration' });
  assert.ok(b.records.filter((r) => r.type === 'tick').length >= 4, 'a tick per 100 ms interval');

  const c = runTracer(['--pid', String(target.pid), ...stage]);
  await c.ready;
  target.proc.stdin?.end(); // the target exits at end of its stdin
  assert.equal(await c.exited, 0);
  assert.deepEqual(c.records.at(-1), { ...c.records.at(-1), type: 'bye', reason: 'target_exit' });
});

test('without privileges: hello lists exactly what is missing, then one fatal error', () => {
  const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', TRACER, '--kernel', '--stage', 'x=tracepoint:net:netif_rx'], {
    encoding: 'utf8',
    cwd: '/',
  });
  assert.equal(r.status, 1);
  const recs = parse(r.stdout);
  const hello = recs[0] as HelloRecord;
  assert.equal(hello.type, 'hello');
  assert.equal(hello.features.bpf_allowed, false);
  assert.ok(hello.missing.some((m) => m.startsWith('CAP_BPF: ')), hello.missing.join('\n'));
  assert.ok(hello.missing.some((m) => m.startsWith('perf_event_paranoid: ')), hello.missing.join('\n'));
  const err = recs.find((x): x is RecordOf<'error'> => x.type === 'error');
  assert.equal(err?.fatal, true);
  assert.match(err?.message ?? '', /not permitted to load BPF programs/);
  assert.equal(recs.at(-1)?.type, 'bye');
});

test('a hostile binary path is used as bytes: no shell, escaped in the stream', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-hostile-'));
  try {
    const weird = join(dir, 'we"ird \\dir; $(touch pwned) `id`\n\u00e9\t');
    mkdirSync(weird);
    const exe = join(weird, 'nested');
    copyFileSync(build.exe, exe);
    chmodSync(exe, 0o755);
    const target = await startNested(exe);
    targets.push(target);
    const run = runTracer(['--pid', String(target.pid), '--no-calibrate', '--stage', `outer=uprobe:${exe}:outer`]);
    await run.ready;
    await target.go(20);
    run.proc.kill('SIGINT');
    assert.equal(await run.exited, 0);
    assert.deepEqual(run.decodeErrors, []);
    const st = run.records.find((r): r is StageRecord => r.type === 'stage');
    assert.equal(st?.ok, true, st?.error ?? '');
    assert.equal(st?.binary, exe);
    assert.equal(st?.spec, `uprobe:${exe}:outer`);
    assert.equal(existsSync(join(process.cwd(), 'pwned')), false);
    assert.equal(existsSync(join(weird, 'pwned')), false);
    const hist = run.records.filter((r) => r.type === 'hist');
    assert.equal(hist.reduce((a, r) => a + (r.type === 'hist' ? r.calls : 0), 0), 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
