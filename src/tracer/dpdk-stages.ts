// Stages from a DPDK process's own structure: `graph:NODE` (the rte_graph node's process function,
// as the graph calls it) and `ethdev:rx:PORT` / `ethdev:tx:PORT` (the port's burst function from
// rte_eth_fp_ops). Resolved against a live query (dpdk-query.ts) into what the tracer takes: an
// exact-mode uprobe at the function's ELF address, packets = its return value (objects processed,
// packets received or sent), and for sampled mode the function's address range.
import type { AddressRange } from '../core/sampled.ts';
import type { SampledPollKind } from '../core/session.ts';
import type { DpdkFunction, DpdkNode, DpdkQuery } from './dpdk-query.ts';
import { SpecError } from './spec.ts';
import { MAX_MATCH } from './protocol.ts';

export type DpdkSpec = { kind: 'graph'; node: string } | { kind: 'ethdev'; dir: 'rx' | 'tx'; port: number };

export interface DpdkStage {
  name: string;
  /** The spec as the user wrote it (kept in the session for display). */
  spec: string;
  /** Exact mode: `uprobe:MODULE:0xVADDR:packets=ret`. */
  uprobe: string;
  /** Sampled mode: the function's code; null when its range is unknown (no symbol, no FDE). */
  range: AddressRange | null;
  /** How it was found, for the user. */
  found: string;
  warnings: string[];
  /** A poll function (its samples include idle polling), and how that is known; null: not known to poll. */
  poll: SampledPollKind | null;
  /** graph: stages: every node (address of its struct rte_node) that runs the stage's function, in every graph: whose
   * rte_graph counters cover the same code as the stage's samples. Empty for ethdev: stages. */
  nodes: string[];
}

const NODE_RE = /^[A-Za-z0-9_.+-]{1,63}$/;

export function isDpdkSpec(spec: string): boolean {
  return spec.startsWith('graph:') || spec.startsWith('ethdev:');
}

export function parseDpdkSpec(stage: string, spec: string): DpdkSpec {
  const g = /^graph:(.+)$/.exec(spec);
  if (g) {
    if (!NODE_RE.test(g[1]!)) throw new SpecError(`stage ${stage}: ${JSON.stringify(spec)}: expected graph:NODE (an rte_graph node name)`);
    return { kind: 'graph', node: g[1]! };
  }
  const e = /^ethdev:(rx|tx):(\d{1,5})$/.exec(spec);
  if (e && Number(e[2]) < 65536) return { kind: 'ethdev', dir: e[1] as 'rx' | 'tx', port: Number(e[2]) };
  throw new SpecError(`stage ${stage}: ${JSON.stringify(spec)}: expected graph:NODE, ethdev:rx:PORT or ethdev:tx:PORT`);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function describeFn(f: DpdkFunction): string {
  const where = `${f.module ?? '[anon]'}+${f.elf_addr !== null ? hex(f.elf_addr) : f.addr}`;
  const range = f.lo !== null && f.hi !== null ? ` [${hex(f.lo)}, ${hex(f.hi)}) by ${f.fn ? `symbol ${f.fn}` : '.eh_frame'}` : ' (range unknown)';
  return `${where}${range}`;
}

function stageOf(name: string, spec: string, f: DpdkFunction, what: string, warnings: string[], poll: SampledPollKind | null, nodes: string[]): DpdkStage {
  if (f.module === null || f.elf_addr === null) {
    throw new SpecError(`stage ${name}: ${what} runs code at ${f.addr}, in no mapped file (JIT or anonymous memory): it cannot be probed`);
  }
  return {
    name,
    spec,
    uprobe: `uprobe:${f.module}:${hex(f.elf_addr)}:packets=ret`,
    range: f.lo !== null && f.hi !== null ? { module: f.module, lo: f.lo, hi: f.hi } : null,
    found: `${what}: ${describeFn(f)}${poll ? `; a poll function (${poll === 'ethdev-rx' ? 'rx burst' : 'rte_graph source node'})` : ''}`,
    warnings,
    poll,
    nodes,
  };
}

function sameFn(a: DpdkFunction, b: DpdkFunction): boolean {
  return a.module === b.module && a.elf_addr === b.elf_addr;
}

/** Whether exact mode can keep a node's calls by its node argument: one address per graph the node
 * runs in, at most MAX_MATCH of them in one stage. */
function byNodeArgument(q: DpdkQuery, node: string): boolean {
  return q.nodes.filter((n) => n.name === node).length <= MAX_MATCH;
}

/** Resolves one DPDK stage against a query of the target. */
export function resolveDpdkStage(name: string, spec: string, q: DpdkQuery): DpdkStage {
  const d = parseDpdkSpec(name, spec);
  if (d.kind === 'graph') {
    const ns = q.nodes.filter((n) => n.name === d.node);
    if (ns.length === 0) {
      const known = [...new Set(q.nodes.map((n) => n.name))];
      throw new SpecError(`stage ${name}: no rte_graph node ${d.node} in process ${q.pid}` +
        (known.length ? ` (its nodes: ${known.join(', ')})` : q.graph_lib ? ' (no graph created yet?)' : ' (it does not use rte_graph)'));
    }
    const first = ns[0]!;
    if (ns.some((n) => !sameFn(n.process, first.process))) {
      throw new SpecError(`stage ${name}: node ${d.node} runs different functions in different graphs: ${ns.map((n) => `${n.graph}: ${describeFn(n.process)}`).join('; ')}`);
    }
    const warnings: string[] = [];
    const sharing = [...new Set(q.nodes.filter((n) => n.name !== d.node && sameFn(n.process, first.process)).map((n) => n.name))];
    // the graph calls process(graph, node, objs, nb_objs): exact mode keeps the calls whose node argument is this
    // node's (in each graph); a sample cannot tell which node's call it interrupted
    const byNode = sharing.length > 0 && byNodeArgument(q, d.node);
    if (sharing.length) {
      warnings.push(`node ${d.node} shares its process function with ${sharing.join(', ')}: ` +
        (byNode ? 'exact mode tells its calls apart by their node argument; in sampled mode the function\'s samples are all of theirs'
          : `a probe or a sample there counts for all of them (it runs in more than ${MAX_MATCH} graphs)`));
    }
    const graphs = ns.map((n) => n.graph).join(', ');
    // the function's samples are every node's that runs it: so are the counters read beside them, and it polls when
    // any of them is a source node
    const runs = q.nodes.filter((n) => sameFn(n.process, first.process));
    const poll = runs.some((n) => n.source === true) ? 'graph-source' : null;
    const st = stageOf(name, spec, first.process, `rte_graph node ${d.node} (graph ${graphs})`, warnings, poll, runs.map((n) => n.addr));
    return byNode ? { ...st, uprobe: `${st.uprobe}:arg1=${ns.map((n) => n.addr).join(',')}` } : st;
  }
  const p = q.ports.find((x) => x.port === d.port && x.dir === d.dir);
  if (!p) {
    const known = q.ports.map((x) => `ethdev:${x.dir}:${x.port}`);
    throw new SpecError(`stage ${name}: port ${d.port} has no ${d.dir} burst function in process ${q.pid}` +
      (known.length ? ` (started: ${known.join(', ')})` : ' (no started port)'));
  }
  // one PMD serves all its ports with one function: a probe there counts every port's bursts
  const sharing = q.ports.filter((x) => x.dir === d.dir && x.port !== d.port && sameFn(x.burst, p.burst)).map((x) => x.port);
  const warnings = sharing.length ? [`port ${d.port}'s ${d.dir} burst function also serves port(s) ${sharing.join(', ')}: a probe or a sample there counts for all of them`] : [];
  // an rx burst function is called on every poll of the queue, packets or not
  return stageOf(name, spec, p.burst, `ethdev port ${d.port} ${d.dir}_pkt_burst`, warnings, d.dir === 'rx' ? 'ethdev-rx' : null, []);
}

/** A stage name from a node or port (stage names allow letters, digits, _ . -). */
function stageName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(n) ? n.slice(0, 64) : `n_${n}`.slice(0, 64);
}

