// pktpath record (--pid PID | --kernel) --stage NAME=SPEC ... -o FILE
// Checks everything it can before starting, prints progress on stderr, stops on --duration or
// Ctrl-C (a second Ctrl-C stops harder), and saves the session whatever happened to the tracer or
// the connection; the exit status says whether the recording was whole.
import { parseArgs } from 'node:util';
import { openTransport } from '../remote/open.ts';
import type { Transport } from '../remote/transport.ts';
import { formatNs } from '../core/report.ts';
import type { Session } from '../core/session.ts';
import { recordSession, tracerArgs, RecordError, tracerOnHost, type RecordOptions } from '../tracer/record-session.ts';
import { SAMPLED_NEEDS_STAGE, SpecError } from '../tracer/spec.ts';
import type { SampledStageOption } from '../tracer/sampled.ts';
import { EXIT_ENDED, EXIT_FAIL, EXIT_OK, UsageError, intFlag, numFlag, type Io } from './common.ts';
import { SYMBOL_OPTIONS, SYMBOL_USAGE, symbolizeForCli, type SymbolValues } from './symbol-options.ts';
import { checkOutputFile, saveOrRescue } from './output-file.ts';
import { resolveSampledDwarfStages, splitDwarfStages } from './dwarf-stages.ts';
import type { DwarfStage } from '../symbols/stage-ranges.ts';
import { resolveDpdk, restoreSpecs, splitStages, type ResolvedDpdk } from './auto-stages.ts';

export const RECORD_USAGE = `pktpath record (--pid PID | --kernel) --stage NAME=SPEC ... -o FILE
    [--sample-hz N] [--duration SEC] [--interval-ms N] [--no-calibrate] [--recalibrate-s SEC] [--max-overhead PCT]
    [--no-relocate]  (time a single-stepped site from its first byte, single-step included)
    [--force-unchecked-offsets]  (probe a uprobe:BIN:0xADDR that cannot be checked to start an instruction)
    [--netns NAME|PATH|INODE]  (skb-keyed tracepoint stages count only that namespace's packets)
    [--mode exact|sampled] [--packets-from dev:IFACE[:rx|tx][@NETNS]|dpdk:SOCKET[:PORT][:rx|tx]|graph:NODE]
    [--auto-stages]  (a DPDK target: one stage per rte_graph node, else ethdev rx/tx per port
                      and the functions a 1 s sample shows between them)
    [--no-bpf]  (sampled mode: sample through perf rings, as the tracer does where BPF is not permitted)
    [--unwind dwarf|fp] [--stack-bytes N]  (sampled stacks: DWARF CFI over N bytes of stack copied per sample
        (default dwarf, 8192), or frame pointers and a stack scan)
    [--host H] [--ssh-config FILE] [--accept-new-host-key] [--tracer PATH]
    ${SYMBOL_USAGE}
  SPEC: uprobe:BINARY:SYMBOL[:packets=ret|argN] | uprobe:BINARY:0xOFFSET[:packets=...]
        | usdt:BINARY:PROVIDER:NAME[:packets=argN] | tracepoint:CATEGORY:NAME | kprobe:FUNC | fentry:FUNC
        | inline:BINARY:FUNC | lines:BINARY:FILE:FIRST-LAST  (sampled mode only; from the binary's DWARF or its debug file)
        | graph:NODE | ethdev:rx:PORT | ethdev:tx:PORT  (DPDK, read from the live process)`;

const OPTIONS = {
  pid: { type: 'string' },
  kernel: { type: 'boolean' },
  stage: { type: 'string', multiple: true },
  'sample-hz': { type: 'string' },
  duration: { type: 'string' },
  'interval-ms': { type: 'string' },
  'no-calibrate': { type: 'boolean' },
  'no-relocate': { type: 'boolean' },
  'force-unchecked-offsets': { type: 'boolean' },
  'recalibrate-s': { type: 'string' },
  'max-overhead': { type: 'string' },
  netns: { type: 'string' },
  mode: { type: 'string' },
  'no-bpf': { type: 'boolean' },
  unwind: { type: 'string' },
  'stack-bytes': { type: 'string' },
  'packets-from': { type: 'string' },
  'auto-stages': { type: 'boolean' },
  host: { type: 'string' },
  'ssh-config': { type: 'string' },
  'accept-new-host-key': { type: 'boolean' },
  tracer: { type: 'string' },
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  ...SYMBOL_OPTIONS,
} as const;

/**
 * One progress line per interval: the packet rate as the stages count packets, and the stage with
 * the most ns per packet in that interval (corrected by its calibrated probe cost per call when
 * there is one). A packets=ret|argN stage counts the packets each call handled; a packets=one
 * stage counts its calls, which for a poll loop are not packets: then the rate says calls/s.
 */
