// Hover on a C function that was a stage or was sampled: its measured cost in the current session.
import * as vscode from 'vscode';
import type { Annotations } from './annotations.ts';
import { fmtNs, fmtShare, type FunctionCosts } from './stage-costs.ts';

export const C_SELECTOR: vscode.DocumentSelector = [
  { language: 'c', scheme: 'file' }, { language: 'cpp', scheme: 'file' },
  { language: 'c', scheme: 'vscode-remote' }, { language: 'cpp', scheme: 'vscode-remote' },
];

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

export function registerHover(context: vscode.ExtensionContext, annotations: Annotations): void {
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(C_SELECTOR, {
      async provideHover(doc, pos) {
        const range = doc.getWordRangeAtPosition(pos, /[A-Za-z_]\w*/);
        if (!range) return undefined;
        const a = await annotations.costs();
        if (!a) return undefined;
        const md = costMarkdown(doc.getText(range), a.costs, a.label);
        return md ? new vscode.Hover(new vscode.MarkdownString(md), range) : undefined;
      },
    }),
  );
}
