// Finds candidate forwarders on a host over any Transport: DPDK EAL processes (their lcore threads
// and file prefix), processes holding AF_PACKET or AF_XDP sockets, and busy-polling threads.
//
// One fixed script reads /proc on the host in a handful of processes (no per-process loop); nothing
// from the user is put into it, only a random nonce as $1. Sections are framed by the nonce written
// twice: our own command line holds it once, and no other process can know it. All parsing is here, pure, and unit-tested.
import { randomBytes } from 'node:crypto';
import type { Transport } from './transport.ts';
import { elfBuildId } from '../core/elf-build-id.ts';

export const DISCOVERY_SCRIPT = `
m=$1$1
sec() { printf '\\n%s%s%s\\n' "$m" "$1" "$m"; }
sec clk; getconf CLK_TCK 2>/dev/null || echo 100
sec self; echo $$
sec packet; cat /proc/net/packet 2>/dev/null
sec xdp; cat /proc/net/xdp 2>/dev/null
sec fd; ls -l /proc/[0-9]*/fd/ 2>/dev/null
sec exe; ls -l /proc/[0-9]*/exe 2>/dev/null
sec maps; grep -a -H -E 'librte_|rtemap_|/dpdk/' /proc/[0-9]*/maps 2>/dev/null
sec cmdline; grep -a -H -z '' /proc/[0-9]*/cmdline 2>/dev/null
sec up1; cat /proc/uptime
sec stat1; grep -a -H '' /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null
sleep 0.5
sec up2; cat /proc/uptime
sec stat2; grep -a -H '' /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null
sec end
`;

export interface TaskStat {
  pid: number;
  tid: number;
  comm: string;
  state: string;
  ticks: number; // utime + stime
  threads: number; // num_threads of the process (same in every task)
}

export interface RawSnapshot {
  clkTck: number;
  selfPid: number | undefined;
  packetInodes: Set<number>;
  xdpInodes: Set<number>;
  xdpAvailable: boolean;
  /** pid → socket inodes it holds */
  sockets: Map<number, number[]>;
  /** pid → paths of its open files (for the DPDK runtime dir) */
  files: Map<number, string[]>;
  exe: Map<number, string>;
  /** pid → DPDK-looking lines of its maps (path part) */
  dpdkMaps: Map<number, string[]>;
  cmdline: Map<number, string[]>;
  window: { seconds: number; before: Map<number, TaskStat>; after: Map<number, TaskStat> };
}

export interface ThreadInfo {
  tid: number;
  comm: string;
  /** CPU share over the window, in cores (1 = one core busy all the time). */
  cpu: number;
}

export type Reason = 'dpdk' | 'af_packet' | 'af_xdp' | 'busy_poll';

export interface Candidate {
  pid: number;
  comm: string;
  command: string[];
  exe: string | null;
  buildId: string | null;
  threads: number;
  /** CPU share of the whole process over the window, in cores. */
  cpu: number;
  reasons: Reason[];
  dpdk: { filePrefix: string | null; lcoreThreads: ThreadInfo[] } | null;
  packetSockets: number;
  xdpSockets: number;
  busyThreads: ThreadInfo[];
}

/** A thread at or above this share of a core over the window looks like a poll loop. */
export const BUSY_CPU = 0.8;

function sections(text: string, marker: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(marker);
  // parts: [before, name, body, name, body, ...]; each body starts with "\n" and ends with "\n".
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const name = parts[i]!;
    let body = parts[i + 1]!;
    if (body.startsWith('\n')) body = body.slice(1);
    if (body.endsWith('\n')) body = body.slice(0, -1);
    out.set(name, body);
  }
  return out;
}

/** The Inode column of /proc/net/packet or /proc/net/xdp (located by its header). */
export function parseInodeTable(text: string): Set<number> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const out = new Set<number>();
  if (lines.length === 0) return out;
  const col = lines[0]!.trim().split(/\s+/).findIndex((h) => h.toLowerCase() === 'inode');
  if (col < 0) return out;
  for (const l of lines.slice(1)) {
    const n = Number(l.trim().split(/\s+/)[col]);
    if (Number.isInteger(n) && n > 0) out.add(n);
  }
  return out;
}

