// Attach on DPDK stages: exact mode (probes on every call) or sampled mode (CPU samples, no probes:
// rte_graph nodes of tens of ns are below a probe's resolution), and for sampled mode where packets
// are counted — rte_graph's busiest node or the rx port's telemetry, proposed, editable.
import * as vscode from 'vscode';
import type { DpdkQuery } from '../tracer/dpdk-query.ts';
import { defaultPacketsFrom } from '../tracer/dpdk-picks.ts';
import { askPacketsFrom } from './packets-from.ts';
import { argString, type Args } from './args.ts';

export type DpdkMode = { mode: 'exact' } | { mode: 'sampled'; packetsFrom: string };

/** The mode from the arguments or the user; undefined when the user cancelled. */
export async function chooseDpdkMode(context: vscode.ExtensionContext, a: Args, q: DpdkQuery, filePrefix: string | null): Promise<DpdkMode | undefined> {
  let mode = argString(a, 'mode');
  if (mode !== undefined && mode !== 'exact' && mode !== 'sampled') throw new Error(`mode must be exact or sampled, not ${JSON.stringify(mode)}`);
  if (mode === undefined) {
    const exact = {
      label: vscode.l10n.t('Exact: probe every call'), mode: 'exact' as const,
      detail: vscode.l10n.t('Latency histograms and packets per call; each probed call costs the forwarder about a microsecond, so stages of tens of ns are below resolution.'),
    };
    const sampled = {
      label: vscode.l10n.t('Sampled: CPU samples, no probes'), mode: 'sampled' as const,
      detail: vscode.l10n.t('ns per packet from stack samples, for stages of tens of ns (rte_graph nodes); packets from a counter.'),
    };
    // graph nodes are tens of ns each: sampled first there
    const items = q.nodes.length > 0 ? [sampled, exact] : [exact, sampled];
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Packet Path: how to measure the DPDK stages') });
    if (!pick) return undefined;
    mode = pick.mode;
  }
  if (mode === 'exact') return { mode: 'exact' };
  const packetsFrom = await askPacketsFrom(context, vscode.l10n.t('Packet Path: where are the packets counted?'), argString(a, 'packetsFrom'), defaultPacketsFrom(q, filePrefix));
  return packetsFrom === undefined ? undefined : { mode: 'sampled', packetsFrom };
}
