// Packet counters read without probes, over a Transport: the kernel's interface statistics
// (/sys/class/net/DEV/statistics/*) and a DPDK process's telemetry socket (v2, SOCK_SEQPACKET).
// Sampled mode divides CPU samples by these counts, so reading them must cost the forwarder nothing
// but the counter read itself.
import type { Transport } from '../remote/transport.ts';
import { nodeTotals, queryDpdk } from './dpdk-query.ts';

export type NetdevField = 'rx_packets' | 'tx_packets';
export type DpdkField = 'ipackets' | 'opackets';

export type CounterSource =
  | { kind: 'netdev'; iface: string; field: NetdevField; netns?: string }
  | { kind: 'dpdk'; socket: string; port: number | 'all'; field: DpdkField }
  /** rte_graph's own objects count of a node (summed over graphs), read from the process's memory by
   * the tracer (`--dpdk-query`); pid and tracer are filled in once the target is known. */
  | { kind: 'graph'; node: string; pid: number; tracer: string };

export interface CounterReading {
  packets: number;
  /** When the value was read, by this process's monotonic clock (ms). */
  at_ms: number;
}

// Interface and namespace names end up in a path and in argv; allow what the kernel and iproute2
// allow and nothing that could walk the filesystem.
const IFACE_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;
const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function checkName(what: string, v: string, re: RegExp): void {
  if (!re.test(v) || v === '.' || v === '..') throw new Error(`${what} ${JSON.stringify(v)} is not a valid name`);
}

export function describeSource(src: CounterSource): string {
  if (src.kind === 'netdev') return `netdev ${src.iface} ${src.field}${src.netns ? ` (netns ${src.netns})` : ''}`;
  if (src.kind === 'graph') return `rte_graph node ${src.node} objects`;
  return `dpdk ${src.socket} ethdev ${src.port} ${src.field}`;
}

/** Parses "dev:IFACE[:rx|tx][@NETNS]" or "dpdk:SOCKET[:PORT|all][:rx|tx]" (the CLI's --packets-from). */
export function parseCounterSource(text: string): CounterSource {
  const m = /^dev:([^:@]+)(?::(rx|tx))?(?:@(.+))?$/.exec(text);
  if (m) {
    const iface = m[1]!;
    checkName('interface', iface, IFACE_RE);
    if (m[3] !== undefined) checkName('network namespace', m[3], NETNS_RE);
    const src: CounterSource = { kind: 'netdev', iface, field: m[2] === 'tx' ? 'tx_packets' : 'rx_packets' };
    if (m[3] !== undefined) src.netns = m[3];
    return src;
  }
  const g = /^graph:([A-Za-z0-9_.+-]{1,63})$/.exec(text);
  if (g) return { kind: 'graph', node: g[1]!, pid: 0, tracer: '' };
  const d = /^dpdk:(\/[^:]+)(?::(\d+|all))?(?::(rx|tx))?$/.exec(text);
  if (d) {
    const port = d[2] === undefined || d[2] === 'all' ? 'all' : Number(d[2]);
    if (port !== 'all' && (!Number.isSafeInteger(port) || port > 65535)) throw new Error(`bad DPDK port ${d[2]}`);
    return { kind: 'dpdk', socket: d[1]!, port, field: d[3] === 'tx' ? 'opackets' : 'ipackets' };
  }
  throw new Error(
    `packet counter ${JSON.stringify(text)}: expected dev:IFACE[:rx|tx][@NETNS], dpdk:/var/run/dpdk/PREFIX/dpdk_telemetry.v2[:PORT|all][:rx|tx] or graph:NODE`,
  );
}