export interface AutoStages {
  stages: Array<{ name: string; spec: string }>;
  /** What was found and how, one line each. */
  notes: string[];
}


/**
 * The stages of a DPDK target: one per rte_graph node when it runs a graph, else each started
 * port's rx and tx burst functions. Nodes sharing one process function are one stage, named after
 * the busiest of them, unless `perNode` (exact mode, which tells their calls apart by the node
 * argument): then one stage each, the busiest first.
 */
export function autoStages(q: DpdkQuery, perNode = false): AutoStages {
  const notes: string[] = [];
  const stages: AutoStages['stages'] = [];
  if (q.nodes.length > 0) {
    const byFn = new Map<string, DpdkNode[]>();
    for (const n of q.nodes) {
      const k = `${n.process.module ?? ''}@${n.process.elf_addr ?? n.process.addr}`;
      byFn.set(k, [...(byFn.get(k) ?? []), n]);
    }
    const graphs = [...new Set(q.nodes.map((n) => n.graph))];
    notes.push(`rte_graph: ${byFn.size} node functions in ${graphs.length} graph(s) (${graphs.join(', ')}), read from the nodes in process ${q.pid}'s memory`);
    for (const group of byFn.values()) {
      const objs = new Map<string, number>();
      for (const n of group) objs.set(n.name, (objs.get(n.name) ?? 0) + n.objs);
      const names = [...objs.keys()].sort((a, b) => objs.get(b)! - objs.get(a)! || a.localeCompare(b));
      const busiest = names[0]!;
      const fn = describeFn(group[0]!.process);
      if (perNode && names.length > 1 && names.every((n) => byNodeArgument(q, n))) {
        for (const n of names) stages.push({ name: stageName(n), spec: `graph:${n}` });
        notes.push(`  ${names.map((n) => `graph:${n}`).join(', ')}: ${fn} (one function: each node's calls by their node argument)`);
        continue;
      }
      stages.push({ name: stageName(busiest), spec: `graph:${busiest}` });
      notes.push(`  graph:${busiest}: ${fn}${names.length > 1 ? ` (also runs ${names.slice(1).join(', ')})` : ''}`);
    }
    return { stages, notes };
  }
  if (q.ports.length === 0) {
    notes.push(`process ${q.pid}: no rte_graph node and no started ethdev port found`);
    return { stages, notes };
  }
  notes.push(`no rte_graph: ethdev burst functions of ${new Set(q.ports.map((p) => p.port)).size} started port(s), from rte_eth_fp_ops`);
  // one PMD function serving several ports is one stage (two probes on one address would count twice)
  const seen: DpdkFunction[] = [];
  const sorted = [...q.ports].sort((a, b) => a.dir.localeCompare(b.dir) || a.port - b.port);
  for (const p of sorted) {
    if (seen.some((f) => sameFn(f, p.burst))) continue;
    seen.push(p.burst);
    const also = sorted.filter((x) => x !== p && sameFn(x.burst, p.burst)).map((x) => x.port);
    stages.push({ name: `${p.dir}${p.port}`, spec: `ethdev:${p.dir}:${p.port}` });
    notes.push(`  ethdev:${p.dir}:${p.port}: ${describeFn(p.burst)}${also.length ? ` (also port(s) ${also.join(', ')}: counted together)` : ''}`);
  }
  return { stages, notes };
}
