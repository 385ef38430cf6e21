// What the editor annotates, per function name: the stage numbers of the session's report (for
// functions that were stages) and the CPU samples of the session's stacks (for any sampled function).
// No `vscode` here: hover, CodeLens and the sessions tree format what this computes.
import type { Session } from '../core/session.ts';
import { buildReport, type Report, type StageRow } from '../core/report.ts';
import { stageFunctions } from '../core/flamegraph.ts';

export interface SampleCost {
  fn: string;
  self: number; // samples with this function as the leaf
  total: number; // samples with this function anywhere on the stack (counted once per stack)
  share: number; // total / all samples
}

export interface FunctionCosts {
  report: Report;
  byStageSymbol: Map<string, StageRow>;
  bySampledFn: Map<string, SampleCost>;
  samples: number;
  slowest: StageRow | null;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

export function functionCosts(session: Session): FunctionCosts {
  const report = buildReport(session);
  const byStageSymbol = new Map<string, StageRow>();
  for (const f of stageFunctions(session.stages)) {
    const row = report.stages[f.stage];
    if (row && !byStageSymbol.has(f.symbol)) byStageSymbol.set(f.symbol, row);
  }
  // Stages named after a function (usdt/tracepoint stages often are) annotate it too.
  for (const row of report.stages) if (!byStageSymbol.has(row.name)) byStageSymbol.set(row.name, row);

  const fnOf = new Map<number, string>();
  for (const f of session.frames) fnOf.set(f.id, f.fn);
  const bySampledFn = new Map<string, SampleCost>();
  let samples = 0;
  for (const st of session.stacks) {
    samples += st.count;
    const seen = new Set<string>();
    st.frames.forEach((id, i) => {
      const fn = fnOf.get(id);
      if (!fn || /^0x[0-9a-f]+$/i.test(fn)) return;
      let c = bySampledFn.get(fn);
      if (!c) bySampledFn.set(fn, (c = { fn, self: 0, total: 0, share: 0 }));
      if (i === 0) c.self += st.count;
      if (!seen.has(fn)) {
        seen.add(fn);
        c.total += st.count;
      }
    });
  }
  for (const c of bySampledFn.values()) c.share = samples > 0 ? c.total / samples : 0;
  let slowest: StageRow | null = null;
  for (const r of report.stages)
    if (r.ns_per_packet !== null && r.ns_per_packet !== undefined && (!slowest || r.ns_per_packet > (slowest.ns_per_packet ?? -1))) slowest = r;
  return { report, byStageSymbol, bySampledFn, samples, slowest };
}

/** "1.23 µs", "456 ns": nanoseconds as people read them. */
export function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(a >= 1e5 ? 0 : a >= 1e4 ? 1 : 2)} µs`;
  return `${ns.toFixed(a >= 100 ? 0 : 1)} ns`;
}

export function fmtShare(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`;
}

export function processLabel(session: Session): string {
  const t = session.target;
  if (t.kernel) return 'kernel path';
  const name = t.command ? basename(t.command.split(' ')[0] ?? t.command) : t.binary ? basename(t.binary) : 'process';
  return t.pid !== null ? `${name} (${t.pid})` : name;
}
