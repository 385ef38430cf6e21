// Sampled-mode recording (`pktpath record --mode sampled`): runs the tracer with --sample-hz only
// (no stage probes, so the forwarder pays only for the sampling interrupts), reads packet counters
// at the first and the last interval, and stores the stage functions' sample counts in the session.
//
// Packets in the sampling window are the counter's rate between its two reads times the window
// (the sum of the tracer's interval lengths): the reads happen a few milliseconds away from the
// interval boundaries (one exec over the transport), so a rate is the honest common ground.
import { StreamDecoder } from './decoder.ts';
import type { StreamRecord } from './protocol.ts';
import type { Transport } from '../remote/transport.ts';
import { attributeSamples, describeSampleShift, sampleShiftBound, sampledCpuCheck, type AddressRange, type SampledStageSpec } from '../core/sampled.ts';
import { SESSION_FORMAT, SESSION_VERSION, type Frame, type SampledMeasurement, type SampledPollKind, type SampledStage, type Session, type StackSample, type TracerInfo } from '../core/session.ts';
import { containingFunction, elfFunctions } from '../core/elf-symbols.ts';
import { describeSource, readCounter, type CounterReading, type CounterSource } from './counters.ts';
import { SAMPLED_NEEDS_STAGE } from './spec.ts';
import { queryDpdk } from './dpdk-query.ts';

export interface SampledStageOption {
  name: string;
  /** The stage's spec as for exact mode: uprobe:BINARY:SYMBOL, or uprobe:BINARY:0xADDR (the function holding it). */
  spec: string;
  /** The stage's code by address, resolved before recording: inline:/lines: stages from DWARF
   * (src/symbols/stage-ranges.ts), DPDK graph nodes and ethdev functions (dpdk-stages.ts). */
  ranges?: AddressRange[];
  /** A poll function (DPDK rx burst, rte_graph source node): its samples include idle polling (dpdk-stages.ts). */
  poll?: SampledPollKind;
  /** rte_graph nodes (struct rte_node addresses) running the stage's function: their counters are read with the packets. */
  graphNodes?: string[];
}

export interface SampledOptions {
  tracer: string; // path of pktpath-tracer on the target host
  /** Run it as root (directly or through sudo); false when its capabilities suffice. Default true. */
  root?: boolean;
  pid: number;
  stages: SampledStageOption[];
  packets: CounterSource;
  sampleHz?: number; // default 999
  durationS: number;
  intervalMs?: number; // default 1000
  /** Sample through perf rings read by the tracer instead of BPF (tracer --no-bpf); it does so by itself where
   * BPF is not permitted. */
  noBpf?: boolean;
  /** How user stacks are found (tracer --unwind; the tracer's default: dwarf) and the stack copied per sample. */
  unwind?: 'dwarf' | 'fp';
  stackBytes?: number;
}

