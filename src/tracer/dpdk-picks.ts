// The editor's Attach on a DPDK process: the stages --auto-stages would record (one per rte_graph
// node, else ethdev rx/tx per port), as picker items, pre-selected when they resolve.
import type { DpdkQuery } from './dpdk-query.ts';
import { autoStages, resolveDpdkStage } from './dpdk-stages.ts';
import type { PathCandidates } from './path-stages.ts';

export interface DpdkPick {
  name: string;
  /** `graph:NODE` / `ethdev:rx:PORT`: what the picker shows and the session keeps. */
  spec: string;
  /** What the picker returns: `NAME=SPEC`, resolved against the query when recording starts. */
  stage: string;
  /** How it was found (module, address, range), or why it cannot be probed. */
  found: string;
  warnings: string[];
  picked: boolean;
}

export interface DpdkPicks {
  picks: DpdkPick[];
  /** What was found and how, one line each (for the log). */
  notes: string[];
  /** Why there is nothing to pre-select (then Attach falls back to a CPU sample), else null. */
  none: string | null;
}

export function dpdkPicks(q: DpdkQuery): DpdkPicks {
  // one item per node (exact mode records each); sampled mode folds nodes of one function into the first
  const a = autoStages(q, true);
  const notes = [...q.warnings.map((w) => `dpdk: ${w}`), ...a.notes];
  const picks: DpdkPick[] = a.stages.map((s) => {
    try {
      const r = resolveDpdkStage(s.name, s.spec, q);
      return { name: s.name, spec: s.spec, stage: `${s.name}=${s.spec}`, found: r.found, warnings: r.warnings, picked: true };
    } catch (e) {
      return { name: s.name, spec: s.spec, stage: `${s.name}=${s.spec}`, found: (e as Error).message, warnings: [], picked: false };
    }
  });
  const none = picks.length === 0 ? `no rte_graph node and no started ethdev port in process ${q.pid}`
    : !picks.some((p) => p.picked) ? `none of the ${picks.length} DPDK stages found in process ${q.pid} can be probed` : null;
  return { picks, notes, none };
}

/** The path functions --auto-stages would add, as picker items after the ethdev ones: out-of-line
 * copies pre-selected (a uprobe in exact mode, the function's range in sampled mode); code inlined
 * into the loop offered unselected, as it can only be sampled. Pure. */
export function pathPicks(c: PathCandidates): DpdkPick[] {
  return c.candidates.map((x) => ({
    name: x.name, spec: x.spec, stage: `${x.name}=${x.spec}`,
    found: x.inlined ? `${x.found}; sampled mode only` : x.found,
    warnings: [], picked: !x.inlined,
  }));
}

/**
 * Where sampled mode should count a DPDK process's packets, as a --packets-from value: with
 * rte_graph, the node that has processed the most objects so far (rte_graph's own counters: the
 * packets of the path pass it); else DPDK telemetry of the first rx port, in the process's runtime
 * directory (`filePrefix` from discovery; DPDK's default is "rte"). null: nothing to count on.
 */
export function defaultPacketsFrom(q: DpdkQuery, filePrefix: string | null, runtimeDir = '/var/run/dpdk'): string | null {
  if (q.nodes.length > 0) {
    const busiest = q.nodes.reduce((a, n) => (n.objs > a.objs ? n : a), q.nodes[0]!);
    return `graph:${busiest.name}`;
  }
  const rx = q.ports.find((p) => p.dir === 'rx');
  if (!rx) return null;
  return `dpdk:${runtimeDir}/${filePrefix ?? 'rte'}/dpdk_telemetry.v2:${rx.port}:rx`;
}
