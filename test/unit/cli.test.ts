// The CLI's commands, run in this process through main() with its output captured (a `node`
// process per command took a minute on a busy machine); the last test runs the real process once,
// for what only it has: exit codes and stdout/stderr as a shell sees them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamDecoder } from '../../src/tracer/decoder.ts';
import { Recorder } from '../../src/tracer/recorder.ts';
import { saveSession } from '../../src/core/session-io.ts';
import { parseFolded } from '../../src/core/export-folded.ts';
import { parseStageArg, SpecError } from '../../src/tracer/spec.ts';
import { progressLine } from '../../src/cli/cmd-record.ts';
import { loadSession } from '../../src/core/session-io.ts';
import { runCli, runCliProcess } from '../helpers/cli-run.ts';

let dir = '';
let good = '';

const cli = runCli;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pktpath-cli-'));
  const d = new StreamDecoder({ strict: true });
  const r = new Recorder({ host: 'localhost', sampleHz: 99 });
  for (const ev of [...d.push(readFileSync('test/fixtures/stream-demo.jsonl')), ...d.end()]) r.event(ev);
  good = join(dir, 'good.pktpath.json.gz');
  await saveSession(good, r.finish());
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('usage errors exit 2 with a clear message, before anything runs', async () => {
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage:/);
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['record', '--stage', 'rx=uprobe:/bin/true:main', '-o', join(dir, 'x.json')], /exactly one of --pid PID or --kernel/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:main'], /-o FILE is required/],
    [['record', '--pid', 'abc', '--stage', 'rx=uprobe:/bin/true:main', '-o', join(dir, 'x.json')], /--pid expects a process id/],
    [['record', '--pid', '12', '--stage', 'rx;rm -rf /=uprobe:/bin/true:main', '-o', join(dir, 'x.json')], /stage name "rx;rm -rf \/"/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:$(reboot)', '-o', join(dir, 'x.json')], /is not a symbol name/],
    [['record', '--pid', '12', '--stage', 'rx=teleport:x', '-o', join(dir, 'x.json')], /kind must be uprobe/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:main', '--sample-hz', 'fast', '-o', join(dir, 'x.json')], /--sample-hz expects a whole number/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:main', '-o', '/nonexistent-dir/x.json'], /directory \/nonexistent-dir: no such directory/],
    [['record', '--pid', '12', '--bogus'], /Unknown option '--bogus'/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:main', '--mode', 'sampled', '-o', join(dir, 'x.json')], /--packets-from/],
    [['record', '--pid', '12', '--stage', 'rx=uprobe:/bin/true:main', '--no-bpf', '-o', join(dir, 'x.json')], /--no-bpf is for --mode sampled/],
    [['report'], /expected one session file/],
    [['export', good, '--format', 'svg', '-o', join(dir, 'o')], /--format must be folded, speedscope or pprof/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  }
});

test('corrupt session files give one clear line and exit 1', async () => {
  const bad = join(dir, 'bad.pktpath.json');
  writeFileSync(bad, '{"format":"pktpath-session","version":1,"stag');
  const r = await cli('report', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.pktpath\.json: the file is truncated/);
  assert.doesNotMatch(r.stderr, /SyntaxError|at .*\.ts:\d+/);
  const missing = await cli('report', join(dir, 'nope.json'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read: no such file/);
});

test('report --json keeps the contract names; text report states the correction', async () => {
  const r = await cli('report', good, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { stages: Array<Record<string, unknown>>; samples: number; duration_s: number; corrected: boolean };
  assert.equal(j.samples, 60);
  assert.equal(j.duration_s, 2);
  assert.equal(j.corrected, true);
  for (const k of ['name', 'calls', 'packets', 'p50_ns', 'p99_ns', 'p999_ns', 'mean_ns', 'ns_per_packet', 'probe_overhead_ns']) {
    assert.ok(k in j.stages[0]!, k);
  }
  assert.equal(j.stages[0]!.mean_ns, 600);
  assert.equal(j.stages[0]!.raw_mean_ns, 1000);
  const t = await cli('report', good);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /corrected where the site was calibrated/);
  assert.match(t.stdout, /weakest link: route/);
});

test('a sampled session\'s text report marks a poll stage and its verdict does not rank it', async () => {
  const base = await loadSession(good);
  const stage = (name: string, samples: number, extra = {}) => ({ name, symbol: `graph:${name}`, module: 'librte_node.so.23.0', samples, inclusive_samples: samples, ...extra });
  const sampled = {
    ...base, stages: [],
    sampled: {
      sample_hz: 999, samples: 2000, unattributed: 33, window_s: 7, packets: 84_000, packets_source: 'rte_graph node ethdev_tx-1 objects',
      counter_packets: 84_100, counter_window_s: 7.01,
      stages: [
        stage('ethdev_rx-0-1', 1616, { poll: true, poll_by: 'graph-source', graph_counters: { calls: 126_000_000, objs: 84_100, cycles: 1 } }),
        stage('ethdev_tx-1', 351, { graph_counters: { calls: 3000, objs: 84_100, cycles: 1 } }),
      ],
    },
  };
  const f = join(dir, 'sampled.pktpath.json');
  await saveSession(f, sampled);
  const t = await cli('report', f);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^ethdev_rx-0-1 .*poll: idle included$/m);
  assert.match(t.stdout, /ethdev_rx-0-1: rte_graph counted 126000000 calls for 84100 objects \(1498\.2 calls per packet\)/);
  assert.match(t.stdout, /^Weakest link: ethdev_tx-1, /m);
  assert.match(t.stdout, /ethdev_rx-0-1: 19\.3 µs\/packet including idle polling; an rte_graph source node/);
  const j = JSON.parse((await cli('report', f, '--json')).stdout) as { sampled: { stages: Array<Record<string, unknown>> } };
  assert.equal(j.sampled.stages[0]!.poll, true);
  assert.equal(j.sampled.stages[0]!.poll_by, 'graph-source');
  assert.equal(j.sampled.stages[0]!.graph_calls, 126_000_000);
});

