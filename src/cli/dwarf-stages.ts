// `record`'s inline: and lines: stages: refused outside sampled mode, and resolved to address ranges
// before the tracer starts — from the binary's DWARF on the target host (the tracer's --dwarf mode
// there), or, for a stripped binary, from its debug file found here by build-id.
import type { Transport } from '../remote/transport.ts';
import type { SampledStageOption } from '../tracer/sampled.ts';
import { locateTracer } from '../tracer/locate.ts';
import { askDwarf, askDwarfOn, DwarfHelperError } from '../symbols/dwarf-helper.ts';
import { findDebugFile } from '../symbols/debug-files.ts';
import { DwarfStageError, exactModeRefusal, isDwarfStageSpec, parseDwarfStage, resolveDwarfStages, type DwarfStage, type FindDebugFile } from '../symbols/stage-ranges.ts';
import type { SymbolValues } from './symbol-options.ts';
import { resolve } from 'node:path';
import { UsageError, type Io } from './common.ts';

const specOf = (text: string): { name: string; spec: string } => {
  const eq = text.indexOf('=');
  return { name: eq < 0 ? text : text.slice(0, eq), spec: eq < 0 ? '' : text.slice(eq + 1) };
};

/** Splits `--stage` values into the tracer's kinds and the DWARF kinds (checked; exact mode refuses them). */
export function splitDwarfStages(stages: readonly string[], mode: string): { plain: string[]; dwarf: DwarfStage[] } {
  const plain: string[] = [];
  const dwarf: DwarfStage[] = [];
  for (const text of stages) {
    const { name, spec } = specOf(text);
    if (!isDwarfStageSpec(spec)) {
      plain.push(text);
      continue;
    }
    try {
      const st = parseDwarfStage(name, spec);
      if (mode !== 'sampled') throw new UsageError(exactModeRefusal(st));
      dwarf.push(st);
    } catch (e) {
      if (e instanceof DwarfStageError) throw new UsageError(e.message);
      throw e;
    }
  }
  return { plain, dwarf };
}

/** The DWARF stages with their ranges, in the order given; what each resolved to goes to stderr. */
export async function resolveSampledDwarfStages(
  t: Transport, tracerOnTarget: string, stages: readonly DwarfStage[], v: SymbolValues, io: Io,
): Promise<SampledStageOption[]> {
  if (stages.length === 0) return [];
  const findDebug: FindDebugFile = async (binary, buildId) => {
    let tracer: string;
    try {
      tracer = locateTracer();
    } catch {
      return null;
    }
    const r = await findDebugFile(binary, buildId, {
      tracer,
      localBuilds: (v['debug-file'] ?? []).map((p) => resolve(p)),
      ...(v['debug-dir'] ? { debugDirs: v['debug-dir'].map((d) => resolve(d)) } : {}),
      debuginfod: v['no-debuginfod'] !== true,
    });
    for (const w of r.refused) io.err(`warning: ${w}`);
    if (!r.found?.info.dwarf) return null;
    io.err(`${binary}: DWARF from ${r.found.path} (${r.found.source})`);
    return { path: r.found.path, ask: (file, reqs) => askDwarf(tracer, file, reqs) };
  };
  try {
    const got = await resolveDwarfStages(stages, (file, reqs) => askDwarfOn(t, tracerOnTarget, file, reqs), findDebug);
    return stages.map((st) => {
      const r = got.get(st.name)!;
      io.err(r.note);
      return { name: st.name, spec: st.spec, ranges: r.ranges };
    });
  } catch (e) {
    if (e instanceof DwarfStageError || e instanceof DwarfHelperError) throw new UsageError(e.message);
    throw e;
  }
}