export interface SampledCallbacks {
  /** Each closed interval: its number and the samples it held. */
  onTick?(seq: number, samples: number): void;
  onWarning?(message: string): void;
  /** Aborts the recording early; what was measured up to then is kept (partial session). */
  signal?: AbortSignal;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** The function a stage names, for matching on stacks; null for an offset (resolved by sampledStageOf). */
export function stageFunctionOf(o: SampledStageOption): SampledStageSpec {
  if (o.ranges && o.ranges.length > 0) return { name: o.name, symbol: o.spec, module: basename(o.ranges[0]!.module), ranges: o.ranges };
  const parts = o.spec.split(':');
  if (parts[0] === 'uprobe' && parts.length >= 3) {
    const binary = parts[1]!;
    const symbol = parts[2]!;
    if (binary === '' || symbol === '') throw new Error(`stage ${o.name}: bad spec ${o.spec}`);
    if (/^0x[0-9a-f]+$/i.test(symbol)) {
      throw new Error(`stage ${o.name}: ${o.spec} gives an address: its function's range comes from the binary (sampledStageOf)`);
    }
    return { name: o.name, symbol, module: basename(binary) };
  }
  if ((parts[0] === 'kprobe' || parts[0] === 'fentry') && parts[1]) return { name: o.name, symbol: parts[1], module: null };
  throw new Error(`stage ${o.name}: sampled mode attributes samples to functions; ${o.spec} is not uprobe:BINARY:SYMBOL|0xADDR`);
}

/**
 * A stage as sampled mode matches it. An address (`uprobe:BIN:0xADDR`) stands for the function that
 * holds it: its symbol's range [start, start + size) in the binary, read from the target host, and
 * its `.cold` part's.
 */
export async function sampledStageOf(t: Transport, o: SampledStageOption): Promise<SampledStageSpec> {
  const parts = o.spec.split(':');
  if (!(parts[0] === 'uprobe' && parts.length >= 3 && /^0x[0-9a-f]+$/i.test(parts[2]!))) return stageFunctionOf(o);
  const binary = parts[1]!;
  const addr = parseInt(parts[2]!, 16);
  let fns;
  try {
    fns = elfFunctions(await t.readFile(binary));
  } catch (e) {
    throw new Error(`stage ${o.name}: cannot read the symbols of ${binary}: ${(e as Error).message}`);
  }
  const f = containingFunction(fns, addr);
  if (!f || f.size === 0) {
    throw new Error(
      `stage ${o.name}: no function symbol of ${binary} covers 0x${addr.toString(16)} with a size: sampled mode needs the ` +
        'function\'s range (give the function by name, or its start in a binary with symbols)',
    );
  }
  // the function's split-off cold part is its code too (name matching counts it the same way)
  const cold = fns.filter((c) => c.name === `${f.name}.cold` && c.size > 0);
  const ranges = [f, ...cold].map((c) => ({ module: binary, lo: c.start, hi: c.start + c.size }));
  return { name: o.name, symbol: f.name, module: basename(binary), ranges };
}

/** rte_graph counters by node address. */
type GraphCounts = Map<string, { calls: number; objs: number; cycles: number }>;

async function readGraphNodes(t: Transport, tracer: string, pid: number, addrs: readonly string[]): Promise<GraphCounts> {
  const q = await queryDpdk(t, tracer, pid, addrs);
  return new Map(q.nodes.map((n) => [n.addr, { calls: n.calls, objs: n.objs, cycles: n.cycles }]));
}

/** The stage as stored: with what makes it a poll function, and its nodes' rte_graph counters over the counter window
 * when both reads found every node (a node missing from either read would make the sum a different set of nodes). */
export function withPoll(s: SampledStage, o: SampledStageOption, g0: GraphCounts | null, g1: GraphCounts | null): SampledStage {
  const out: SampledStage = { ...s, ...(o.poll ? { poll: true, poll_by: o.poll } : {}) };
  const nodes = o.graphNodes ?? [];
  if (nodes.length === 0 || !g0 || !g1 || !nodes.every((a) => g0.has(a) && g1.has(a))) return out;
  const sum = { calls: 0, objs: 0, cycles: 0 };
  for (const a of nodes) {
    const x = g0.get(a)!;
    const y = g1.get(a)!;
    // a counter that went backwards is a reset or another graph at that address: no honest delta
    if (y.calls < x.calls || y.objs < x.objs || y.cycles < x.cycles) return out;
    sum.calls += y.calls - x.calls;
    sum.objs += y.objs - x.objs;
    sum.cycles += y.cycles - x.cycles;
  }
  return { ...out, graph_counters: sum };
}

export async function recordSampled(t: Transport, opts: SampledOptions, cb: SampledCallbacks = {}): Promise<Session> {
  const hz = opts.sampleHz ?? 999;
  const intervalMs = opts.intervalMs ?? 1000;
  if (!Number.isSafeInteger(opts.pid) || opts.pid <= 0) throw new Error(`sampled mode needs a process id, got ${opts.pid}`);
  if (!Number.isInteger(hz) || hz < 1 || hz > 100000) throw new Error(`--sample-hz must be 1..100000, got ${hz}`);
  if (!(opts.durationS > 0)) throw new Error(`--duration must be > 0 s, got ${opts.durationS}`);
  if (opts.stages.length === 0) throw new Error(SAMPLED_NEEDS_STAGE);
  const specs: SampledStageSpec[] = [];
  for (const o of opts.stages) specs.push(await sampledStageOf(t, o));
  // Fail before tracing when the counter cannot be read at all.
  await readCounter(t, opts.packets);

  const argv = [
    opts.tracer, '--pid', String(opts.pid), '--sample-hz', String(hz),
    '--interval-ms', String(intervalMs), '--duration', String(opts.durationS),
    ...(opts.noBpf ? ['--no-bpf'] : []),
    ...(opts.unwind ? ['--unwind', opts.unwind] : []),
    ...(opts.stackBytes !== undefined ? ['--stack-bytes', String(opts.stackBytes)] : []),
  ];
  const cmd = t.run(argv, { root: opts.root ?? true });
  const decoder = new StreamDecoder();
  const frames = new Map<number, Frame>();
  const stacks = new Map<string, StackSample>();
  const warnings: string[] = [];
  const errors: string[] = [];
  let hello: Extract<StreamRecord, { type: 'hello' }> | null = null;
  let fatal: string | null = null;
  let endReason: string | null = null;
  let endMessage: string | null = null; // the bye's words (target_exit, target_invalid)
  let windowNs = 0;
  let lost = 0;
  // null once a window tick lacks them (an older tracer): then they stay out of the session
  let cpuNs: number | null = 0;
  let schedNs: number | null = 0;
  let slices: number | null = 0;
  let lateNsSum = 0;
  let lateSamples = 0;
  let runNsSum = 0;
  let runSamples = 0;
  let first: Promise<CounterReading> | null = null;
  let last: Promise<CounterReading> | null = null;
  // rte_graph's counters of the graph: stages' nodes, read beside the packet counter (null: that read failed)
  const graphAddrs = [...new Set(opts.stages.flatMap((o) => o.graphNodes ?? []))];
  let graphFirst: Promise<GraphCounts | null> | null = null;
  let graphLast: Promise<GraphCounts | null> | null = null;
  let graphWarned = false;
  const readGraph = (): Promise<GraphCounts | null> | null =>
    graphAddrs.length === 0 ? null : readGraphNodes(t, opts.tracer, opts.pid, graphAddrs).catch((e: unknown) => {
      // read at every interval: say it once
      if (!graphWarned) warn(`rte_graph counters of the stages' nodes not read: ${(e as Error).message}`);
      graphWarned = true;
      return null;
    });
  const drops: Record<string, number> = {};

  const warn = (m: string): void => {
    warnings.push(m);
    cb.onWarning?.(m);
  };

  const onRecord = (r: StreamRecord): void => {
    switch (r.type) {
      case 'hello':
        hello = r;
        break;
      case 'frame': {
        const f: Frame = { id: r.id, fn: r.fn, off: r.off, module: r.module, build_id: r.build_id, addr: r.addr, kernel: r.kernel };
        if (r.elf_addr !== undefined) f.elf_addr = r.elf_addr;
        if (r.named_by !== undefined) f.named_by = r.named_by;
        frames.set(r.id, f);
        break;
      }
      case 'stack': {
        const key = `${r.frames.join(',')}/${r.found ?? ''}`;
        const s = stacks.get(key);
        if (s) s.count += r.count;
        else stacks.set(key, { frames: [...r.frames], count: r.count, ...(r.found !== undefined ? { found: r.found } : {}) });
        break;
      }
      case 'tick':
        // The counter is read at the close of the first and of every later interval; the last
        // read that completes before the end is the one used.
        if (first === null) {
          first = readCounter(t, opts.packets);
          graphFirst = readGraph();
        } else {
          last = readCounter(t, opts.packets);
          graphLast = readGraph();
        }
        if (first !== null && last !== null) {
          windowNs += r.dt_ns;
          lost += r.lost;
          cpuNs = cpuNs !== null && r.cpu_ns !== undefined ? cpuNs + r.cpu_ns : null;
          schedNs = schedNs !== null && r.sched_ns !== undefined ? schedNs + r.sched_ns : null;
          slices = slices !== null && r.slices !== undefined ? slices + r.slices : null;
          if (r.timer_late_ns !== undefined) {
            lateNsSum += r.timer_late_ns * r.samples;
            lateSamples += r.samples;
          }
          if (r.sample_run_ns !== undefined) {
            runNsSum += r.sample_run_ns * r.samples;
            runSamples += r.samples;
          }
        }
        cb.onTick?.(r.seq, r.samples);
        break;
      case 'drop':
        drops[r.what] = (drops[r.what] ?? 0) + r.count;
        break;
      case 'warning':
        warn(r.message);
        break;
      case 'error':
        errors.push(r.message);
        if (r.fatal) fatal = r.message + (r.missing.length ? ` (missing: ${r.missing.join(', ')})` : '');
        break;
      case 'bye':
        endReason = r.reason;
        endMessage = r.message ?? null;
        break;
      default:
        break;
    }
  };

  // Only intervals after the first tick count: samples and packets then cover the same intervals.
  // Stacks of the first interval are subtracted again below by keeping them apart.
  let firstIntervalStacks: Map<string, StackSample> | null = null;
  const consume = (chunk: Buffer | string, end = false): void => {
    const events = end ? decoder.end() : decoder.push(chunk);
    for (const e of events) {
      if (e.kind === 'record') {
        const wasFirst = first === null;
        onRecord(e.record);
        if (wasFirst && first !== null && firstIntervalStacks === null) {
          firstIntervalStacks = new Map([...stacks].map(([k, v]) => [k, { ...v }]));
        }
      } else if (e.kind === 'warning') warn(e.error.toString());
      else fatal = e.error.toString();
    }
  };
  cmd.stdout.on('data', (b: Buffer) => consume(b));
  let stderr = '';
  cmd.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString('utf8');
  });
  const onAbort = (): void => {
    cmd.stdin.end();
  };
  cb.signal?.addEventListener('abort', onAbort, { once: true });
  const status = await cmd.exit;
  cb.signal?.removeEventListener('abort', onAbort);
  consume('', true);

  if (fatal !== null && frames.size === 0) throw new Error(`tracer: ${fatal}`);
  if (hello === null) {
    throw new Error(`the tracer did not start: ${stderr.trim().split('\n').slice(-3).join(' / ') || `exit ${status.code ?? status.signal}`}`);
  }
  if (first === null || last === null) {
    throw new Error(`sampled mode needs at least two intervals (got ${first === null ? 0 : 1}): record longer than ${(2 * intervalMs) / 1000} s`);
  }
  const c0 = await (first as Promise<CounterReading>);
  const c1 = await (last as Promise<CounterReading>);
  const counterWindowS = (c1.at_ms - c0.at_ms) / 1000;
  const counterPackets = c1.packets - c0.packets;
  if (counterPackets < 0) throw new Error(`${describeSource(opts.packets)} went backwards (${c0.packets} → ${c1.packets}): was it reset?`);
  const windowS = windowNs / 1e9;
  const packets = counterWindowS > 0 ? Math.round((counterPackets / counterWindowS) * windowS) : 0;

  // Samples of the first interval came before the first counter read: leave them out.
  const inWindow: StackSample[] = [];
  for (const [k, v] of stacks) {
    const before = (firstIntervalStacks as Map<string, StackSample> | null)?.get(k)?.count ?? 0;
    if (v.count - before > 0) inWindow.push({ ...v, count: v.count - before });
  }
  const frameList = [...frames.values()];
  const attributed = attributeSamples(frameList, inWindow, specs);
  const g0 = graphFirst ? await (graphFirst as Promise<GraphCounts | null>) : null;
  const g1 = graphLast ? await (graphLast as Promise<GraphCounts | null>) : null;
  if (packets === 0) warn(`${describeSource(opts.packets)} counted no packets while sampling: ns per packet cannot be given`);
  const clocks: Pick<SampledMeasurement, 'cpu_s' | 'sched_s' | 'slices' | 'timer_late_ns' | 'sample_run_ns'> = {};
  if (cpuNs !== null && schedNs !== null && windowNs > 0) {
    clocks.cpu_s = cpuNs / 1e9;
    clocks.sched_s = schedNs / 1e9;
    if (slices !== null) clocks.slices = slices;
  }
  if (lateSamples > 0) clocks.timer_late_ns = lateNsSum / lateSamples;
  if (runSamples > 0) clocks.sample_run_ns = runNsSum / runSamples;
  const cpu = sampledCpuCheck(attributed.samples, hz, clocks.cpu_s);
  if (cpu.warning) warn(cpu.warning);
  const shift = sampleShiftBound(clocks);
  // the bound is loose (measured displacements were about half of it): warn where it could pass 10%
  if (shift !== null && shift > 0.2) warn(describeSampleShift(clocks, shift));

  const h = hello as Extract<StreamRecord, { type: 'hello' }>;
  const tracer: TracerInfo = {
    stream_version: h.version, version: h.tracer, kernel: h.kernel, arch: h.arch, features: h.features, missing: h.missing,
  };
  const partial = fatal !== null || (endReason !== null && endReason !== 'duration');
  return {
    format: SESSION_FORMAT,
    version: SESSION_VERSION,
    created: new Date().toISOString(),
    partial,
    partial_reason: partial ? (fatal ?? endMessage ?? `tracer ended: ${endReason}`) : null,
    target: { host: t.host, pid: opts.pid, kernel: false, command: null, binary: null, build_id: null },
    tracer,
    duration_s: windowS,
    interval_ms: intervalMs,
    sample_hz: hz,
    hist: { sub_bits: h.hist.sub_bits, max_pow: h.hist.max_pow },
    stages: [],
    frames: frameList,
    stacks: inWindow,
    samples: attributed.samples,
    lost_samples: lost,
    drops,
    warnings,
    errors,
    end_reason: endReason,
    sampled: {
      sample_hz: hz,
      samples: attributed.samples,
      unattributed: attributed.unattributed,
      window_s: windowS,
      packets,
      packets_source: describeSource(opts.packets),
      counter_packets: counterPackets,
      counter_window_s: counterWindowS,
      stages: attributed.stages.map((s, i) => withPoll({ ...s, spec: opts.stages[i]!.spec }, opts.stages[i]!, g0, g1)),
      ...clocks,
    },
  };
}
