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

/** Adds the path functions of `pick` to `r` (exact: uprobes; sampled: by symbol); returns the lines to say. Pure. */
export function addPathStages(pick: PathPick, exe: string, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, r: ResolvedDpdk): string[] {
  const lines: string[] = [];
  if (pick.samples === 0) {
    lines.push(`path: no CPU samples in ${SAMPLE} (an idle process, no traffic?): the ethdev stages only`);
    return lines;
  }
  const thread = pick.by === 'burst-callers'
    ? `the polling thread (${pick.pollSamples} of ${pick.samples} samples under ${pick.callers.join(', ')}, the program's callers of the burst functions; loop: ${pick.loops.join(', ')})`
    : `the process (no burst function sampled: ${pick.pollSamples} samples; loop by share: ${pick.loops.join(', ') || 'none'})`;
  if (pick.functions.length === 0) {
    lines.push(`path: no function of ${exe} other than the loop seen in ${SAMPLE} of ${thread}: what runs between rx and tx is inlined into the loop; the ethdev stages only`);
    return lines;
  }
  lines.push(`path: ${pick.functions.length} function(s) seen in ${SAMPLE} of ${thread}: ${pick.functions.map((f) => f.fn).join(', ')}`);
  const names = new Set([...taken, ...r.original.keys(), ...r.exact.map((s) => s.slice(0, s.indexOf('='))), ...r.sampled.map((s) => s.name)]);
  for (const f of pick.functions) {
    if (f.copies.length === 0 && f.inlined && mode === 'sampled') {
      // its code inside the loop, by DWARF: every place it was inlined (stage-ranges.ts)
      const name = freeName(f.fn, names);
      names.add(name);
      const spec = `inline:${exe}:${f.fn}`;
      try {
        r.dwarf.push(parseDwarfStage(name, spec));
      } catch (e) {
        lines.push(`  ${f.fn}: ${f.samples} samples, inlined, but ${(e as Error).message}: skipped`);
        continue;
      }
      lines.push(`  ${name}=${spec}: ${f.samples} samples (${f.own} its own), inlined: its code by DWARF`);
      continue;
    }
    if (f.copies.length === 0) {
      lines.push(`  ${f.fn}: ${f.samples} samples, but no ELF symbol names it (${f.inlined ? 'inlined: an inline: stage in --mode sampled' : 'inlined everywhere?'}): skipped`);
      continue;
    }
    // by address: a name may have several copies (static functions of one name in several files)
    for (const c of f.copies) {
      const name = freeName(f.fn, names);
      names.add(name);
      const spec = `uprobe:${exe}:${c.start !== null ? `0x${c.start.toString(16)}` : c.symbol}`;
      const copies = f.copies.length > 1 ? `, one of ${f.copies.length} copies that ran` : '';
      lines.push(`  ${name}=${spec}: ${c.symbol}, ${c.samples} of its ${f.samples} samples (${f.own} its own${copies})`);
      if (mode === 'exact') r.exact.push(`${name}=${spec}`);
      else r.sampled.push({ name, spec });
    }
  }
  if (pick.dropped.length) lines.push(`  left out (at most ${pick.functions.length} path stages): ${pick.dropped.map((f) => `${f.fn} (${f.samples})`).join(', ')}`);
  return lines;
}

/**
 * With no rte_graph and at least one started port: samples the target and adds the path functions
 * to `r`. `tracer` is the local tracer binary (recordSession deploys it). A failed sample keeps the
 * ethdev stages and says why.
 */
export async function samplePathStages(
  t: Transport, pid: number, tracer: string | undefined, q: DpdkQuery, mode: 'exact' | 'sampled', taken: ReadonlySet<string>, r: ResolvedDpdk, say: (line: string) => void,
  symbolize?: (s: Session) => Promise<Session>,
  sample: (t: Transport, pid: number, tracer?: string) => Promise<Session> = presample,
): Promise<void> {
  if (q.nodes.length > 0 || q.ports.length === 0) return;
  try {
    const exe = await targetExe(t, pid);
    let s = await sample(t, pid, tracer);
    // inline frames come from DWARF: sampled mode makes inline: stages of them, exact mode says it skips them
    if (symbolize) s = await symbolize(s);
    const pick = pathFunctions(s, exe, q.ports.map((p) => p.burst));
    for (const l of addPathStages(pick, exe, mode, taken, r)) say(`auto-stages: ${l}`);
  } catch (e) {
    say(`auto-stages: path: ${SAMPLE} failed (${(e as Error).message}): the ethdev stages only`);
  }
}