/** `ls -l /proc/[0-9]*\/fd/`: a "/proc/PID/fd/:" header, then "... N -> target" lines. */
export function parseFdListing(text: string): { sockets: Map<number, number[]>; files: Map<number, string[]> } {
  const sockets = new Map<number, number[]>();
  const files = new Map<number, string[]>();
  let pid: number | undefined;
  for (const line of text.split('\n')) {
    const h = /^\/proc\/(\d+)\/fd\/?:$/.exec(line);
    if (h) {
      pid = Number(h[1]);
      continue;
    }
    if (pid === undefined) continue;
    const a = line.indexOf(' -> ');
    if (a < 0) continue;
    const target = line.slice(a + 4);
    const s = /^socket:\[(\d+)\]$/.exec(target);
    if (s) {
      const l = sockets.get(pid) ?? [];
      l.push(Number(s[1]));
      sockets.set(pid, l);
    } else if (target.startsWith('/')) {
      const l = files.get(pid) ?? [];
      l.push(target);
      files.set(pid, l);
    }
  }
  return { sockets, files };
}

export function parseExeListing(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /\/proc\/(\d+)\/exe -> (.*)$/.exec(line);
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** `grep -H` output over /proc/PID/...: "path:line" (a line split by a newline keeps its path). */
function byPid(text: string, fileRe: RegExp, sep: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const rec of text.split(sep)) {
    const m = fileRe.exec(rec);
    if (!m) continue;
    const pid = Number(m[1]);
    const l = out.get(pid) ?? [];
    l.push(rec.slice(m[0].length));
    out.set(pid, l);
  }
  return out;
}

export function parseMaps(text: string): Map<number, string[]> {
  const m = byPid(text, /^\/proc\/(\d+)\/maps:/, '\n');
  for (const [pid, lines] of m) {
    m.set(pid, [...new Set(lines.map((l) => l.trim().split(/\s+/).slice(5).join(' ')).filter((p) => p !== ''))]);
  }
  return m;
}

export function parseCmdlines(text: string): Map<number, string[]> {
  return byPid(text, /^\n?\/proc\/(\d+)\/cmdline:/, '\0');
}

/** Task stats from `grep -H '' /proc/PID/task/TID/stat`. A comm may hold spaces, ')' or a newline:
 *  lines of one file are joined back, and the comm is what lies between "(" and the last ") ". */
export function parseTaskStats(text: string): Map<number, TaskStat> {
  const files = new Map<string, { pid: number; tid: number; body: string }>();
  const order: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\/proc\/(\d+)\/task\/(\d+)\/stat:/.exec(line);
    if (!m) continue;
    const key = `${m[1]}/${m[2]}`;
    const rest = line.slice(m[0].length);
    const cur = files.get(key);
    if (cur) cur.body += `\n${rest}`;
    else {
      files.set(key, { pid: Number(m[1]), tid: Number(m[2]), body: rest });
      order.push(key);
    }
  }
  const out = new Map<number, TaskStat>();
  for (const key of order) {
    const f = files.get(key)!;
    const open = f.body.indexOf(' (');
    const close = f.body.lastIndexOf(') ');
    if (open < 0 || close < open) continue;
    const comm = f.body.slice(open + 2, close);
    const fields = f.body.slice(close + 2).trim().split(/\s+/);
    // fields[0] is stat's field 3 (state): utime/stime are fields 14/15, num_threads field 20.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const threads = Number(fields[17]);
    if (![utime, stime, threads].every(Number.isFinite)) continue;
    out.set(f.tid, { pid: f.pid, tid: f.tid, comm, state: fields[0] ?? '?', ticks: utime + stime, threads });
  }
  return out;
}

function uptime(s: string | undefined): number {
  return Number((s ?? '').trim().split(/\s+/)[0]);
}

