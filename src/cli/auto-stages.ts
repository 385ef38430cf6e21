// DPDK stages in `pktpath record`: `graph:NODE` / `ethdev:rx|tx:PORT` stages and `--auto-stages`,
// resolved against the live target (tracer --dpdk-query) once the transport is open, into uprobes
// at ELF addresses (exact mode) or address ranges (sampled mode). The user never types an offset.
// Without rte_graph, --auto-stages also adds what a short sample shows between rx and tx (path-stages.ts).
import type { Transport } from '../remote/transport.ts';
import { queryDpdk } from '../tracer/dpdk-query.ts';
import { resolveDpdkStages, type ResolvedDpdk, type SplitStages } from '../tracer/dpdk-resolve.ts';
import { samplePathStages } from '../tracer/path-stages.ts';
import type { Io } from './common.ts';
import type { Session } from '../core/session.ts';

export { restoreSpecs, splitStages, type ResolvedDpdk, type SplitStages } from '../tracer/dpdk-resolve.ts';

export async function resolveDpdk(
  t: Transport, tracer: string, pid: number, dpdk: SplitStages['dpdk'], auto: boolean, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, io: Io,
  localTracer?: string, symbolize?: (s: Session) => Promise<Session>,
): Promise<ResolvedDpdk> {
  const q = await queryDpdk(t, tracer, pid);
  const r = resolveDpdkStages(q, dpdk, auto, mode, taken, (l) => io.err(l));
  if (auto) await samplePathStages(t, pid, localTracer, q, mode, taken, r, (l) => io.err(l), symbolize);
  return r;
}
