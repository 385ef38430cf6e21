// DPDK stages from a query answer to what a recording takes, shared by `pktpath record` and the
// editor's Attach: split graph:/ethdev: stages from the rest, add --auto-stages' picks, resolve each
// into an exact-mode uprobe or a sampled-mode address range, and keep the specs for the session.
import type { Session } from '../core/session.ts';
import type { SampledStageOption } from './sampled.ts';
import type { DpdkQuery } from './dpdk-query.ts';
import { autoStages, isDpdkSpec, parseDpdkSpec, resolveDpdkStage } from './dpdk-stages.ts';
import { SpecError } from './spec.ts';
import type { DwarfStage } from '../symbols/stage-ranges.ts';

export interface SplitStages {
  /** Stages the tracer takes as they are. */
  plain: string[];
  /** DPDK stages, syntax-checked, to resolve against the target. */
  dpdk: Array<{ name: string; spec: string }>;
}

/** Splits `NAME=SPEC` arguments into DPDK stages and the rest (checked by the tracer's grammar). */
export function splitStages(args: readonly string[]): SplitStages {
  const out: SplitStages = { plain: [], dpdk: [] };
  for (const a of args) {
    const eq = a.indexOf('=');
    const spec = eq > 0 ? a.slice(eq + 1) : '';
    if (eq > 0 && isDpdkSpec(spec)) {
      const name = a.slice(0, eq);
      parseDpdkSpec(name, spec);
      out.dpdk.push({ name, spec });
    } else out.plain.push(a);
  }
  return out;
}

export interface ResolvedDpdk {
  /** Exact mode: `NAME=uprobe:MODULE:0xVADDR:packets=ret`. */
  exact: string[];
  /** Sampled mode: stages by address range. */
  sampled: SampledStageOption[];
  /** Sampled mode: `inline:` stages --auto-stages found (code inlined into the poll loop), resolved from DWARF. */
  dwarf: DwarfStage[];
  /** Stage name -> the spec the user gave (or auto-stages chose), for the session. */
  original: Map<string, string>;
  query: DpdkQuery;
}

/** Resolves DPDK stages (and with `auto`, the ones autoStages finds) against a query; `say` gets
 * what was found and how, one line each. */
export function resolveDpdkStages(
  q: DpdkQuery, dpdk: SplitStages['dpdk'], auto: boolean, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, say: (line: string) => void,
): ResolvedDpdk {
  for (const w of q.warnings) say(`dpdk: ${w}`);
  const wanted = [...dpdk];
  if (auto) {
    // exact mode tells nodes sharing a function apart (one stage each); a sample cannot
    const a = autoStages(q, mode === 'exact');
    for (const n of a.notes) say(`auto-stages: ${n}`);
    for (const s of a.stages) {
      if (taken.has(s.name) || wanted.some((w) => w.name === s.name || w.spec === s.spec)) continue;
      wanted.push(s);
    }
    if (a.stages.length === 0) throw new SpecError(`--auto-stages: nothing found in process ${q.pid}`);
  }
  const out: ResolvedDpdk = { exact: [], sampled: [], dwarf: [], original: new Map(), query: q };
  for (const w of wanted) {
    const r = resolveDpdkStage(w.name, w.spec, q);
    const same = mode === 'sampled' && r.range ? out.sampled.find((x) => x.ranges?.some((g) => g.module === r.range!.module && g.lo === r.range!.lo && g.hi === r.range!.hi)) : undefined;
    if (same) {
      // one function, one set of samples: a second stage of it would count them twice
      say(`stage ${w.name}: ${w.spec} runs the function of stage ${same.name}: in sampled mode its samples are ${same.name}'s (exact mode tells the nodes apart)`);
      continue;
    }
    say(`stage ${w.name}: ${w.spec} is ${r.found}`);
    for (const m of r.warnings) say(`stage ${w.name}: warning: ${m}`);
    out.original.set(w.name, w.spec);
    if (mode === 'exact') out.exact.push(`${w.name}=${r.uprobe}`);
    else {
      if (!r.range) throw new SpecError(`stage ${w.name}: ${w.spec}: the function's range is unknown (no symbol and no .eh_frame entry covers it): sampled mode cannot attribute samples to it`);
      out.sampled.push({
        name: w.name, spec: w.spec, ranges: [r.range],
        ...(r.poll ? { poll: r.poll } : {}),
        ...(r.nodes.length ? { graphNodes: r.nodes } : {}),
      });
    }
  }
  return out;
}

/** The session shows the specs the user gave (graph:NODE), not the uprobes they became. */
export function restoreSpecs(s: Session, original: ReadonlyMap<string, string>): Session {
  if (!s.stages.some((st) => original.has(st.name))) return s;
  return { ...s, stages: s.stages.map((st) => ({ ...st, spec: original.get(st.name) ?? st.spec })) };
}
