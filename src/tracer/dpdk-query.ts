// What a running DPDK process is made of, as the tracer's `--dpdk-query --pid PID` reads it from
// the process's memory (native-tracer/dpdk_query.c documents the lines): rte_graph nodes with the
// function the graph really calls and rte_graph's own counters, and each started ethdev port's
// rx/tx burst functions (rte_eth_fp_ops). Nothing is probed or written.
import type { Transport } from '../remote/transport.ts';

/** A function of the target: its module, its ELF address and its range ([lo, hi), null when unknown). */
export interface DpdkFunction {
  addr: string; // runtime address, hex
  module: string | null; // path of the file mapped there (null: anonymous memory)
  elf_addr: number | null;
  fn: string | null; // symbol name when the module has one covering it
  lo: number | null;
  hi: number | null;
}

export interface DpdkNode {
  graph: string;
  name: string;
  id: number;
  addr: string; // the node's struct rte_node in the process, hex: reads it again without a scan
  process: DpdkFunction;
  calls: number;
  objs: number;
  cycles: number;
  /** One of its graph's source nodes (RTE_NODE_SOURCE_F: polled on every walk, packets or not); null when the tracer
   * could not read the graph's source list or is older than the field. */
  source: boolean | null;
}

export interface DpdkPort {
  port: number;
  dir: 'rx' | 'tx';
  burst: DpdkFunction;
}

export interface DpdkQuery {
  pid: number;
  tsc: number;
  mono_ns: number;
  graph_lib: string | null;
  ethdev_lib: string | null;
  nodes: DpdkNode[];
  ports: DpdkPort[];
  warnings: string[];
}

export class DpdkQueryError extends Error {}

type Obj = Record<string, unknown>;

function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new DpdkQueryError(`dpdk query: "${k}" is not a string in ${JSON.stringify(o).slice(0, 120)}`);
  return v;
}
function strOrNull(o: Obj, k: string): string | null {
  return o[k] === null || o[k] === undefined ? null : str(o, k);
}
function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DpdkQueryError(`dpdk query: "${k}" is not a count in ${JSON.stringify(o).slice(0, 120)}`);
  return v;
}
function boolOrNull(o: Obj, k: string): boolean | null {
  const v = o[k];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'boolean') throw new DpdkQueryError(`dpdk query: "${k}" is not true or false in ${JSON.stringify(o).slice(0, 120)}`);
  return v;
}
function hexOrNull(o: Obj, k: string): number | null {
  const v = strOrNull(o, k);
  if (v === null) return null;
  if (!/^0x[0-9a-f]+$/i.test(v)) throw new DpdkQueryError(`dpdk query: "${k}" is not a hex address: ${v}`);
  return parseInt(v, 16);
}

function fnOf(o: Obj, key: string): DpdkFunction {
  return { addr: str(o, key), module: strOrNull(o, 'module'), elf_addr: hexOrNull(o, 'elf_addr'), fn: strOrNull(o, 'fn'), lo: hexOrNull(o, 'lo'), hi: hexOrNull(o, 'hi') };
}

/** Parses the query's output; throws with the tracer's own message when it reported an error. */
export function parseDpdkQuery(text: string): DpdkQuery {
  const q: DpdkQuery = { pid: 0, tsc: 0, mono_ns: 0, graph_lib: null, ethdev_lib: null, nodes: [], ports: [], warnings: [] };
  let head = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new DpdkQueryError(`dpdk query: not JSON: ${line.slice(0, 120)}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DpdkQueryError(`dpdk query: not an object: ${line.slice(0, 120)}`);
    const o = v as Obj;
    switch (o['type']) {
      case 'dpdk':
        head = true;
        q.pid = num(o, 'pid');
        q.tsc = num(o, 'tsc');
        q.mono_ns = num(o, 'mono_ns');
        q.graph_lib = strOrNull(o, 'graph_lib');
        q.ethdev_lib = strOrNull(o, 'ethdev_lib');
        break;
      case 'node':
        q.nodes.push({ graph: str(o, 'graph'), name: str(o, 'name'), id: num(o, 'id'), addr: str(o, 'addr'), process: fnOf(o, 'process'), calls: num(o, 'calls'), objs: num(o, 'objs'), cycles: num(o, 'cycles'), source: boolOrNull(o, 'source') });
        break;
      case 'port': {
        const dir = str(o, 'dir');
        if (dir !== 'rx' && dir !== 'tx') throw new DpdkQueryError(`dpdk query: bad port direction ${dir}`);
        q.ports.push({ port: num(o, 'port'), dir, burst: fnOf(o, 'burst') });
        break;
      }
      case 'warning':
        q.warnings.push(str(o, 'message'));
        break;
      case 'error':
        throw new DpdkQueryError(str(o, 'message'));
      default:
        throw new DpdkQueryError(`dpdk query: unknown line ${line.slice(0, 120)}`);
    }
  }
  if (!head) throw new DpdkQueryError('dpdk query: the tracer wrote no answer (an older tracer without --dpdk-query?)');
  return q;
}

/**
 * Runs the query on the target's host (as root: it reads another process's memory). With `nodes`
 * (addresses from an earlier answer) only those nodes are read: milliseconds instead of a scan of
 * the process's memory, and no ports.
 */
export async function queryDpdk(t: Transport, tracer: string, pid: number, nodes?: readonly string[]): Promise<DpdkQuery> {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new DpdkQueryError(`dpdk query needs a process id, got ${pid}`);
  if (nodes && (nodes.length === 0 || !nodes.every((a) => /^0x[0-9a-f]{1,16}$/i.test(a)))) throw new DpdkQueryError(`dpdk query: bad node addresses ${nodes.join(',')}`);
  const r = await t.exec([tracer, '--dpdk-query', '--pid', String(pid), ...(nodes ? ['--nodes', nodes.join(',')] : [])], { root: true });
  try {
    return parseDpdkQuery(r.stdout);
  } catch (e) {
    if (e instanceof DpdkQueryError && r.code !== 0 && r.stdout.trim() === '') {
      throw new DpdkQueryError(`dpdk query of process ${pid} failed: ${r.stderr.trim() || `exit ${r.code ?? r.signal}`}`);
    }
    throw e;
  }
}

/** rte_graph's counters of one node name summed over the graphs (one per worker lcore) that hold it. */
export function nodeTotals(q: DpdkQuery, name: string): { calls: number; objs: number; cycles: number } | null {
  const ns = q.nodes.filter((n) => n.name === name);
  if (ns.length === 0) return null;
  return ns.reduce((a, n) => ({ calls: a.calls + n.calls, objs: a.objs + n.objs, cycles: a.cycles + n.cycles }), { calls: 0, objs: 0, cycles: 0 });
}

/** The TSC rate between two queries of the same host (rte_graph counts cycles of the TSC). */
export function tscHz(a: DpdkQuery, b: DpdkQuery): number {
  const dt = b.mono_ns - a.mono_ns;
  if (!(dt > 0)) throw new DpdkQueryError('two dpdk queries at the same instant: no TSC rate');
  return ((b.tsc - a.tsc) / dt) * 1e9;
}