export function progressLine(s: Session): string {
  let counted: { name: string; rate: number } | null = null;
  let called: { name: string; rate: number } | null = null;
  let slowest: { name: string; nspp: number; corrected: boolean } | null = null;
  for (const st of s.stages) {
    const p = st.timeline[st.timeline.length - 1];
    const prev = st.timeline[st.timeline.length - 2];
    if (!p) continue;
    const dt = p.t_s - (prev?.t_s ?? 0) || s.interval_ms / 1000;
    const rate = p.packets / dt;
    if (st.packets_from !== 'one') {
      if (!counted || rate > counted.rate) counted = { name: st.name, rate };
    } else if (!called || rate > called.rate) {
      called = { name: st.name, rate };
    }
    if (p.packets > 0 && p.sum_ns > 0) {
      const inner = st.calibration?.inner_ns ?? 0;
      const nspp = Math.max(0, p.sum_ns - inner * p.calls) / p.packets;
      if (!slowest || nspp > slowest.nspp) slowest = { name: st.name, nspp, corrected: st.calibration !== null };
    }
  }
  const si = (n: number, unit: string) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M${unit}` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k${unit}` : `${Math.round(n)} ${unit}`);
  const rate = counted ? `  ${si(counted.rate, 'pps')} (${counted.name})` : called ? `  ${si(called.rate, 'calls/s')} (${called.name}, one packet per call)` : '';
  const slow = slowest ? `slowest ${slowest.name} ${formatNs(slowest.nspp)}/pkt${slowest.corrected ? '' : ' (raw)'}` : 'no packets this interval';
  return `  ${s.duration_s.toFixed(1)} s${rate}  ${slow}${s.samples ? `  ${s.samples} samples` : ''}`;
}