function parseCount(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${what}: expected a packet count, got ${JSON.stringify(t.slice(0, 80))}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: count ${t} is too large`);
  return n;
}

async function readNetdev(t: Transport, src: Extract<CounterSource, { kind: 'netdev' }>): Promise<number> {
  checkName('interface', src.iface, IFACE_RE);
  const path = `/sys/class/net/${src.iface}/statistics/${src.field}`;
  // `ip netns exec` mounts the namespace's own sysfs, so the path names its interfaces.
  let argv: string[] = ['cat', path];
  if (src.netns !== undefined) {
    checkName('network namespace', src.netns, NETNS_RE);
    argv = ['ip', 'netns', 'exec', src.netns, 'cat', path];
  }
  const r = await t.exec(argv, { root: src.netns !== undefined });
  if (r.code !== 0) throw new Error(`${describeSource(src)}: ${r.stderr.trim() || `exit ${r.code ?? r.signal}`}`);
  return parseCount(r.stdout, describeSource(src));
}

// ---- DPDK telemetry v2 ---------------------------------------------------------------------------
// The socket is SOCK_SEQPACKET, which Node cannot open; a fixed Python script does the I/O. Its
// input is argv only (the socket path and the commands), its output one JSON line per command.
// Protocol: on connect the server sends {"version":...,"pid":...,"max_output_len":N}; each command
// ("/ethdev/list", "/ethdev/stats,0") gets one JSON message back, {"<command>": value}.
export const TELEMETRY_SCRIPT = [
  'import json, socket, sys',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)',
  's.settimeout(5)',
  's.connect(sys.argv[1])',
  'hello = json.loads(s.recv(65536).decode())',
  'n = int(hello.get("max_output_len", 16384))',
  'for cmd in sys.argv[2:]:',
  '    s.send(cmd.encode())',
  '    print(json.dumps(json.loads(s.recv(n).decode())), flush=True)',
].join('\n');

const TELEMETRY_CMD_RE = /^\/[a-z_/]+(,[0-9]+)?$/;

/** Sends telemetry commands to a DPDK process; returns the reply for each, in order. */
export async function telemetry(t: Transport, socket: string, commands: readonly string[]): Promise<unknown[]> {
  if (!socket.startsWith('/') || socket.includes('\0')) throw new Error(`DPDK telemetry socket must be an absolute path: ${JSON.stringify(socket)}`);
  for (const c of commands) if (!TELEMETRY_CMD_RE.test(c)) throw new Error(`not a telemetry command: ${JSON.stringify(c)}`);
  const r = await t.exec(['python3', '-c', TELEMETRY_SCRIPT, socket, ...commands]);
  if (r.code !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    throw new Error(`DPDK telemetry ${socket}: ${last || `exit ${r.code ?? r.signal}`}`);
  }
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== commands.length) throw new Error(`DPDK telemetry ${socket}: ${lines.length} replies to ${commands.length} commands`);
  return lines.map((l, i) => {
    const v: unknown = JSON.parse(l);
    if (typeof v !== 'object' || v === null || !(commands[i]!.split(',')[0]! in v)) {
      throw new Error(`DPDK telemetry ${socket}: unexpected reply to ${commands[i]}: ${l.slice(0, 120)}`);
    }
    return (v as Record<string, unknown>)[commands[i]!.split(',')[0]!];
  });
}

/** The DPDK telemetry sockets on the host (one per running DPDK process with telemetry on). */
export async function findTelemetrySockets(t: Transport): Promise<string[]> {
  const r = await t.exec(['find', '/var/run/dpdk', '-mindepth', '2', '-maxdepth', '2', '-type', 's', '-name', 'dpdk_telemetry.v2']);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.startsWith('/')).sort();
}

export function ethdevList(reply: unknown): number[] {
  if (!Array.isArray(reply) || !reply.every((p) => Number.isSafeInteger(p) && (p as number) >= 0)) {
    throw new Error(`/ethdev/list: expected a list of port ids, got ${JSON.stringify(reply)?.slice(0, 80)}`);
  }
  return reply as number[];
}

export function ethdevField(reply: unknown, field: DpdkField, port: number): number {
  const v = typeof reply === 'object' && reply !== null ? (reply as Record<string, unknown>)[field] : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`/ethdev/stats,${port}: no ${field} in ${JSON.stringify(reply)?.slice(0, 80)}`);
  }
  return v;
}

async function readDpdk(t: Transport, src: Extract<CounterSource, { kind: 'dpdk' }>): Promise<number> {
  let ports: number[];
  if (src.port === 'all') {
    const [list] = await telemetry(t, src.socket, ['/ethdev/list']);
    ports = ethdevList(list);
    if (ports.length === 0) throw new Error(`DPDK telemetry ${src.socket}: the process has no ports`);
  } else {
    ports = [src.port];
  }
  const replies = await telemetry(t, src.socket, ports.map((p) => `/ethdev/stats,${p}`));
  return replies.reduce<number>((sum, r, i) => sum + ethdevField(r, src.field, ports[i]!), 0);
}

// Where each graph counter's nodes are, once found (pid:node -> addresses): later reads skip the scan.
const nodeAddrs = new Map<string, string[]>();

async function readGraph(t: Transport, src: Extract<CounterSource, { kind: 'graph' }>): Promise<number> {
  if (src.pid <= 0 || src.tracer === '') throw new Error(`${describeSource(src)}: needs the target's process id`);
  const key = `${src.pid}:${src.node}`;
  const known = nodeAddrs.get(key);
  const q = await queryDpdk(t, src.tracer, src.pid, known);
  if (!known) nodeAddrs.set(key, q.nodes.filter((n) => n.name === src.node).map((n) => n.addr));
  const tot = nodeTotals(q, src.node);
  if (!tot) throw new Error(`${describeSource(src)}: process ${src.pid} has no rte_graph node ${src.node}${q.nodes.length ? ` (its nodes: ${[...new Set(q.nodes.map((n) => n.name))].join(', ')})` : ''}`);
  return tot.objs;
}

export async function readCounter(t: Transport, src: CounterSource): Promise<CounterReading> {
  const packets = src.kind === 'netdev' ? await readNetdev(t, src) : src.kind === 'graph' ? await readGraph(t, src) : await readDpdk(t, src);
  return { packets, at_ms: performance.now() };
}
