// A sampled-mode recording from the editor (Profile Selection as a Stage; Attach's DPDK stages):
// inline: and lines: stages resolved to address ranges on the target, DPDK stages already resolved
// by Attach, then `recordSampled` — the CLI's `record --mode sampled` path, with the editor's
// debug-file settings for stripped binaries.
import * as vscode from 'vscode';
import type { Transport } from '../remote/transport.ts';
import type { Session } from '../core/session.ts';
import { tracerOnHost } from '../tracer/record-session.ts';
import { parseCounterSource } from '../tracer/counters.ts';
import { recordSampled, type SampledStageOption } from '../tracer/sampled.ts';
import { resolveSampledDwarfStages, splitDwarfStages } from '../cli/dwarf-stages.ts';
import { settings } from './settings.ts';
import type { Log } from './log.ts';

export interface SampledRequest {
  pid: number;
  stages: string[]; // NAME=SPEC
  packetsFrom: string; // dev:IFACE[:rx|tx][@NETNS] | dpdk:SOCKET[:PORT][:rx|tx] | graph:NODE
  /** Stages resolved to address ranges before (DPDK graph nodes and ethdev functions), after `stages`. */
  byRange?: SampledStageOption[];
  durationS: number;
  sampleHz: number;
}

export async function recordSampledFromEditor(t: Transport, req: SampledRequest, signal: AbortSignal, log: Log): Promise<Session> {
  const cfg = settings();
  const c = vscode.workspace.getConfiguration('pktpath');
  const tracer = await tracerOnHost(t, cfg.tracerPath || undefined);
  const split = splitDwarfStages(req.stages, 'sampled');
  const dirs = c.get<unknown>('debugDirectories');
  const io = { out: (m: string) => log.appendLine(m), err: (m: string) => log.appendLine(m) };
  const resolved = await resolveSampledDwarfStages(t, tracer.path, split.dwarf, {
    ...(cfg.localBinary ? { 'debug-file': [cfg.localBinary] } : {}),
    ...(Array.isArray(dirs) ? { 'debug-dir': dirs.filter((d): d is string => typeof d === 'string') } : {}),
    ...(c.get<boolean>('debuginfod') === false ? { 'no-debuginfod': true } : {}),
  }, io);
  const plain = split.plain.map((text) => ({ name: text.slice(0, text.indexOf('=')), spec: text.slice(text.indexOf('=') + 1) }));
  let packets = parseCounterSource(req.packetsFrom);
  // rte_graph's counters are read from the target's memory by the tracer on its host
  if (packets.kind === 'graph') packets = { ...packets, pid: req.pid, tracer: tracer.path };
  return recordSampled(t, {
    tracer: tracer.path, root: tracer.root, pid: req.pid, stages: [...plain, ...resolved, ...(req.byRange ?? [])], packets,
    durationS: req.durationS, sampleHz: req.sampleHz, intervalMs: cfg.intervalMs,
  }, { signal, onTick: (seq, n) => log.appendLine(`sampled interval ${seq}: ${n} samples`), onWarning: (m) => log.appendLine(`warning: ${m}`) });
}
