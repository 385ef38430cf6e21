// Never leave a probe attached: after SIGKILL of the tracer, or of its parent, none of the BPF
// programs or links the tracer held may remain. Ids are taken from bpftool's holder
// pids, so concurrent BPF users on the machine do not disturb the comparison.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfHeldBy, bpfStillThere, buildNested, buildTracer, runTracer, sleep, startNested, TRACER, type NestedBuild, type NestedTarget } from './tracer-util.ts';

let build: NestedBuild;
let target: NestedTarget;
let tmp: string;

before(async () => {
  buildTracer();
  build = buildNested();
  target = await startNested(build.exe);
  tmp = mkdtempSync(join(tmpdir(), 'pktpath-cleanup-'));
});
after(() => {
  target?.stop();
  build?.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function stageArgs(): string[] {
  return [
    '--pid', String(target.pid), '--no-calibrate',
    '--stage', `outer=uprobe:${build.exe}:outer`,
    '--stage', `rec=uprobe:${build.exe}:rec`,
    '--stage', 'tx=tracepoint:net:net_dev_queue',
  ];
}

async function waitGone(ids: { progs: number[]; links: number[] }): Promise<{ progs: number[]; links: number[] }> {
  let left = bpfStillThere(ids);
  // programs are freed after an RCU grace period once the last fd closes
  for (let i = 0; i < 50 && (left.progs.length || left.links.length); i++) {
    await sleep(100);
    left = bpfStillThere(ids);
  }
  return left;
}

test('SIGKILL of the tracer leaves none of its programs or links', async () => {
  const run = runTracer(stageArgs());
  await run.ready;
  const held = bpfHeldBy(run.proc.pid!);
  assert.ok(held.links.length >= 5, `the tracer holds its links (uprobe x4, raw_tp): ${JSON.stringify(held)}`);
  assert.ok(held.progs.length >= 3, `the tracer holds its programs: ${JSON.stringify(held)}`);
  await target.go(50); // probes are live while it dies
  run.proc.kill('SIGKILL');
  await run.exited;
  assert.deepEqual(await waitGone(held), { progs: [], links: [] });
  await target.go(50); // the target runs on unharmed
});

test('SIGKILL of the parent stops the tracer cleanly and leaves nothing behind', async () => {
  const out = join(tmp, 'stream.jsonl');
  // a shell parent that starts the tracer in the background and reports its pid
  const parent = spawn('sh', ['-c', '"$0" "$@" > "$OUT" 2>&1 </dev/null & echo $!; wait', TRACER, ...stageArgs()], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OUT: out },
  });
  const tracerPid = await new Promise<number>((res) => parent.stdout.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
  let held = { progs: [] as number[], links: [] as number[] };
  const text = (): string => (existsSync(out) ? readFileSync(out, 'utf8') : '');
  for (let i = 0; i < 100 && !text().includes('"ready"'); i++) await sleep(100);
  assert.match(text(), /"type":"ready"/);
  held = bpfHeldBy(tracerPid);
  assert.ok(held.links.length >= 5, `held: ${JSON.stringify(held)}`);
  parent.kill('SIGKILL');
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    await sleep(100);
    try {
      process.kill(tracerPid, 0);
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, 'the tracer exits when its parent dies');
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  const bye = JSON.parse(lines.at(-1)!) as { type: string; reason: string; detached: boolean };
  assert.equal(bye.type, 'bye');
  assert.equal(bye.reason, 'parent');
  assert.deepEqual(await waitGone(held), { progs: [], links: [] });
});
