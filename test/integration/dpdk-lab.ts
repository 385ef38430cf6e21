// DPDK's own sample applications, built as users build them (copied out of Debian's dpdk-doc and
// made with their own Makefiles), run without NICs or hugepages, and read through the tracer's
// --dpdk-query. Shared by the dpdk-* integration tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDpdkQuery, type DpdkQuery } from '../../src/tracer/dpdk-query.ts';
import { TRACER } from './tracer-util.ts';

export const EXAMPLES = '/usr/share/dpdk/examples';

/** Copies an example out and builds it with its Makefile; `edit` may change main.c first; `cflags`
 * go before the Makefile's own (-O3 stays). A failed build throws. */
export function buildExample(name: string, edit?: (src: string) => string, cflags?: string): string {
  if (!existsSync(join(EXAMPLES, name))) throw new Error(`${EXAMPLES}/${name} missing: apt-get install -y dpdk-doc dpdk-dev libdpdk-dev (scripts/setup.sh)`);
  const dir = join(mkdtempSync(join(tmpdir(), 'pktpath-dpdk-')), name);
  cpSync(join(EXAMPLES, name), dir, { recursive: true });
  // examples include ../common (l3fwd: pkt_group.h): keep the layout
  if (existsSync(join(EXAMPLES, 'common'))) cpSync(join(EXAMPLES, 'common'), join(dir, '..', 'common'), { recursive: true });
  if (edit) {
    const main = join(dir, 'main.c');
    const before = readFileSync(main, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`${name}: the edit changed nothing in main.c`);
    writeFileSync(main, after);
  }
  execFileSync('make', ['-C', dir], { stdio: ['ignore', 'pipe', 'pipe'], ...(cflags ? { env: { ...process.env, CFLAGS: cflags } } : {}) });
  return join(dir, 'build', name);
}

