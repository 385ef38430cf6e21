// Stages only DWARF can give, for sampled mode: `inline:BIN:FUNC` (every place FUNC's code landed:
// its inlined instances and its out-of-line copy) and `lines:BIN:FILE:FIRST-LAST` (the code the
// line table maps to those source lines). Each resolves, before the tracer starts, to ELF address
// ranges of BIN that sampled mode matches frames against (SampledStageSpec.ranges). Exact mode
// cannot probe them: inlined code and a run of lines have no call and return.
import type { AddressRange } from '../core/sampled.ts';
import type { Answer, FileInfo, Request } from './dwarf-helper.ts';

export type DwarfStage =
  | { kind: 'inline'; name: string; spec: string; binary: string; func: string }
  | { kind: 'lines'; name: string; spec: string; binary: string; file: string; first: number; last: number };

export class DwarfStageError extends Error {}

const FUNC_RE = /^[A-Za-z_][A-Za-z0-9_.$]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** True for spec strings of the kinds resolved here (whatever their syntax). */
export function isDwarfStageSpec(spec: string): boolean {
  return spec.startsWith('inline:') || spec.startsWith('lines:');
}

/** Parses `inline:BIN:FUNC` or `lines:BIN:FILE:FIRST-LAST` (the first `:` ends BIN; FILE may hold `:`). */
export function parseDwarfStage(name: string, spec: string): DwarfStage {
  const bad = (why: string): never => {
    throw new DwarfStageError(`stage ${name}: ${JSON.stringify(spec)}: ${why}`);
  };
  if (CONTROL_RE.test(spec)) bad('the spec contains control characters');
  if (spec.startsWith('inline:')) {
    const rest = spec.slice('inline:'.length);
    const c = rest.indexOf(':');
    const binary = c < 0 ? '' : rest.slice(0, c);
    const func = c < 0 ? '' : rest.slice(c + 1);
    if (!binary || !func) bad('expected inline:BINARY:FUNCTION');
    if (!FUNC_RE.test(func)) bad(`"${func}" is not a function name`);
    return { kind: 'inline', name, spec, binary, func };
  }
  if (spec.startsWith('lines:')) {
    const rest = spec.slice('lines:'.length);
    const m = /^([^:]+):(.+):(\d+)-(\d+)$/.exec(rest);
    if (!m) return bad('expected lines:BINARY:FILE:FIRST-LAST, e.g. lines:/usr/bin/fwd:main.c:120-134');
    const first = Number(m[3]);
    const last = Number(m[4]);
    if (!(first >= 1 && last >= first && last < 1e7)) bad(`lines ${m[3]}-${m[4]}: want 1 <= FIRST <= LAST`);
    return { kind: 'lines', name, spec, binary: m[1]!, file: m[2]!, first, last };
  }
  return bad('not an inline: or lines: stage');
}

/** Why exact mode refuses the stage (printed as a usage error). */
export function exactModeRefusal(st: Pick<DwarfStage, 'name' | 'spec' | 'kind'>): string {
  const what = st.kind === 'inline' ? 'inlined code has no call and return to probe' : 'a run of source lines has no call and return to probe';
  return `stage ${st.name}: ${st.spec} is for sampled mode only (--mode sampled --packets-from ...): ${what}`;
}

/** The request that answers the stage. */
export function requestOf(st: DwarfStage): Request {
  return st.kind === 'inline' ? { kind: 'inline', name: st.func } : { kind: 'lines', file: st.file, first: st.first, last: st.last };
}

/** Sorted, overlapping or touching ranges merged; empty ones dropped. */
export function mergeRanges(module: string, pairs: ReadonlyArray<readonly [string, string]>): AddressRange[] {
  const rs = pairs
    .map(([lo, hi]) => ({ lo: parseInt(lo, 16), hi: parseInt(hi, 16) }))
    .filter((r) => Number.isSafeInteger(r.lo) && Number.isSafeInteger(r.hi) && r.hi > r.lo)
    .sort((a, b) => a.lo - b.lo);
  const out: AddressRange[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi) last.hi = Math.max(last.hi, r.hi);
    else out.push({ module, lo: r.lo, hi: r.hi });
  }
  return out;
}

