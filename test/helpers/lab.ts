// The demo labs for integration tests: the DPDK forwarder between two network namespaces, and the
// kernel's own forwarding path through a router namespace. Built on native-tracer/demo/lab.sh, so a
// test sees exactly what a user of the demo sees. Every lab has a name unique to this process and
// is torn down by stop(), and by an exit hook if a test dies first.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

// The project's .ts files compile as CommonJS (no "type": "module"), so __dirname is this folder.
export const DEMO_DIR: string = resolve(__dirname, '../../native-tracer/demo');
const LAB_SH = join(DEMO_DIR, 'lab.sh');
const BUILD = join(DEMO_DIR, 'build');

/** The forwarder's own counters (cumulative since it started, or a difference of two readings). */
export interface ForwarderCounters {
  rx: number;
  tx: number;
  drop: number;
  drop_parse: number;
  drop_route: number;
  drop_tx: number;
  bursts: number;
  empty_polls: number;
}

/** Packets the router namespace's interfaces counted: in from the generator, out to the sink. */
export interface RouterCounters {
  rx: number;
  tx: number;
}

export interface LabTraffic {
  sent: number;
  received: number;
  /** Demo lab: what the forwarder counted during this traffic run. */
  forwarder?: ForwarderCounters;
  /** Kernel lab: what the router's veths counted during this traffic run. */
  router?: RouterCounters;
}

export interface TrafficOptions {
  /** packets per second, 1..200000 */
  pps: number;
  /** whole seconds, 1..600 */
  seconds: number;
}

export interface DemoLab {
  name: string;
  fwdPid: number;
  /** The forwarder with symbols (use it to resolve offsets even when the stripped one runs). */
  fwdBinary: string;
  strippedBinary: string;
  /** The binary the running process executes (fwdBinary, or strippedBinary with `stripped`). */
  runningBinary: string;
  burst: number;
  genNs: string;
  sinkNs: string;
  /** Root-namespace veths the forwarder opens as DPDK ports 0 and 1. */
  ports: [string, string];
  /** DPDK runtime prefix; ethdev stats at /var/run/dpdk/<prefix>/dpdk_telemetry.v2 */
  filePrefix: string;
  telemetrySocket: string;
  traffic(opts: TrafficOptions): Promise<LabTraffic>;
  /** The forwarder's counters now (asks it with SIGUSR1). */
  counters(): Promise<ForwarderCounters>;
  /** The counters the forwarder printed when it exited, once stop() has run. */
  exitCounters(): ForwarderCounters | undefined;
  stop(): Promise<void>;
}

export interface KernelLab {
  name: string;
  genNs: string;
  routerNs: string;
  sinkNs: string;
  /** The router's veths: towards the generator, towards the sink. */
  routerIfaces: [string, string];
  traffic(opts: TrafficOptions): Promise<LabTraffic>;
  stop(): Promise<void>;
}

// ---- cleanup if a test dies ---------------------------------------------------------------------

const liveLabs = new Map<string, { fwd?: ChildProcess }>();
let hooksInstalled = false;

