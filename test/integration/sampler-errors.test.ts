// sampler_open says what is missing instead of failing obscurely: no privileges, no such process,
// an impossible rate. Driven through native-tracer/test/run_sampler (the sampler API alone).
//   node --import tsx --test test/integration/sampler-errors.test.ts   (as root)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { RUN_SAMPLER, buildSampler } from './sampler-run.ts';

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