export interface ResolvedStage {
  ranges: AddressRange[];
  /** one line for the user: what the ranges are (instances, bytes, files) */
  note: string;
}

/**
 * Turns the helper's answer for the stage into ranges; refuses (with what to do) when there are
 * none. `file` is the file that answered: BIN itself or its debug file (same addresses).
 */
export function rangesFromAnswer(st: DwarfStage, answer: Answer, file: string): ResolvedStage {
  if (answer.kind === 'error') throw new DwarfStageError(`stage ${st.name}: ${file}: ${answer.message}`);
  if (answer.kind !== 'ranges') throw new DwarfStageError(`stage ${st.name}: ${file}: unexpected answer (${answer.kind})`);
  const ranges = mergeRanges(st.binary, answer.answer.ranges);
  const bytes = ranges.reduce((n, r) => n + r.hi - r.lo, 0);
  if (st.kind === 'inline') {
    if (ranges.length === 0) {
      throw new DwarfStageError(`stage ${st.name}: no code of ${st.func} in ${file}'s DWARF (not a function there, or all of it optimized away)`);
    }
    const a = answer.answer;
    return { ranges, note: `stage ${st.name}: ${st.func}: ${a.inlined ?? 0} inlined instances, ${a.out_of_line ?? 0} out-of-line copies, ${ranges.length} ranges, ${bytes} bytes` };
  }
  const files = answer.answer.files ?? [];
  if (files.length === 0) throw new DwarfStageError(`stage ${st.name}: no source file matching ${st.file} in ${file}'s line table`);
  if (files.length > 1) {
    throw new DwarfStageError(`stage ${st.name}: ${st.file} matches ${files.length} source files (${files.slice(0, 4).join(', ')}): give more of its path`);
  }
  if (ranges.length === 0) throw new DwarfStageError(`stage ${st.name}: no code for lines ${st.first}-${st.last} of ${files[0]} in ${file}`);
  return { ranges, note: `stage ${st.name}: ${files[0]}:${st.first}-${st.last}: ${ranges.length} ranges, ${bytes} bytes` };
}

/** Asks the DWARF helper about one file; on the target host or here. */
export type AskDwarf = (file: string, requests: readonly Request[]) => Promise<Answer[]>;

/** Where a stripped binary's debug file is (here, by build-id), or null. */
export type FindDebugFile = (binary: string, buildId: string | null) => Promise<{ path: string; ask: AskDwarf } | null>;

/**
 * Resolves every stage: BIN's own DWARF through `ask` (on the host where BIN is); when BIN has
 * none, its debug file found by build-id (`findDebug`, on this machine).
 */
export async function resolveDwarfStages(stages: readonly DwarfStage[], ask: AskDwarf, findDebug?: FindDebugFile): Promise<Map<string, ResolvedStage>> {
  const out = new Map<string, ResolvedStage>();
  const byBinary = new Map<string, DwarfStage[]>();
  for (const st of stages) byBinary.set(st.binary, [...(byBinary.get(st.binary) ?? []), st]);
  for (const [binary, list] of byBinary) {
    const [head, ...answers] = await ask(binary, [{ kind: 'info' }, ...list.map(requestOf)]);
    if (head?.kind !== 'info') throw new DwarfStageError(`${binary}: ${head?.kind === 'error' ? head.message : 'no answer from the DWARF helper'}`);
    const info: FileInfo = head.info;
    let file = binary;
    let got = answers;
    if (!info.dwarf) {
      const dbg = findDebug ? await findDebug(binary, info.build_id) : null;
      if (!dbg) {
        throw new DwarfStageError(
          `${binary} has no DWARF and no debug file was found for build-id ${info.build_id ?? '(none)'}: ` +
            `${list.map((s) => s.name).join(', ')} need it (build with -g, install its debug package, give --debug-file or set DEBUGINFOD_URLS)`,
        );
      }
      file = dbg.path;
      got = await dbg.ask(dbg.path, list.map(requestOf));
    }
    list.forEach((st, i) => out.set(st.name, rangesFromAnswer(st, got[i] ?? { kind: 'error', message: 'no answer' }, file)));
  }
  return out;
}
