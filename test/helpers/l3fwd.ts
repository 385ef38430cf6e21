// DPDK's l3fwd as a user builds it from Debian's dpdk-doc examples, with -g added and without frame
// pointers (its Makefile's -O3), Rx checksum offload off (virtual ports lack it), fed by a pcap
// port that replays UDP frames forever (net_pcap, infinite_rx) and forwarding to a null port, or
// between two network namespaces over af_packet: no NIC, no hugepages.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildExample, startNsLab, type NsLab } from '../integration/dpdk-lab.ts';

export const EXAMPLES = '/usr/share/dpdk/examples';

/** Builds examples/l3fwd under `dir` (with examples/common beside it, as its Makefile expects). */
export function buildL3fwd(dir: string): string {
  if (!existsSync(join(EXAMPLES, 'l3fwd'))) throw new Error(`${EXAMPLES}/l3fwd missing: apt-get install -y dpdk-doc libdpdk-dev`);
  mkdirSync(dir, { recursive: true });
  for (const d of ['l3fwd', 'common']) cpSync(join(EXAMPLES, d), join(dir, d), { recursive: true });
  const main = join(dir, 'l3fwd', 'main.c');
  const src = readFileSync(main, 'utf8');
  const edited = src.replace('.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,', '.offloads = 0,');
  if (edited === src) throw new Error('l3fwd main.c: the Rx checksum offload line was not found');
  writeFileSync(main, edited);
  // CFLAGS from the environment: the Makefile appends its -O3 and pkg-config flags to it
  execFileSync('nice', ['make', '-C', join(dir, 'l3fwd')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CFLAGS: '-g' } });
  return join(dir, 'l3fwd', 'build', 'l3fwd-shared');
}

// the pcap of UDP frames is the DPDK lab's own (one writer for both)
export { writeUdpPcap } from '../integration/dpdk-lab.ts';

export interface L3fwd {
  /** DPDK telemetry socket, for --packets-from dpdk:SOCKET:PORT */
  telemetry: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts l3fwd (LPM, one lcore) on a pcap port and a null port; resolves when it forwards. */
export function startL3fwd(exe: string, pcap: string, prefix: string, timeoutMs = 60_000): Promise<L3fwd> {
  return launch(exe, ['-l', '1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', prefix,
    '--vdev', `net_pcap0,rx_pcap=${pcap},tx_pcap=/dev/null,infinite_rx=1`, '--vdev', 'net_null1',
    '--', '-p', '0x3', '-P', '--parse-ptype', '--config=(0,0,1),(1,0,1)'], prefix, timeoutMs);
}

/**
 * Starts l3fwd (LPM, one lcore: the main one forwards, no second thread spins waiting for it)
 * between the namespaces of an NsLab over af_packet: port 0 towards the generator, port 1 towards
 * the sink (its MAC as the next hop). Its main() needs the
 * Rx checksum offload off (buildL3fwd's edit). Resolves when it forwards.
 */
export function startL3fwdAfPacket(exe: string, lab: Pick<NsLab, 'ports' | 'sinkMac'>, prefix: string, timeoutMs = 60_000): Promise<L3fwd> {
  return launch(exe, ['-l', '1', '--no-huge', '-m', '512', '--no-pci', '--file-prefix', prefix,
    '--vdev', `net_af_packet0,iface=${lab.ports[0]},framecnt=8192,qpairs=2`, '--vdev', `net_af_packet1,iface=${lab.ports[1]},framecnt=8192,qpairs=2`,
    '--', '-p', '0x3', '-P', '--config=(0,0,1)', '--parse-ptype', `--eth-dest=1,${lab.sinkMac}`], prefix, timeoutMs);
}

async function launch(exe: string, args: string[], prefix: string, timeoutMs: number): Promise<L3fwd> {
  const proc = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-100000)));
  proc.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-100000)));
  const exited = new Promise<void>((r) => proc.once('close', () => r()));
  const app: L3fwd = {
    telemetry: join('/var/run/dpdk', prefix, 'dpdk_telemetry.v2'), proc, pid: proc.pid!, output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // the caller never gets an app to stop
      rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
      reject(new Error(`l3fwd not forwarding within ${timeoutMs} ms\n${out.slice(-3000)}`));
    }, timeoutMs);
    const check = (): void => {
      if (/entering main loop on lcore 1/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`l3fwd exited (${proc.exitCode ?? proc.signalCode})\n${out.slice(-3000)}`));
    });
  });
  return app;
}

/** l3fwd built with DPDK's own Makefile (Rx checksum offload off, as af_packet needs), running in a namespace lab of its own. */
export interface L3fwdLab {
  lab: NsLab;
  app: L3fwd;
  /** Stops l3fwd, removes the lab and the build. */
  stop(): Promise<void>;
}

export async function startL3fwdLab(name: string, cflags?: string): Promise<L3fwdLab> {
  const exe = buildExample('l3fwd', (src) => src.replace('.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,', '.offloads = 0,'), cflags);
  const built = dirname(dirname(dirname(exe))); // DIR/l3fwd/build/l3fwd
  const lab = startNsLab(name);
  let app: L3fwd;
  try {
    app = await startL3fwdAfPacket(exe, lab, `pktpath-${name}`);
  } catch (e) {
    lab.down();
    rmSync(built, { recursive: true, force: true });
    throw e;
  }
  return {
    lab, app,
    stop: async () => {
      await app.stop();
      lab.down();
      rmSync(built, { recursive: true, force: true });
    },
  };
}