function cleanupSync(): void {
  for (const [name, lab] of liveLabs) {
    if (lab.fwd?.pid !== undefined && lab.fwd.exitCode === null && lab.fwd.signalCode === null) {
      try {
        process.kill(lab.fwd.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      execFileSync(LAB_SH, ['down', name], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      // best effort: nothing else can be done on the way out
    }
  }
  liveLabs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

// ---- small process helpers ----------------------------------------------------------------------

function run(argv: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, env: env ?? process.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${err.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

function lastJsonLine(text: string): Record<string, unknown> {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no JSON line in: ${text}`);
  return JSON.parse(line) as Record<string, unknown>;
}

function num(obj: Record<string, unknown>, key: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`expected a number for "${key}" in ${JSON.stringify(obj)}`);
  return v;
}

let serial = 0;
function uniqueName(prefix: string): string {
  // 12 chars at most (lab.sh: veth names NAME-xx must fit 15), unique per process and per call.
  serial += 1;
  return `${prefix}${process.pid % 100000}${serial.toString(36)}`.slice(0, 12);
}

/** Builds the demo binaries if needed; a lock keeps concurrent test files from building at once. */
export async function buildDemo(): Promise<void> {
  await run(['flock', '/tmp/pktpath-demo-build.lock', 'nice', 'make', '-s', '-C', DEMO_DIR], 600_000);
  for (const f of ['fwd', 'fwd-stripped', 'gen', 'sink']) {
    if (!existsSync(join(BUILD, f))) throw new Error(`demo build produced no ${f}`);
  }
}

function checkTraffic(opts: TrafficOptions): void {
  if (!Number.isInteger(opts.pps) || opts.pps < 1 || opts.pps > 200_000) throw new Error(`traffic: pps must be an integer 1..200000, got ${opts.pps}`);
  if (!Number.isInteger(opts.seconds) || opts.seconds < 1 || opts.seconds > 600) throw new Error(`traffic: seconds must be an integer 1..600, got ${opts.seconds}`);
}

async function labTraffic(name: string, opts: TrafficOptions): Promise<{ sent: number; received: number }> {
  checkTraffic(opts);
  const out = await run([LAB_SH, 'traffic', name, String(opts.pps), String(opts.seconds)], (opts.seconds + 90) * 1000, {
    ...process.env,
    IDLE_MS: '700',
  });
  const j = lastJsonLine(out);
  return { sent: num(j, 'sent'), received: num(j, 'received') };
}

function toCounters(j: Record<string, unknown>): ForwarderCounters {
  return {
    rx: num(j, 'rx'),
    tx: num(j, 'tx'),
    drop: num(j, 'drop'),
    drop_parse: num(j, 'drop_parse'),
    drop_route: num(j, 'drop_route'),
    drop_tx: num(j, 'drop_tx'),
    bursts: num(j, 'bursts'),
    empty_polls: num(j, 'empty_polls'),
  };
}

function diff(a: ForwarderCounters, b: ForwarderCounters): ForwarderCounters {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof ForwarderCounters)[]) out[k] = b[k] - a[k];
  return out;
}

// ---- the DPDK lab -------------------------------------------------------------------------------

export async function startDemoLab(opts: { burst?: number; stripped?: boolean; name?: string; fwdArgs?: string[] } = {}): Promise<DemoLab> {
  const burst = opts.burst ?? 32;
  if (!Number.isInteger(burst) || burst < 1 || burst > 32) throw new Error(`startDemoLab: burst must be 1..32, got ${burst}`);
  const name = opts.name ?? uniqueName('pd');
  await buildDemo();
  installHooks();
  const entry: { fwd?: ChildProcess } = {};
  liveLabs.set(name, entry);
  try {
    const info = lastJsonLine(await run([LAB_SH, 'up', name], 60_000));
    const fwdBinary = join(BUILD, 'fwd');
    const strippedBinary = join(BUILD, 'fwd-stripped');
    const runningBinary = opts.stripped ? strippedBinary : fwdBinary;
    const fwd = spawn(LAB_SH, ['fwd', name, '--burst', String(burst), ...(opts.fwdArgs ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FWD_BIN: runningBinary },
    });
    entry.fwd = fwd;
    let stderr = '';
    fwd.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const exited = new Promise<void>((r) => fwd.once('close', () => r()));
    const waiters: ((j: Record<string, unknown>) => void)[] = [];
    let exitLine: ForwarderCounters | undefined;
    createInterface({ input: fwd.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // EAL's own log lines
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (j.event === 'exit') exitLine = toCounters(j);
      for (const w of waiters.splice(0)) w(j);
    });
    const nextEvent = (event: string, timeoutMs: number): Promise<Record<string, unknown>> =>
      new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`forwarder: no "${event}" within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
        const onExit = () => {
          clearTimeout(timer);
          reject(new Error(`forwarder exited (code ${fwd.exitCode}) before "${event}"\n${stderr}`));
        };
        fwd.once('close', onExit);
        const wait = (j: Record<string, unknown>) => {
          if (j.event === event) {
            clearTimeout(timer);
            fwd.off('close', onExit);
            resolvePromise(j);
          } else waiters.push(wait);
        };
        waiters.push(wait);
      });
    const ready = await nextEvent('ready', 60_000);
    const fwdPid = num(ready, 'pid');
    if (fwdPid !== fwd.pid) throw new Error(`forwarder pid ${fwdPid} is not the child's ${fwd.pid}`);

    const counters = async (): Promise<ForwarderCounters> => {
      const p = nextEvent('stats', 10_000);
      process.kill(fwdPid, 'SIGUSR1');
      return toCounters(await p);
    };
    let stopped = false;
    const lab: DemoLab = {
      name,
      fwdPid,
      fwdBinary,
      strippedBinary,
      runningBinary,
      burst,
      genNs: String(info.gen_ns),
      sinkNs: String(info.sink_ns),
      ports: [String(info.fwd_in), String(info.fwd_out)],
      filePrefix: String(info.file_prefix),
      telemetrySocket: String(info.telemetry),
      async traffic(t) {
        const before = await counters();
        const r = await labTraffic(name, t);
        const after = await counters();
        return { ...r, forwarder: diff(before, after) };
      },
      counters,
      exitCounters: () => exitLine,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (fwd.exitCode === null && fwd.signalCode === null) {
          fwd.kill('SIGTERM');
          const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
          if (timedOut) {
            fwd.kill('SIGKILL');
            await exited;
          }
        }
        await run([LAB_SH, 'down', name], 60_000);
        liveLabs.delete(name);
      },
    };
    return lab;
  } catch (e) {
    if (entry.fwd && entry.fwd.exitCode === null) entry.fwd.kill('SIGKILL');
    await run([LAB_SH, 'down', name], 60_000).catch(() => undefined);
    liveLabs.delete(name);
    throw e;
  }
}

// ---- the kernel lab -----------------------------------------------------------------------------

async function routerCounters(ns: string, rxDev: string, txDev: string): Promise<RouterCounters> {
  const read = async (dev: string) => {
    const out = await run(['ip', '-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], 10_000);
    const j = JSON.parse(out) as { stats64?: { rx?: { packets?: number }; tx?: { packets?: number } } }[];
    const s = j[0]?.stats64;
    if (typeof s?.rx?.packets !== 'number' || typeof s.tx?.packets !== 'number') throw new Error(`no stats for ${dev} in ${ns}`);
    return { rx: s.rx.packets, tx: s.tx.packets };
  };
  return { rx: (await read(rxDev)).rx, tx: (await read(txDev)).tx };
}

export async function startKernelLab(opts: { name?: string } = {}): Promise<KernelLab> {
  const name = opts.name ?? uniqueName('pk');
  await buildDemo();
  installHooks();
  liveLabs.set(name, {});
  try {
    const info = lastJsonLine(await run([LAB_SH, 'kernel-up', name], 60_000));
    const routerNs = String(info.router_ns);
    const routerIfaces: [string, string] = [String(info.router_in), String(info.router_out)];
    let stopped = false;
    return {
      name,
      genNs: String(info.gen_ns),
      routerNs,
      sinkNs: String(info.sink_ns),
      routerIfaces,
      async traffic(t) {
        const before = await routerCounters(routerNs, ...routerIfaces);
        const r = await labTraffic(name, t);
        const after = await routerCounters(routerNs, ...routerIfaces);
        return { ...r, router: { rx: after.rx - before.rx, tx: after.tx - before.tx } };
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await run([LAB_SH, 'kernel-down', name], 60_000);
        liveLabs.delete(name);
      },
    };
  } catch (e) {
    await run([LAB_SH, 'kernel-down', name], 60_000).catch(() => undefined);
    liveLabs.delete(name);
    throw e;
  }
}

/** Names of everything a lab called `name` could have left behind (namespaces, links, DPDK dir). */
export async function labLeftovers(name: string): Promise<string[]> {
  const left: string[] = [];
  const ns = await run(['ip', 'netns', 'list'], 10_000);
  for (const line of ns.split('\n')) {
    const n = line.split(' ')[0] ?? '';
    if (n.startsWith(`${name}-`)) left.push(`netns ${n}`);
  }
  const links = await run(['ip', '-o', 'link', 'show'], 10_000);
  for (const line of links.split('\n')) {
    const dev = (line.split(': ')[1] ?? '').split('@')[0] ?? '';
    if (dev.startsWith(`${name}-`)) left.push(`link ${dev}`);
  }
  if (existsSync(`/var/run/dpdk/pktpath-${name}`)) left.push(`/var/run/dpdk/pktpath-${name}`);
  return left;
}