export function parseSnapshot(text: string, marker: string): RawSnapshot {
  const s = sections(text, marker);
  if (!s.has('end')) throw new Error('process discovery: the host returned an incomplete report');
  const fd = parseFdListing(s.get('fd') ?? '');
  const xdpText = s.get('xdp') ?? '';
  const seconds = uptime(s.get('up2')) - uptime(s.get('up1'));
  const clk = Number((s.get('clk') ?? '').trim());
  const self = Number((s.get('self') ?? '').trim());
  return {
    clkTck: Number.isFinite(clk) && clk > 0 ? clk : 100,
    selfPid: Number.isInteger(self) && self > 0 ? self : undefined,
    packetInodes: parseInodeTable(s.get('packet') ?? ''),
    xdpInodes: parseInodeTable(xdpText),
    xdpAvailable: xdpText.trim() !== '',
    sockets: fd.sockets,
    files: fd.files,
    exe: parseExeListing(s.get('exe') ?? ''),
    dpdkMaps: parseMaps(s.get('maps') ?? ''),
    cmdline: parseCmdlines(s.get('cmdline') ?? ''),
    window: { seconds: seconds > 0 ? seconds : 0.5, before: parseTaskStats(s.get('stat1') ?? ''), after: parseTaskStats(s.get('stat2') ?? '') },
  };
}

const LCORE_RE = /^(rte-worker-\d+|lcore-worker-\d+|lcore-\d+|rte_lcore\d*|dpdk-worker\d*)$/;
const RUNTIME_DIR_RE = /^\/(?:var\/)?run\/(?:user\/\d+\/)?dpdk\/([^/]+)\//;

/** DPDK's runtime directory name: from mapped or open files, else --file-prefix, else null. */
export function filePrefix(paths: readonly string[], argv: readonly string[]): string | null {
  for (const p of paths) {
    const m = RUNTIME_DIR_RE.exec(p);
    if (m) return m[1]!;
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break; // application arguments follow
    if (a === '--file-prefix' && argv[i + 1] !== undefined) return argv[i + 1]!;
    if (a.startsWith('--file-prefix=')) return a.slice('--file-prefix='.length);
  }
  return null;
}

/** EAL arguments on a command line (before "--"): an EAL-only option, or a core list with another
 *  EAL option (-l/-c alone are too common to mean DPDK). */
export function hasEalArgs(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const eal = argv.slice(1, end < 0 ? undefined : end);
  const strong = /^(--file-prefix|--vdev|--proc-type|--lcores|--in-memory|--main-lcore|--socket-mem|--huge-dir|--iova-mode)(=|$)/;
  const cores = /^(-l|-c)$|^-l\d|^-c0x/;
  const weak = /^(-n|--no-pci|-a|--allow|-b|--block|--no-huge|-m)$/;
  return eal.some((a) => strong.test(a)) || (eal.some((a) => cores.test(a)) && eal.some((a) => weak.test(a)));
}

function cpuOf(ticks: number, clk: number, seconds: number): number {
  return Math.round((ticks / clk / seconds) * 1000) / 1000;
}

