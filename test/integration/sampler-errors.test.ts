// sampler_open says what is missing instead of failing obscurely: no privileges, no such process,
// an impossible rate. Driven through native-tracer/test/run_sampler (the sampler API alone).
//   node --import tsx --test test/integration/sampler-errors.test.ts   (as root)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { RUN_SAMPLER, buildSampler, startTarget } from './sampler-run.ts';
import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';

before(() => buildSampler());

function run(args: string[], asNobody = false): { status: number | null; stderr: string; stdout: string } {
  const cmd = asNobody ? 'setpriv' : RUN_SAMPLER;
  const argv = asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', RUN_SAMPLER, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('without CAP_BPF/CAP_PERFMON: a one-line reason naming the capabilities', () => {
  const r = run(['0', '99', '1'], true);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /sampler_open: .*needs CAP_BPF and CAP_PERFMON, or root/);
  assert.equal(r.stdout, '', 'no records when nothing could be sampled');
});

test('a process that does not exist', () => {
  const r = run(['999999999', '99', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /sampler_open: process 999999999: No such file or directory/);
});

test('a sample rate out of range', () => {
  for (const hz of ['0', '-5', '1000000']) {
    const r = run(['0', hz, '1']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sample rate -?\d+ Hz is out of range/);
  }
});

test('with only CAP_BPF + CAP_PERFMON: user symbols through the path, a warning when kernel symbols are hidden', async () => {
  const target = await startTarget('spin', 20);
  try {
    chmodSync(dirname(target.exe), 0o755); // nobody must reach the binary by its path
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+bpf,+perfmon', '--ambient-caps=+bpf,+perfmon',
        RUN_SAMPLER, String(target.pid), '199', '1'],
      { encoding: 'utf8', timeout: 20000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; fn?: string; build_id?: string | null; message?: string });
    const names = new Set(recs.filter((x) => x.type === 'frame').map((x) => x.fn));
    assert.ok(names.has('hot_a') && names.has('hot_b'), `user symbols without map_files: ${[...names].join(' ')}`);
    const warnings = recs.filter((x) => x.type === 'warning').map((x) => x.message ?? '');
    // whether kallsyms hides addresses from this user depends on kptr_restrict/perf_event_paranoid
    const ks = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'head', '-1', '/proc/kallsyms'], { encoding: 'utf8' });
    const hidden = /^0+ /.test(ks.stdout);
    assert.equal(warnings.some((w) => /no kernel symbols: .*CAP_SYSLOG/.test(w)), hidden, `kallsyms hidden: ${hidden}; warnings: ${warnings.join(' | ')}`);
  } finally {
    target.stop();
  }
});