test('export writes folded, speedscope and pprof files', async () => {
  const folded = join(dir, 'out.folded');
  assert.equal((await cli('export', good, '--format', 'folded', '-o', folded)).code, 0);
  const m = parseFolded(readFileSync(folded, 'utf8'));
  assert.equal(m.get('main;fwd_rx'), 50);
  const ss = join(dir, 'out.speedscope.json');
  assert.equal((await cli('export', good, '--format', 'speedscope', '-o', ss)).code, 0);
  assert.equal((JSON.parse(readFileSync(ss, 'utf8')) as { exporter: string }).exporter, 'pktpath');
  const pb = join(dir, 'out.pb.gz');
  assert.equal((await cli('export', good, '--format', 'pprof', '-o', pb)).code, 0);
  assert.equal(readFileSync(pb)[0], 0x1f);
  const d = await cli('diff', good, good);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /route .* \+0\.0%/);
});

test('stage specs: the grammar of the tracer', () => {
  assert.deepEqual(parseStageArg('rx=uprobe:/opt/fwd:fwd_rx:packets=ret'), { name: 'rx', spec: 'uprobe:/opt/fwd:fwd_rx:packets=ret', kind: 'uprobe', packets: 'ret' });
  assert.equal(parseStageArg('x=uprobe:/opt/fwd-stripped:0x1a2b').packets, 'one');
  assert.equal(parseStageArg('x=uprobe:/opt/app:ns::fn').kind, 'uprobe');
  assert.equal(parseStageArg('x=usdt:/opt/fwd:pktpath:rx:packets=arg1').packets, 'arg1');
  assert.equal(parseStageArg('q=tracepoint:net:net_dev_queue').kind, 'tracepoint');
  assert.equal(parseStageArg('k=kprobe:ip_forward').kind, 'kprobe');
  // the calls whose argument 1 is one of the values (rte_graph nodes sharing a process function)
  assert.equal(parseStageArg('n=uprobe:/lib/librte_node.so:0x4830:packets=ret:arg1=0x11e483c00,0x21e483c00').packets, 'ret');
  assert.equal(parseStageArg('n=uprobe:/lib/x.so:0x4830:arg0=0x1').packets, 'one');
  const many = Array.from({ length: 17 }, (_, i) => `0x${i + 1}`).join(',');
  for (const bad of ['x=uprobe:/a:0x10:arg5=0x1', `x=uprobe:/a:0x10:arg1=${many}`, 'x=kprobe:f:arg1=0x1', 'x=uprobe:/a:0x10:packets=ret:arg1=0x1,', 'x=uprobe:/a:0x10:arg1=12']) {
    assert.throws(() => parseStageArg(bad), SpecError, bad);
  }
  for (const bad of ['x=uprobe:/opt/fwd', 'x=uprobe::f', 'x=uprobe:/a:0x', 'x=usdt:/a:p:n:packets=ret', 'x=tracepoint:net', 'x=uprobe:/a:f:packets=arg9', '=uprobe:/a:f', 'x=uprobe:/a\n:f']) {
    assert.throws(() => parseStageArg(bad), SpecError, bad);
  }
});

test('progress line: rate and the slowest stage of the last interval, corrected where calibrated', async () => {
  const s = await loadSession(good);
  // Interval 2: rx 3200 pkts in 1 s; rx (1000-400)·100/3200 = 18.75 ns/pkt corrected; route 16 µs raw.
  assert.equal(progressLine(s), '  2.0 s  3.2 kpps (rx)  slowest route 16.0 µs/pkt (raw)  60 samples');
  const onlyRx = { ...s, stages: [s.stages[0]!] };
  assert.equal(progressLine(onlyRx), '  2.0 s  3.2 kpps (rx)  slowest rx 18.8 ns/pkt  60 samples');
});

test('progress line: a stage counting one packet per call gives a call rate, never a packet rate', async () => {
  const s = await loadSession(good);
  // a poll loop probed with packets=one: 12,000 calls in the last second, 3,200 packets counted by rx
  const poll = { ...s.stages[1]!, name: 'poll', packets_from: 'one' as const, timeline: [{ t_s: 1, calls: 9000, packets: 9000, sum_ns: 9e5 }, { t_s: 2, calls: 12000, packets: 12000, sum_ns: 1.2e6 }] };
  assert.match(progressLine({ ...s, stages: [s.stages[0]!, poll] }), /^ {2}2\.0 s {2}3\.2 kpps \(rx\) /);
  assert.match(progressLine({ ...s, stages: [poll] }), /^ {2}2\.0 s {2}12\.0 kcalls\/s \(poll, one packet per call\) /);
});

test('the real process: exit codes, stdout and stderr as a shell sees them', () => {
  const usage = runCliProcess('report');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /expected one session file/);
  const r = runCliProcess('report', good, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { samples: number }).samples, 60);
});
