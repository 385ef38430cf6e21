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

/** Copies an example out and builds it with its Makefile; `edit` may change main.c first. A failed build throws. */
export function buildExample(name: string, edit?: (src: string) => string): string {
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
  execFileSync('make', ['-C', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const timer = setTimeout(() => reject(new Error(`${exe}: not ready within ${timeoutMs} ms\n${out.slice(-3000)}`)), timeoutMs);
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