/** Decide which processes are candidate forwarders and describe them. */
export function findCandidates(raw: RawSnapshot, busy = BUSY_CPU): Candidate[] {
  const { before, after, seconds } = raw.window;
  const threadsOf = new Map<number, ThreadInfo[]>();
  const meta = new Map<number, { comm: string; threads: number }>();
  for (const [tid, a] of after) {
    const b = before.get(tid);
    const cpu = b && b.pid === a.pid ? cpuOf(Math.max(0, a.ticks - b.ticks), raw.clkTck, seconds) : 0;
    const l = threadsOf.get(a.pid) ?? [];
    l.push({ tid, comm: a.comm, cpu });
    threadsOf.set(a.pid, l);
    if (tid === a.pid || !meta.has(a.pid)) meta.set(a.pid, { comm: tid === a.pid ? a.comm : (meta.get(a.pid)?.comm ?? a.comm), threads: a.threads });
  }
  const pids = new Set<number>([...threadsOf.keys(), ...raw.dpdkMaps.keys(), ...raw.sockets.keys()]);
  const out: Candidate[] = [];
  for (const pid of pids) {
    if (pid === raw.selfPid) continue;
    const argv = raw.cmdline.get(pid) ?? [];
    const threads = threadsOf.get(pid) ?? [];
    const socks = raw.sockets.get(pid) ?? [];
    const packetSockets = socks.filter((i) => raw.packetInodes.has(i)).length;
    const xdpSockets = socks.filter((i) => raw.xdpInodes.has(i)).length;
    const maps = raw.dpdkMaps.get(pid) ?? [];
    const files = raw.files.get(pid) ?? [];
    const isDpdk = maps.length > 0 || files.some((f) => RUNTIME_DIR_RE.test(f)) || hasEalArgs(argv);
    // DPDK's main lcore is the process's main thread, named after the program: it is a polling
    // lcore when it is busy (l3fwd with one core, testpmd's forwarding on the main lcore)
    const lcoreThreads = threads.filter((t) => LCORE_RE.test(t.comm) || (isDpdk && t.tid === pid && t.cpu >= busy));
    const busyThreads = threads.filter((t) => t.cpu >= busy);
    const reasons: Reason[] = [];
    if (isDpdk) reasons.push('dpdk');
    if (packetSockets > 0) reasons.push('af_packet');
    if (xdpSockets > 0) reasons.push('af_xdp');
    if (busyThreads.length > 0) reasons.push('busy_poll');
    if (reasons.length === 0) continue;
    // Kernel threads (no binary, no command line) cannot be attached to; `record --kernel` covers them.
    if (!raw.exe.has(pid) && argv.length === 0 && !isDpdk && packetSockets + xdpSockets === 0) continue;
    const m = meta.get(pid);
    out.push({
      pid,
      comm: m?.comm ?? argv[0] ?? '?',
      command: argv,
      exe: raw.exe.get(pid) ?? null,
      buildId: null,
      threads: m?.threads ?? threads.length,
      cpu: Math.round(threads.reduce((s, t) => s + t.cpu, 0) * 1000) / 1000,
      reasons,
      dpdk: isDpdk ? { filePrefix: filePrefix([...maps, ...files], argv) ?? 'rte', lcoreThreads } : null,
      packetSockets,
      xdpSockets,
      busyThreads,
    });
  }
  // The likeliest forwarders first: DPDK, then packet sockets, then by CPU.
  const rank = (c: Candidate): number => (c.dpdk ? 4 : 0) + (c.xdpSockets > 0 ? 2 : 0) + (c.packetSockets > 0 ? 2 : 0) + (c.busyThreads.length > 0 ? 1 : 0);
  return out.sort((a, b) => rank(b) - rank(a) || b.cpu - a.cpu || a.pid - b.pid);
}

async function readHead(t: Transport, path: string, opts: { root?: boolean }): Promise<Buffer> {
  const cmd = t.run(['head', '-c', '65536', '--', path], opts);
  const chunks: Buffer[] = [];
  cmd.stdout.on('data', (b: Buffer) => chunks.push(b));
  cmd.stderr.resume();
  cmd.stdin.end();
  await cmd.exit;
  return Buffer.concat(chunks);
}

export interface DiscoverOptions {
  /** Read /proc as root (needed to see other users' sockets and binaries). Default true. */
  root?: boolean;
}

/** Run the discovery script on the host and describe the candidates (build-ids included). */
export async function discover(t: Transport, opts: DiscoverOptions = {}): Promise<Candidate[]> {
  const root = opts.root ?? true;
  const nonce = `@@${randomBytes(12).toString('hex')}@@`;
  const marker = nonce + nonce;
  const r = await t.exec(['sh', '-c', DISCOVERY_SCRIPT, 'pktpath-ps', nonce], { root });
  if (r.code !== 0 && !r.stdout.includes(`${marker}end${marker}`)) {
    throw new Error(`${t.host}: process discovery failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  }
  const cands = findCandidates(parseSnapshot(r.stdout, marker));
  for (const c of cands) {
    // /proc/PID/exe reads the binary the process runs, even if the file was replaced since.
    c.buildId = elfBuildId(await readHead(t, `/proc/${c.pid}/exe`, { root }));
  }
  return cands;
}
