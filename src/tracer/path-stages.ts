// `--auto-stages` on a DPDK process without rte_graph: after the ethdev rx/tx stages, a short CPU
// sample (presample.ts) shows which of the program's functions run on the polling thread between
// them (core/path-functions.ts); those with an ELF symbol become uprobe: stages (exact mode) or
// symbol-range stages (sampled mode). What was found and how is said one line each.
import type { Transport } from '../remote/transport.ts';
import { targetExe } from '../remote/target-exe.ts';
import type { Session } from '../core/session.ts';
import { pathFunctions, type PathPick } from '../core/path-functions.ts';
import { parseDwarfStage } from '../symbols/stage-ranges.ts';
import type { DpdkQuery } from './dpdk-query.ts';
import type { ResolvedDpdk } from './dpdk-resolve.ts';
import { pathPicks, type DpdkPicks } from './dpdk-picks.ts';
import { PRESAMPLE_HZ, PRESAMPLE_S, presample } from './presample.ts';

const SAMPLE = `a ${PRESAMPLE_S} s sample at ${PRESAMPLE_HZ} Hz`;

/** A stage name for a function, unique among `taken`. */
function freeName(fn: string, taken: ReadonlySet<string>): string {
  const n = fn.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  const base = /^[A-Za-z_]/.test(n) ? n : `f_${n}`;
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** A path function as a stage: out of line by its ELF address (a uprobe in exact mode, the function's
 * range in sampled mode), or its code inlined into the loop by DWARF (sampled mode only). */
export interface PathCandidate {
  name: string;
  spec: string;
  fn: string;
  samples: number;
  /** Inlined only: an `inline:` stage, which exact mode cannot probe. */
  inlined: boolean;
  /** How it was found, without the stage (`NAME=SPEC: ` goes before it). */
  found: string;
}

export interface PathCandidates {
  candidates: PathCandidate[];
  /** Lines said before the candidates (the sample, the thread), and functions that cannot be stages. */
  lines: string[];
  /** Functions that ran but no symbol or DWARF names: said, never a stage. */
  unnamed: string[];
  /** What MAX_PATH_FUNCTIONS left out, said last. */
  dropped: string | null;
}

/** The path functions of `pick` as stages, named uniquely against `taken`. Pure. */
export function pathCandidates(pick: PathPick, exe: string, taken: ReadonlySet<string>): PathCandidates {
  const out: PathCandidates = { candidates: [], lines: [], unnamed: [], dropped: null };
  if (pick.samples === 0) {
    out.lines.push(`path: no CPU samples in ${SAMPLE} (an idle process, no traffic?): the ethdev stages only`);
    return out;
  }
  const thread = pick.by === 'burst-callers'
    ? `the polling thread (${pick.pollSamples} of ${pick.samples} samples under ${pick.callers.join(', ')}, the program's callers of the burst functions; loop: ${pick.loops.join(', ')})`
    : `the process (no burst function sampled: ${pick.pollSamples} samples; loop by share: ${pick.loops.join(', ') || 'none'})`;
  if (pick.functions.length === 0) {
    out.lines.push(`path: no function of ${exe} other than the loop seen in ${SAMPLE} of ${thread}: what runs between rx and tx is inlined into the loop; the ethdev stages only`);
    return out;
  }
  out.lines.push(`path: ${pick.functions.length} function(s) seen in ${SAMPLE} of ${thread}: ${pick.functions.map((f) => f.fn).join(', ')}`);
  const names = new Set(taken);
  const named = (fn: string): string => {
    const n = freeName(fn, names);
    names.add(n);
    return n;
  };
  for (const f of pick.functions) {
    if (f.copies.length === 0 && f.inlined) {
      out.candidates.push({ name: named(f.fn), spec: `inline:${exe}:${f.fn}`, fn: f.fn, samples: f.samples, inlined: true, found: `${f.samples} samples (${f.own} its own), inlined: its code by DWARF` });
      continue;
    }
    if (f.copies.length === 0) {
      out.unnamed.push(`${f.fn}: ${f.samples} samples, but no ELF symbol names it (inlined everywhere?): skipped`);
      continue;
    }
    // by address: a name may have several copies (static functions of one name in several files)
    for (const c of f.copies) {
      const copies = f.copies.length > 1 ? `, one of ${f.copies.length} copies that ran` : '';
      out.candidates.push({
        name: named(f.fn), spec: `uprobe:${exe}:${c.start !== null ? `0x${c.start.toString(16)}` : c.symbol}`, fn: f.fn, samples: f.samples, inlined: false,
        found: `${c.symbol}, ${c.samples} of its ${f.samples} samples (${f.own} its own${copies})`,
      });
    }
  }
  if (pick.dropped.length) out.dropped = `left out (at most ${pick.functions.length} path stages): ${pick.dropped.map((f) => `${f.fn} (${f.samples})`).join(', ')}`;
  return out;
}

/** Adds the path functions of `pick` to `r` (exact: uprobes; sampled: by symbol); returns the lines to say. Pure. */
export function addPathStages(pick: PathPick, exe: string, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, r: ResolvedDpdk): string[] {
  const names = new Set([...taken, ...r.original.keys(), ...r.exact.map((s) => s.slice(0, s.indexOf('='))), ...r.sampled.map((s) => s.name)]);
  const c = pathCandidates(pick, exe, names);
  const lines = [...c.lines];
  for (const x of c.candidates) {
    if (x.inlined && mode === 'exact') {
      lines.push(`  ${x.fn}: ${x.samples} samples, but no ELF symbol names it (inlined: an inline: stage in --mode sampled): skipped`);
      continue;
    }
    if (x.inlined) {
      try {
        r.dwarf.push(parseDwarfStage(x.name, x.spec));
      } catch (e) {
        lines.push(`  ${x.fn}: ${x.samples} samples, inlined, but ${(e as Error).message}: skipped`);
        continue;
      }
    } else if (mode === 'exact') r.exact.push(`${x.name}=${x.spec}`);
    else r.sampled.push({ name: x.name, spec: x.spec });
    lines.push(`  ${x.name}=${x.spec}: ${x.found}`);
  }
  for (const u of c.unnamed) lines.push(`  ${u}`);
  if (c.dropped) lines.push(`  ${c.dropped}`);
  return lines;
}

/** The program (`exe`) and its rx→tx path functions from a pre-sample of the polling process. */
export async function samplePath(
  t: Transport, pid: number, tracer: string | undefined, q: DpdkQuery, symbolize?: (s: Session) => Promise<Session>,
  sample: (t: Transport, pid: number, tracer?: string) => Promise<Session> = presample,
): Promise<{ exe: string; pick: PathPick }> {
  const exe = await targetExe(t, pid);
  let s = await sample(t, pid, tracer);
  // inline frames come from DWARF: sampled mode makes inline: stages of them, exact mode says it skips them
  if (symbolize) s = await symbolize(s);
  return { exe, pick: pathFunctions(s, exe, q.ports.map((p) => p.burst)) };
}

/** True when --auto-stages (and Attach) look for path functions: no rte_graph, some started port. */
export function wantsPathStages(q: DpdkQuery): boolean {
  return q.nodes.length === 0 && q.ports.length > 0;
}

type Sampler = (t: Transport, pid: number, tracer?: string) => Promise<Session>;

/** With no rte_graph and some started port: pre-samples the target and says, one line each, what
 * `use` makes of the path functions. A failed sample is said and changes nothing. */
async function withPathSample(
  t: Transport, pid: number, tracer: string | undefined, q: DpdkQuery, say: (line: string) => void,
  symbolize: ((s: Session) => Promise<Session>) | undefined, sample: Sampler, use: (exe: string, pick: PathPick) => string[],
): Promise<void> {
  if (!wantsPathStages(q)) return;
  let lines: string[];
  try {
    const { exe, pick } = await samplePath(t, pid, tracer, q, symbolize, sample);
    lines = use(exe, pick);
  } catch (e) {
    lines = [pathSampleFailed(e)];
  }
  for (const l of lines) say(`auto-stages: ${l}`);
}

/**
 * `--auto-stages` with no rte_graph and at least one started port: samples the target and adds the
 * path functions to `r`. `tracer` is the local tracer binary (recordSession deploys it). A failed
 * sample keeps the ethdev stages and says why.
 */
export async function samplePathStages(
  t: Transport, pid: number, tracer: string | undefined, q: DpdkQuery, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, r: ResolvedDpdk, say: (line: string) => void,
  symbolize?: (s: Session) => Promise<Session>, sample: Sampler = presample,
): Promise<void> {
  await withPathSample(t, pid, tracer, q, say, symbolize, sample, (exe, pick) => addPathStages(pick, exe, mode, taken, r));
}

/**
 * The editor's Attach: after the ethdev picks of a process without rte_graph, the path functions
 * --auto-stages would add (pathPicks), said one line each as --auto-stages says them. A failed
 * sample keeps the ethdev picks and says why.
 */
export async function addPathPicks(
  t: Transport, pid: number, tracer: string | undefined, q: DpdkQuery, picks: DpdkPicks, say: (line: string) => void,
  symbolize?: (s: Session) => Promise<Session>, sample: Sampler = presample,
): Promise<void> {
  await withPathSample(t, pid, tracer, q, say, symbolize, sample, (exe, pick) => {
    const c = pathCandidates(pick, exe, new Set(picks.picks.map((p) => p.name)));
    picks.picks.push(...pathPicks(c));
    return [...c.lines, ...c.candidates.map((x) => `  ${x.name}=${x.spec}: ${x.found}`), ...[...c.unnamed, ...(c.dropped ? [c.dropped] : [])].map((u) => `  ${u}`)];
  });
}

/** What is said when the pre-sample fails: the ethdev stages stay. */
function pathSampleFailed(e: unknown): string {
  return `path: ${SAMPLE} failed (${(e as Error).message}): the ethdev stages only`;
}
