// The hover text for a function: its stage numbers and CPU samples in the current session.
import { fmtNs, fmtShare, type FunctionCosts } from './stage-costs.ts';

/** The markdown shown for one function; null when the session knows nothing about it. */
export function costMarkdown(fn: string, c: FunctionCosts, label: string): string | null {
  const row = c.byStageSymbol.get(fn);
  const sampled = c.bySampledFn.get(fn);
  if (!row && !sampled) return null;
  const out: string[] = [];
  if (row) {
    out.push(`**${fn}** — stage \`${row.name}\` (${row.kind}) · Packet Path`);
    out.push('');
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
  out.push('', `_from ${label}_`);
  return out.join('\n');
}
