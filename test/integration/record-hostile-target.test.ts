// `pktpath record` against hostile stage specs and targets: an offset inside an instruction (or past
// the function's pushes) is refused and the target survives; a FIFO as a binary is refused without
// hanging; a kernel thread, a zombie and a target killed mid-recording exit 3 with the reason; the
// tracer is gone within 0.5 s of the CLI's SIGKILL; the live line and sampled-mode messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KNOWN_COST, buildKnownCost, startKnownCost, type RunningTarget } from '../helpers/known-cost.ts';
import { runCli, runCliProcess } from '../helpers/cli-run.ts';
import { startRecord, stopRecord, type RecordRun } from './record-helpers.ts';
import { loadSession } from '../../src/core/session-io.ts';

const ROOT = resolve(__dirname, '../..');
const TRACER = join(ROOT, 'native-tracer', 'build', 'pktpath-tracer');
const dir = mkdtempSync(join(tmpdir(), 'hostile-tracer-'));
const FN = 'kc_push_1us';
let target: RunningTarget | undefined;
const extra: ChildProcess[] = [];
let rec: RecordRun | undefined;

before(() => {
  execFileSync('nice', ['make', '-s', '-C', join(ROOT, 'native-tracer')], { stdio: ['ignore', 'ignore', 'inherit'] });
  buildKnownCost();
});