export async function recordCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const out = values.output;
  if (!out) throw new UsageError('-o FILE is required (where to save the session, e.g. run.pktpath.json)');
  checkOutputFile(out); // before anything attaches: a recording must have somewhere to go
  const mode = values.mode ?? 'exact';
  if (mode !== 'exact' && mode !== 'sampled') throw new UsageError(`--mode must be exact or sampled, not ${JSON.stringify(mode)}`);
  const pidText = values.pid;
  if (pidText !== undefined && !/^\d+$/.test(pidText)) throw new UsageError(`--pid expects a process id, got ${JSON.stringify(pidText)}`);
  const split = splitDwarfStages(values.stage ?? [], mode); // inline:/lines: are sampled mode's, resolved below
  const opts: RecordOptions = {
    stages: split.plain,
    ...(pidText !== undefined ? { pid: Number(pidText) } : {}),
    ...(values.kernel ? { kernel: true } : {}),
  };
  const hz = intFlag('--sample-hz', values['sample-hz']);
  if (hz !== undefined) opts.sampleHz = hz;
  const dur = numFlag('--duration', values.duration);
  if (dur !== undefined) opts.durationS = dur;
  const iv = intFlag('--interval-ms', values['interval-ms']);
  if (iv !== undefined) opts.intervalMs = iv;
  if (values['no-calibrate']) opts.calibrate = false;
  if (values['no-relocate']) opts.relocate = false;
  if (values['force-unchecked-offsets']) opts.forceUncheckedOffsets = true;
  const rc = numFlag('--recalibrate-s', values['recalibrate-s']);
  if (rc !== undefined) opts.recalibrateS = rc;
  const mo = numFlag('--max-overhead', values['max-overhead']);
  if (mo !== undefined) opts.maxOverheadPct = mo;
  if (values.tracer !== undefined) opts.tracer = values.tracer;
  if (values.netns !== undefined) opts.netns = values.netns;
  if (values.unwind !== undefined) {
    if (values.unwind !== 'dwarf' && values.unwind !== 'fp') throw new UsageError(`--unwind must be dwarf or fp, not ${JSON.stringify(values.unwind)}`);
    opts.unwind = values.unwind;
  }
  const sb = intFlag('--stack-bytes', values['stack-bytes']);
  if (sb !== undefined) opts.stackBytes = sb;
  const auto = values['auto-stages'] === true;
  let ds;
  try {
    ds = splitStages(split.plain);
    opts.stages = ds.plain;
    // inline:/lines: and DPDK stages are resolved once the target is reached; until then only the rest is checked
    const later = split.dwarf.length > 0 || ds.dpdk.length > 0 || auto;
    if (mode === 'sampled' && ds.plain.length === 0 && !later) throw new UsageError(SAMPLED_NEEDS_STAGE);
    tracerArgs(later && opts.sampleHz === undefined ? { ...opts, sampleHz: 999 } : opts); // every flag and spec checked before a connection or a process exists
  } catch (e) {
    if (e instanceof SpecError || e instanceof RecordError) throw new UsageError(e.message);
    throw e;
  }
  if ((ds.dpdk.length > 0 || auto) && opts.pid === undefined) throw new UsageError('graph:, ethdev: stages and --auto-stages need --pid PID (the DPDK process)');
  if (values['no-bpf'] && mode !== 'sampled') throw new UsageError('--no-bpf is for --mode sampled: stage probes need BPF');
  if (mode === 'sampled') {
    if (!values['packets-from']) throw new UsageError('--mode sampled needs --packets-from (the packet counter to divide by)');
    if (opts.durationS === undefined) throw new UsageError('--mode sampled needs --duration SEC');
    if (opts.pid === undefined) throw new UsageError('--mode sampled needs --pid PID');
  }

  const t = await openTransport({
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['ssh-config'] !== undefined ? { sshConfig: values['ssh-config'] } : {}),
    ...(values['accept-new-host-key'] ? { acceptNewHostKey: true } : {}),
  });
  const abort = new AbortController();
  const kill = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.err('stopping: waiting for the tracer to detach (Ctrl-C again to stop harder)');
      abort.abort();
    } else if (interrupts === 2) {
      io.err('stopping harder: terminating the tracer; what arrived is still saved');
      kill.abort();
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    let dpdk: ResolvedDpdk | null = null;
    if (ds.dpdk.length > 0 || auto) {
      try {
        const tracer = await tracerOnHost(t, opts.tracer);
        const taken = new Set(ds.plain.map((a) => a.slice(0, a.indexOf('='))));
        // the pre-sample's inline frames (sampled mode's inline: stages) are named here, as the session's are
        const symbolize = (s: Session): Promise<Session> => symbolizeForCli(s, values, io, {
          ...(values.host === undefined && values.tracer !== undefined ? { tracer: values.tracer } : {}), quiet: true,
        });
        dpdk = await resolveDpdk(t, tracer.path, opts.pid!, ds.dpdk, auto, mode, taken, io, opts.tracer, symbolize);
      } catch (e) {
        if (e instanceof SpecError) throw new UsageError(e.message);
        throw e;
      }
      opts.stages = [...ds.plain, ...dpdk.exact];
    }
    const recorded = mode === 'sampled'
      ? await recordSampledMode(t, opts, values['packets-from']!, abort.signal, io, values['no-bpf'] === true, { dwarf: split.dwarf, order: values.stage ?? [], symbols: values, byRange: dpdk?.sampled ?? [], found: dpdk?.dwarf ?? [] })
      : await recordExact(t, { ...opts, killSignal: kill.signal }, abort.signal, io, values.quiet === true);
    if (typeof recorded === 'number') return recorded;
    const shown = dpdk ? restoreSpecs(recorded, dpdk.original) : recorded;
    // named here, where the debug files are (the tracer on the target names what its files say)
    const session = await symbolizeForCli(shown, values, io, {
      ...(values.host === undefined && values.tracer !== undefined ? { tracer: values.tracer } : {}),
      quiet: values.quiet === true,
    });
    const saved = await saveOrRescue(out, session, io);
    if (saved.fallback) return EXIT_FAIL;
    io.err(`saved ${out}${session.partial ? ` (PARTIAL: ${session.partial_reason})` : ''}`);
    if (session.partial) {
      io.err(`recording ended early${session.end_reason ? ` (${session.end_reason})` : ''}: ${session.partial_reason ?? 'no reason given'}`);
      return EXIT_ENDED;
    }
    return (session.errors?.length ?? 0) > 0 ? EXIT_FAIL : EXIT_OK;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await t.close();
  }
}