function csum16(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** A pcap of `n` IPv4/UDP frames to 198.18.P.x (l3fwd's and l3fwd-graph's route to port P). */
export function writeUdpPcap(path: string, port: number, n = 64): void {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // Ethernet
  parts.push(head);
  for (let i = 0; i < n; i++) {
    const payload = Buffer.alloc(18);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(1024 + i, 0);
    udp.writeUInt16BE(5000, 2);
    udp.writeUInt16BE(8 + payload.length, 4);
    const ip = Buffer.from([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 198, 18, port, 1 + (i % 200)]);
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    ip.writeUInt16BE(i, 4);
    ip.writeUInt16BE(csum16(ip), 10);
    const eth = Buffer.from('020000000001020000000002' + '0800', 'hex');
    const frame = Buffer.concat([eth, ip, udp, payload]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  writeFileSync(path, Buffer.concat(parts));
}

export interface DpdkApp {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a DPDK app and resolves once `readyRe` shows on its output (its own stats or a log line). */
export async function startApp(exe: string, args: string[], readyRe: RegExp, timeoutMs = 60_000): Promise<DpdkApp> {
  const child = spawn('stdbuf', ['-oL', exe, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.length > 1 << 20) out = out.slice(-(1 << 19));
  });
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const app: DpdkApp = {
    child,
    pid: child.pid!,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // the caller never gets an app to stop: do not leave it polling
      child.kill('SIGKILL');
      reject(new Error(`${exe}: not ready within ${timeoutMs} ms\n${out.slice(-3000)}`));
    }, timeoutMs);
    const check = (): void => {
      if (readyRe.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check); // DPDK's log goes to stderr
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${exe} exited (${child.exitCode ?? child.signalCode})\n${out.slice(-3000)}`));
    });
  });
  return app;
}

/** The tracer's --dpdk-query of a process (with `nodes`: only those node addresses). */
export function dpdkQuery(pid: number, nodes?: string[]): DpdkQuery {
  const args = ['--dpdk-query', '--pid', String(pid), ...(nodes ? ['--nodes', nodes.join(',')] : [])];
  return parseDpdkQuery(execFileSync(TRACER, args, { encoding: 'utf8' }));
}

export interface NsLab {
  /** Generator and sink namespaces. */
  gen: string;
  sink: string;
  /** Root-namespace veths a DPDK app opens with af_packet: towards the generator (port 0) and the sink (port 1). */
  ports: [string, string];
  sinkMac: string;
  /** Packets the sink's interface received since the lab came up. */
  sinkRx(): number;
  down(): void;
}

const quiet = (argv: string[]): void => {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  } catch {
    // not there
  }
};

/**
 * Generator namespace — port 0 — DPDK app — port 1 — sink namespace, over veths with offloads off
 * (af_packet hands DPDK frames as the wire has them). The generator routes 198.18.1.0/24 to the app.
 */
export function startNsLab(name: string, sinkMac = '02:50:4b:02:00:22'): NsLab {
  const gen = `${name}-g`;
  const sink = `${name}-s`;
  const ports: [string, string] = [`${name}-gr`, `${name}-sr`];
  const down = (): void => {
    for (const ns of [gen, sink]) quiet(['ip', 'netns', 'del', ns]);
    for (const dev of ports) quiet(['ip', 'link', 'del', dev]);
  };
  const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const up = (): void => {
    sh('ip', 'netns', 'add', gen);
    sh('ip', 'netns', 'add', sink);
    sh('ip', 'link', 'add', ports[0], 'type', 'veth', 'peer', 'name', 'g0', 'netns', gen);
    sh('ip', 'link', 'add', ports[1], 'type', 'veth', 'peer', 'name', 's0', 'netns', sink, 'address', sinkMac);
    for (const [ns, dev] of [['', ports[0]], ['', ports[1]], [gen, 'g0'], [sink, 's0']] as const) {
      const pre = ns ? ['ip', 'netns', 'exec', ns] : [];
      execFileSync(pre.length ? 'ip' : 'ethtool', [...pre.slice(1), ...(pre.length ? ['ethtool'] : []), '-K', dev, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'ignore' });
      sh(...(ns ? ['ip', '-n', ns] : ['ip']), 'link', 'set', dev, 'up');
    }
    for (const dev of ports) sh('sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`);
    for (const ns of [gen, sink]) sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    sh('ip', '-n', gen, 'addr', 'add', '10.202.0.1/24', 'dev', 'g0');
    sh('ip', '-n', gen, 'route', 'add', '198.18.1.0/24', 'via', '10.202.0.254');
    sh('ip', '-n', gen, 'neigh', 'replace', '10.202.0.254', 'lladdr', '02:50:4b:01:00:fe', 'dev', 'g0', 'nud', 'permanent');
    sh('ip', '-n', sink, 'addr', 'add', '198.18.1.2/24', 'dev', 's0');
  };
  down();
  try {
    up();
  } catch (e) {
    down(); // a half-built lab is not left behind
    throw e;
  }
  const rx = (): number => {
    const j = JSON.parse(sh('ip', '-n', sink, '-s', '-j', 'link', 'show', 's0')) as Array<{ stats64: { rx: { packets: number } } }>;
    return j[0]!.stats64.rx.packets;
  };
  const base = rx();
  return { gen, sink, ports, sinkMac, sinkRx: () => rx() - base, down };
}

/**
 * UDP from the generator namespace to 198.18.1.2 at `pps` for `seconds`, from `flows` source ports
 * (af_packet's fanout spreads flows over a port's queues). Resolves with the packets sent; `signal`
 * stops the sender early (the promise then rejects).
 */
export function sendUdp(lab: NsLab, pps: number, seconds: number, flows = 8, signal?: AbortSignal): Promise<number> {
  const py = [
    'import socket, time',
    `socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(${flows})]`,
    `n = ${Math.round(pps * seconds)}; t0 = time.monotonic(); sent = 0`,
    'for i in range(n):',
    '    try:',
    '        socks[i % len(socks)].sendto(b"x" * 18, ("198.18.1.2", 9000)); sent += 1',
    '    except OSError: pass',
    '    if i % 200 == 199:',
    `        d = t0 + (i + 1) / ${pps} - time.monotonic()`,
    '        if d > 0: time.sleep(d)',
    'print(sent)',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', lab.gen, 'python3', '-c', py], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}) });
    c.on('error', reject); // an abort comes here too
    let out = '';
    c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    c.once('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`sender exited ${code}: ${out}`))));
  });
}