after(() => {
  if (rec && rec.child.exitCode === null) rec.child.kill('SIGKILL');
  target?.stop();
  for (const p of extra) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** State letter of /proc/PID/stat, or null when the process is gone. */
function procState(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  const st = procState(pid);
  return st !== null && st !== 'Z' && st !== 'X';
}

async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

interface Insn { addr: number; len: number; text: string }

/** The instructions of a function as objdump decodes them (addresses and lengths). */
function objdumpFunction(bin: string, fn: string): Insn[] {
  const out = execFileSync('objdump', ['-d', bin], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.endsWith(`<${fn}>:`));
  assert.ok(start >= 0, `objdump shows ${fn}`);
  const insns: Insn[] = [];
  for (let i = start + 1; i < lines.length && lines[i]!.trim() !== ''; i++) {
    // "    1e71:\t48 8b 0d d0 32 00 00 \tmov    0x32d0(%rip),%rcx"; long encodings continue on a line without text
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*(?:\t(.*))?$/.exec(lines[i]!);
    if (!m) continue;
    const bytes = m[2]!.trim().split(/\s+/).length;
    if (m[3] === undefined && insns.length) insns[insns.length - 1]!.len += bytes;
    else insns.push({ addr: parseInt(m[1]!, 16), len: bytes, text: m[3] ?? '' });
  }
  return insns;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

async function knownCost(): Promise<RunningTarget> {
  if (!target || !alive(target.pid)) target = await startKnownCost(['run', '--seconds', '600', '--duty', '20']);
  return target;
}

test('an offset inside an instruction is refused, naming the boundaries; the target survives', { timeout: 120_000 }, async () => {
  const t = await knownCost();
  const insns = objdumpFunction(KNOWN_COST, FN);
  const i = insns.findIndex((x) => x.len >= 3);
  assert.ok(i > 0, `${FN} has a multi-byte instruction after its first`);
  const ins = insns[i]!;
  const mid = ins.addr + 1; // the second byte of that instruction
  const out = join(dir, 'mid.pktpath.json');
  const r = await runCli('record', '--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${hex(mid)}`, '--duration', '1', '-o', out);
  assert.notEqual(r.code, 0, r.stderr);
  const fnStart = insns[0]!.addr;
  assert.match(r.stderr, new RegExp(`${hex(mid)} \\(${FN}\\+${hex(mid - fnStart)}\\) is inside the ${ins.len}-byte instruction`), r.stderr);
  assert.match(r.stderr, new RegExp(`boundaries are ${hex(ins.addr)} \\(${FN}\\+${hex(ins.addr - fnStart)}, before\\) and ${hex(ins.addr + ins.len)} \\(${FN}\\+${hex(ins.addr + ins.len - fnStart)}, after\\)`), r.stderr);
  console.log(r.stderr.split('\n').find((l) => /NOT attached/.test(l)));

  // a boundary past `push %rbp`: the return probe would clobber the saved frame pointer (it did: SIGSEGV)
  const afterPush = insns[i + 1]!.addr;
  const r2 = await runCli('record', '--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${hex(afterPush)}`, '--duration', '1', '-o', out);
  assert.notEqual(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /starts an instruction, but there the return address is 8 bytes above the stack pointer/, r2.stderr);
  // --force-unchecked-offsets does not override what is known to break the target
  const r3 = await runCli('record', '--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${hex(mid)}`, '--force-unchecked-offsets', '--duration', '1', '-o', out);
  assert.notEqual(r3.code, 0, r3.stderr);
  assert.match(r3.stderr, /is inside the/);
  // an address no function symbol covers: refused unless forced
  const r4 = await runCli('record', '--pid', String(t.pid), '--stage', 'a=uprobe:' + KNOWN_COST + ':0x10', '--duration', '1', '-o', out);
  assert.match(r4.stderr, /no function symbol or unwind entry \(.eh_frame FDE\) of .* covers 0x10.*--force-unchecked-offsets/);
  assert.ok(!existsSync(out), 'nothing recorded, nothing saved');

  // the function's own start is accepted and recorded
  const ok = await runCli('record', '--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${hex(fnStart)}`, '--duration', '1', '--no-calibrate', '-o', out);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok((await loadSession(out)).stages[0]!.calls > 0);
  // the live line of a one-packet-per-call stage is a call rate, named as such
  assert.ok(await waitFor(() => alive(t.pid), 200));
  assert.ok(alive(t.pid), `the target (pid ${t.pid}) survived: state ${procState(t.pid)}`);
});

test('a stripped binary: the function is the .eh_frame FDE that covers the offset', { timeout: 60_000 }, async () => {
  const bin = join(dir, 'known_cost-stripped');
  execFileSync('cp', [KNOWN_COST, bin]);
  execFileSync('strip', [bin]);
  const insns = objdumpFunction(KNOWN_COST, FN); // addresses from the unstripped twin, as a user would
  const ins = insns.find((x, i) => i > 0 && x.len >= 3)!;
  const p = spawn(bin, ['run', '--seconds', '120', '--duty', '20'], { stdio: 'ignore' });
  extra.push(p);
  assert.ok(await waitFor(() => alive(p.pid!), 2000));
  const out = join(dir, 'stripped.pktpath.json');
  const mid = await runCli('record', '--pid', String(p.pid), '--stage', `a=uprobe:${bin}:${hex(ins.addr + 1)}`, '--duration', '1', '-o', out);
  assert.notEqual(mid.code, 0);
  assert.match(mid.stderr, new RegExp(`\\(fn_${insns[0]!.addr.toString(16)}\\+${hex(ins.addr + 1 - insns[0]!.addr)}\\) is inside the ${ins.len}-byte instruction`), mid.stderr);
  const ok = await runCli('record', '--pid', String(p.pid), '--stage', `a=uprobe:${bin}:${hex(insns[0]!.addr)}`, '--duration', '1', '--no-calibrate', '-o', out);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(alive(p.pid!), 'the stripped target survived');
  p.kill('SIGKILL');
});

test('the live line says calls/s for a stage that counts one packet per call', { timeout: 60_000 }, async () => {
  const t = await knownCost();
  const out = join(dir, 'live.pktpath.json');
  const r = await runCli('record', '--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '--duration', '2', '--no-calibrate', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ {2}[\d.]+ s {2}[\d.]+ k?calls\/s \(a, one packet per call\) {2}slowest a /m, r.stderr);
  assert.doesNotMatch(r.stderr, /pps/);
});

test('the first instruction of libc sendto is named as objdump names it', { timeout: 60_000 }, async () => {
  const t = await knownCost();
  const libc = readFileSync(`/proc/${t.pid}/maps`, 'utf8').split('\n').map((l) => l.split(/\s+/)[5] ?? '').find((p) => /\/libc\.so\.6$/.test(p));
  assert.ok(libc, 'the target maps libc');
  const sym = execFileSync('nm', ['-D', '--defined-only', libc], { encoding: 'utf8' }).split('\n').find((l) => / sendto@@/.test(l) || / sendto$/.test(l));
  assert.ok(sym, 'libc defines sendto');
  const addr = parseInt(sym.split(' ')[0]!, 16);
  const dis = execFileSync('objdump', ['-d', `--start-address=${hex(addr)}`, `--stop-address=${hex(addr + 16)}`, libc], { encoding: 'utf8' });
  const first = /^\s*[0-9a-f]+:\t[0-9a-f ]+\t(\S+)/m.exec(dis)?.[1];
  assert.ok(first, dis);
  const out = join(dir, 'sendto.pktpath.json');
  const r = await runCli('record', '--pid', String(t.pid), '--stage', `s=uprobe:${libc}:sendto`, '--duration', '1', '--no-calibrate', '-o', out);
  const line = r.stderr.split('\n').find((l) => /^stage s: attached/.test(l)) ?? '';
  console.log(line);
  assert.doesNotMatch(line, /not decoded/);
  assert.match(line, new RegExp(`first instruction: ${first!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${line}\nobjdump: ${first}`);
});

test('a FIFO as a stage binary or debug file is refused at once, never waited on', { timeout: 60_000 }, async () => {
  const t = await knownCost();
  const fifo = join(dir, 'stage.fifo');
  execFileSync('mkfifo', [fifo]);
  for (const spec of [`a=uprobe:${fifo}:main`, `a=uprobe:${fifo}:0x1000`, `a=usdt:${fifo}:p:n`]) {
    const t0 = Date.now();
    const r = runCliProcess('record', '--pid', String(t.pid), '--stage', spec, '--duration', '1', '-o', join(dir, 'fifo.pktpath.json'));
    const ms = Date.now() - t0;
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /is not a regular file \(a FIFO\)/, `${spec}: ${r.stderr}`);
    assert.ok(ms < 20_000, `${spec}: answered in ${ms} ms`);
  }
  const d = spawnSync(TRACER, ['--dwarf', fifo], { encoding: 'utf8', input: '', timeout: 5000 });
  assert.equal(d.status, 1, `${d.signal ?? ''} ${d.stdout}`);
  assert.match(d.stdout, /not a regular file \(a FIFO\)/);
});

test('the tracer is gone within 0.5 s of the CLI being SIGKILLed', { timeout: 120_000 }, async () => {
  const t = await knownCost();
  rec = startRecord(['--pid', String(t.pid), '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '-o', join(dir, 'killed-cli.pktpath.json')]);
  await rec.ready;
  const tracerPid = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(rec.child.pid)], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
  assert.ok(tracerPid > 0, 'found the tracer');
  const t0 = Date.now();
  rec.child.kill('SIGKILL');
  const gone = await waitFor(() => !alive(tracerPid), 2000, 10);
  const ms = Date.now() - t0;
  console.log(JSON.stringify({ tracer_gone_ms: ms }));
  assert.ok(gone && ms <= 500, `tracer ${tracerPid} still there ${ms} ms after its parent's SIGKILL`);
  assert.ok(alive(t.pid), 'the target survived');
});

test('the tracer dies with its parent even while blocked (a write to a full pipe nobody reads)', { timeout: 60_000 }, async () => {
  const t = await knownCost();
  // bash is the tracer's parent; `sleep` holds the pipe's read end open and never reads it
  const sh = spawn('bash', ['-c', `${TRACER} --pid ${t.pid} --stage a=uprobe:${KNOWN_COST}:${FN} --interval-ms 10 --no-calibrate --sample-hz 2000 | sleep 120`], { stdio: 'ignore' });
  extra.push(sh);
  const children = (): number[] => {
    try {
      return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(sh.pid)], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((x) => x[1] === 'pktpath-tracer' || x[1] === 'sleep').map((x) => Number(x[0]));
    } catch {
      return [];
    }
  };
  let tracerPid = 0;
  let sleepPid = 0;
  const blocked = await waitFor(() => {
    for (const pid of children()) {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'sleep') sleepPid = pid;
      else tracerPid = pid;
    }
    // syscall 1 is write: blocked on the full pipe
    return tracerPid > 0 && readFileSync(`/proc/${tracerPid}/syscall`, 'utf8').startsWith('1 ');
  }, 30_000, 50);
  try {
    assert.ok(blocked, `the tracer (${tracerPid}) blocked in write`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(readFileSync(`/proc/${tracerPid}/syscall`, 'utf8').startsWith('1 '), 'still blocked in write');
    const t0 = Date.now();
    sh.kill('SIGKILL');
    const gone = await waitFor(() => !alive(tracerPid), 3000, 10);
    const ms = Date.now() - t0;
    console.log(JSON.stringify({ blocked_tracer_gone_ms: ms }));
    assert.ok(gone && ms <= 500, `blocked tracer ${tracerPid} still there ${ms} ms after its parent's SIGKILL`);
  } finally {
    if (sleepPid > 0) process.kill(sleepPid, 'SIGKILL');
  }
});

test('--pid of a kernel thread or a zombie exits 3 with the reason, before attaching', { timeout: 60_000 }, async () => {
  const out = join(dir, 'kthread.pktpath.json');
  const k = runCliProcess('record', '--pid', '2', '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '--duration', '1', '-o', out);
  assert.equal(k.code, 3, k.stderr);
  assert.match(k.stderr, /process 2 \(kthreadd\) is a kernel thread/);
  assert.doesNotMatch(k.stderr, /attached/);
  assert.ok(!existsSync(out));
  console.log(k.stderr.trim().split('\n').slice(-1)[0]);

  // a child that its parent (an exec'd sleep, which never waits) does not reap
  const parent = spawn('bash', ['-c', 'sleep 0.3 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  extra.push(parent);
  const zpid = await new Promise<number>((res) => parent.stdout!.once('data', (b: Buffer) => res(Number(b.toString().trim()))));
  assert.ok(await waitFor(() => procState(zpid) === 'Z', 5000), `pid ${zpid} is a zombie`);
  const z = runCliProcess('record', '--pid', String(zpid), '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '--duration', '1', '-o', out);
  assert.equal(z.code, 3, z.stderr);
  assert.match(z.stderr, new RegExp(`process ${zpid} \\(sleep\\) has exited \\(a zombie`));
  parent.kill('SIGKILL');

  const gone = runCliProcess('record', '--pid', '4194303', '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '--duration', '1', '-o', out);
  assert.equal(gone.code, 3, gone.stderr);
  assert.match(gone.stderr, /process 4194303 does not exist/);
});

test('a target killed mid-recording: exit 3, the reason printed, a partial session with end_reason', { timeout: 120_000 }, async () => {
  const victim = await startKnownCost(['run', '--seconds', '600', '--duty', '20']);
  const out = join(dir, 'victim.pktpath.json');
  rec = startRecord(['--pid', String(victim.pid), '--stage', `a=uprobe:${KNOWN_COST}:${FN}`, '--no-calibrate', '-o', out]);
  await rec.ready;
  await rec.intervalsWithPackets(1);
  victim.proc.kill('SIGKILL');
  // the recording ends by itself (the tracer watches the target); Ctrl-C only as a backstop
  const t0 = Date.now();
  const ended = await Promise.race([rec.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
  const code = ended ? await rec.exit : await stopRecord(rec, 10_000);
  assert.ok(ended, `record did not end by itself within 10 s of the target's death\n${rec.stderr()}`);
  console.log(JSON.stringify({ record_exit_ms_after_target_kill: Date.now() - t0 }));
  assert.equal(code, 3, rec.stderr());
  assert.match(rec.stderr(), new RegExp(`recording ended early \\(target_exit\\): process ${victim.pid} \\(known_cost\\) exited during the recording`));
  const s = await loadSession(out);
  assert.equal(s.partial, true);
  assert.equal(s.end_reason, 'target_exit');
  assert.match(s.partial_reason ?? '', /exited during the recording/);
  assert.ok(s.stages[0]!.calls > 0, 'what arrived is kept');
  const rep = await runCli('report', out);
  assert.match(rep.stdout, /ended by target_exit/);
  assert.match(rep.stdout, /PARTIAL recording: process \d+ \(known_cost\) exited during the recording/);
  console.log(rec.stderr().trim().split('\n').slice(-2).join('\n'));
});

test('sampled mode without a stage: one message, with or without --sample-hz', async () => {
  const base = ['record', '--mode', 'sampled', '--pid', '1', '--packets-from', 'dev:lo', '--duration', '1', '-o', join(dir, 's.json')];
  const a = await runCli(...base);
  const b = await runCli(...base, '--sample-hz', '99');
  assert.equal(a.code, 2);
  assert.equal(b.code, 2);
  assert.equal(a.stderr, b.stderr);
  assert.match(a.stderr, /--mode sampled needs at least one --stage NAME=uprobe:BINARY:SYMBOL/);
});