/** The session, or the exit status when there is nothing to save. */
async function recordExact(t: Transport, opts: RecordOptions, signal: AbortSignal, io: Io, quiet: boolean): Promise<Session | number> {
  let sawHello = false;
  const stageNames = new Map<number, string>();
  const s = await recordSession(t, { ...opts, signal }, {
    onHello: (h) => {
      sawHello = true;
      if (!quiet) io.err(`tracer ${h.tracer} on ${t.host} (kernel ${h.kernel}, ${h.arch})`);
    },
    onStage: (st) => {
      stageNames.set(st.id, st.name);
      if (!st.ok) io.err(`stage ${st.name}: NOT attached: ${st.error ?? 'no reason given'}`);
      else if (!quiet) io.err(`stage ${st.name}: attached ${st.spec}${st.first_insn ? ` (first instruction: ${st.first_insn})` : ''}`);
      if (st.warning) io.err(`stage ${st.name}: warning: ${st.warning}`);
    },
    onRecord: (r) => {
      if (r.type === 'calibration' && r.seq === undefined && !quiet) { // recalibrations: in the session only
        io.err(`  calibrated ${stageNames.get(r.stage) ?? `stage ${r.stage}`}: probes add ${formatNs(r.inner_ns)} ±${formatNs(r.inner_spread_ns)} per call (${r.class})`);
      }
    },
    onReady: () => io.err(`ready: counting${opts.durationS ? ` for ${opts.durationS} s` : ' until Ctrl-C'}`),
    onSnapshot: (snap) => {
      if (!quiet) io.err(progressLine(snap));
    },
    onWarning: (m) => io.err(`warning: ${m}`),
    onError: (m) => io.err(`error: ${m}`),
  });
  if (!sawHello && s.stages.length === 0) {
    io.err(`error: the tracer produced no data${s.errors?.length ? `: ${s.errors.join('; ')}` : ''}; nothing saved`);
    return EXIT_FAIL;
  }
  const measured = s.samples > 0 || s.stages.some((st) => st.timeline.length > 0 || st.calls > 0);
  if (s.end_reason === 'target_invalid' || (s.end_reason === 'target_exit' && !measured)) {
    const why = s.partial_reason ?? 'the target is gone';
    io.err(s.errors?.includes(why) ? 'nothing recorded, no session saved' : `error: ${why}; nothing recorded, no session saved`);
    return EXIT_ENDED;
  }
  if (!measured) {
    io.err('error: nothing was recorded (the tracer stopped before its first interval); no session saved');
    return EXIT_FAIL;
  }
  return s;
}

async function recordSampledMode(
  t: Transport, opts: RecordOptions, packetsFrom: string, signal: AbortSignal, io: Io, noBpf: boolean,
  d: { dwarf: DwarfStage[]; order: string[]; symbols: SymbolValues; byRange: SampledStageOption[]; found: DwarfStage[] },
): Promise<Session> {
  // Sampled mode's module; loaded lazily so exact mode never depends on it.
  let mod: typeof import('../tracer/sampled.ts');
  let counters: typeof import('../tracer/counters.ts');
  try {
    mod = await import('../tracer/sampled.ts');
    counters = await import('../tracer/counters.ts');
  } catch (e) {
    throw new UsageError(`--mode sampled is not available in this build (${(e as Error).message})`);
  }
  let packets;
  try {
    packets = counters.parseCounterSource(packetsFrom);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const tracer = await tracerOnHost(t, opts.tracer);
  if (packets.kind === 'graph') packets = { ...packets, pid: opts.pid!, tracer: tracer.path };
  const stages: SampledStageOption[] = opts.stages.map((s) => {
    const text = typeof s === 'string' ? s : `${s.name}=${s.spec}`;
    const eq = text.indexOf('=');
    return { name: text.slice(0, eq), spec: text.slice(eq + 1) };
  });
  const byName = new Map([...stages, ...(await resolveSampledDwarfStages(t, tracer.path, d.dwarf, d.symbols, io)), ...d.byRange].map((s) => [s.name, s]));
  const ordered = d.order.map((text) => byName.get(text.slice(0, text.indexOf('='))) ?? byName.get(text)).filter((s) => s !== undefined);
  for (const s of d.byRange) if (!ordered.includes(s)) ordered.push(s); // --auto-stages: in the order found
  // --auto-stages' inline: stages, after them; one that does not resolve is left out, not fatal
  for (const st of d.found) {
    try {
      ordered.push(...(await resolveSampledDwarfStages(t, tracer.path, [st], d.symbols, io)));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.err(`auto-stages: path: ${st.name}=${st.spec} left out: ${e.message}`);
    }
  }
  io.err(`sampled mode: ${opts.sampleHz ?? 999} Hz for ${opts.durationS} s, packets from ${packetsFrom}`);
  return mod.recordSampled(
    t,
    {
      tracer: tracer.path,
      root: tracer.root,
      pid: opts.pid!,
      stages: ordered,
      packets,
      durationS: opts.durationS!,
      ...(opts.sampleHz !== undefined ? { sampleHz: opts.sampleHz } : {}),
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
      ...(noBpf ? { noBpf: true } : {}),
      ...(opts.unwind !== undefined ? { unwind: opts.unwind } : {}),
      ...(opts.stackBytes !== undefined ? { stackBytes: opts.stackBytes } : {}),
    },
    { signal, onTick: (seq, n) => io.err(`  interval ${seq}: ${n} samples`), onWarning: (m) => io.err(`warning: ${m}`) },
  );
}
