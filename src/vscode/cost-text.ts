// The hover and CodeLens texts for a function: its stage numbers, the verdict when it is the weakest
// link, the change against the comparison, and CPU samples in the current session.
import { fmtNs, fmtShare, type FunctionCosts } from './stage-costs.ts';
import type { StageRow } from '../core/report.ts';
import { fmtRate, type Verdict } from '../core/verdict.ts';
import type { StageDiff } from '../core/diff.ts';

/** What the editor adds to a function's numbers. */
export interface CostContext {
  verdict?: Verdict;
  /** The stage's change against the comparison. */
  delta?: StageDiff | null;
  baseLabel?: string | null;
  /** The views' selection, when one filters the editor. */
  selection?: string | null;
}

/** "+2.1 µs/packet (+12.0%), beyond noise" */
export function deltaText(d: StageDiff): string | null {
  if (d.delta_ns_per_packet === null) return null;
  const sign = d.delta_ns_per_packet >= 0 ? '+' : '−';
  const pct = d.delta_pct === null ? '' : ` (${sign}${Math.abs(d.delta_pct).toFixed(1)}%)`;
  return `${sign}${fmtNs(Math.abs(d.delta_ns_per_packet))}/packet${pct}, ${d.significant ? 'beyond noise' : 'within noise'}`;
}

/** The CodeLens title of a stage function. */
export function lensTitle(row: StageRow, ctx: CostContext = {}): string {
  const v = ctx.verdict;
  const weakest = v?.weakest?.name === row.name;
  const head = weakest ? `$(flame) weakest link · ${row.name}` : `$(pulse) ${row.name}`;
  let t = `${head}: ${fmtNs(row.ns_per_packet)}/packet · ${fmtShare(row.share)} of path · p99 ${fmtNs(row.p99_ns)}${row.corrected ? '' : ' (probe cost included)'}`;
  if (weakest && v?.packets_per_s_one_core) t += ` · path ${fmtRate(v.packets_per_s_one_core)}/core`;
  const d = ctx.delta ? deltaText(ctx.delta) : null;
  if (d) t += ` · ${d} vs ${ctx.baseLabel ?? 'baseline'}`;
  return t;
}

/** The markdown shown for one function; null when the session knows nothing about it. */
export function costMarkdown(fn: string, c: FunctionCosts, label: string, ctx: CostContext = {}): string | null {
  const row = c.byStageSymbol.get(fn);
  const sampled = c.bySampledFn.get(fn);
  if (!row && !sampled) return null;
  const out: string[] = [];
  if (row) {
    out.push(`**${fn}** — stage \`${row.name}\` (${row.kind}) · Packet Path`);
    out.push('');
    const v = ctx.verdict;
    if (v?.weakest?.name === row.name) {
      out.push(`**The weakest link of the path**${v.packets_per_s_one_core ? `: the path sustains ${fmtRate(v.packets_per_s_one_core)} on one core` : ''}` +
        (v.gain && v.next ? `; at ${v.next.name}'s cost it would be ${fmtRate(v.gain.packets_per_s_one_core)} (+${(v.gain.rate_gain * 100).toFixed(0)}%)` : '') + '.', '');
    }
    const d = ctx.delta ? deltaText(ctx.delta) : null;
    if (d) out.push(`**Against ${ctx.baseLabel ?? 'the baseline'}:** ${d} (${fmtNs(ctx.delta!.a_ns_per_packet)} → ${fmtNs(ctx.delta!.b_ns_per_packet)})`, '');
    out.push('| | |', '|---|---|');
    out.push(`| ns per packet | **${fmtNs(row.ns_per_packet)}** (${fmtShare(row.share)} of the path) |`);
    out.push(`| p50 / p99 / p99.9 per call | ${fmtNs(row.p50_ns)} / ${fmtNs(row.p99_ns)} / ${fmtNs(row.p999_ns)} |`);
    out.push(`| calls / packets | ${row.calls.toLocaleString('en-US')} / ${row.packets.toLocaleString('en-US')} |`);
    const probe = row.probe_overhead_ns === null
      ? 'not measured: numbers include the probes\' own cost'
      : `${fmtNs(row.probe_overhead_ns)} per call (±${fmtNs(row.probe_overhead_spread_ns)}), ${row.corrected ? 'subtracted' : 'not subtracted'}`;
    out.push(`| probe overhead | ${probe} |`);
    if (row.warning) out.push('', `⚠ ${row.warning}`);
    if (row.note) out.push('', row.note);
  } else {
    out.push(`**${fn}** · Packet Path`);
  }
  if (sampled && c.samples > 0)
    out.push('', `CPU samples: ${sampled.total.toLocaleString('en-US')} of ${c.samples.toLocaleString('en-US')} (${fmtShare(sampled.share)}) on the stack, ${sampled.self.toLocaleString('en-US')} in the function itself`);
  if (ctx.selection) out.push('', `Filtered to the selection in the views: ${ctx.selection}`);
  out.push('', `_from ${label}_`);
  return out.join('\n');
}
