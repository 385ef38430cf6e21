// Accuracy and overhead of pktpath on a target whose stages cost a known time per call
// (test/targets/known_cost.c). Run as root: node --import tsx bench/accuracy.ts [--seconds S]
//
// One target process runs the whole time (SCHED_FIFO, 50% duty cycle, inside its own network
// namespace so that `lo` counts one datagram per loop iteration for sampled mode). On it, one after
// the other: untraced, pktpath exact mode, bpftrace, pktpath --max-overhead 5, pktpath sampled mode,
// untraced again. The target times every call in its loop and reports rates and per-stage costs
// every 250 ms: the truth is that in-loop cost during the two untraced phases; `known_cost truth`
// (short batches in a separate process, before and after) is shown beside it as a cross-check.
//
// Accuracy table: baseline bpftrace (the usual uprobe/uretprobe one-liner). Overhead table:
// baseline untraced. Results also go to bench/results/accuracy-*.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalTransport } from '../src/remote/local.ts';
import { recordSampled } from '../src/tracer/sampled.ts';
import { sampledStageNumbers } from '../src/core/sampled.ts';
import type { StageRow } from '../src/core/report.ts';
import {
  KNOWN_COST, NOP_STAGES, PUSH_STAGES, SS_STAGES, buildKnownCost, inLoopCost, measureTruth, startKnownCost, throughput, type Truth,
} from '../test/helpers/known-cost.ts';
import { ROOT, TRACER, addNetns, bpftraceMeans, buildTracer, delNetns, recordExact } from '../test/helpers/measure.ts';

const argSeconds = process.argv.indexOf('--seconds');
const SECONDS = argSeconds > 0 ? Number(process.argv[argSeconds + 1]) : 5;
const SAMPLE_HZ = 999;
const STAGES = [...PUSH_STAGES, ...SS_STAGES, ...NOP_STAGES];
const ns = `pp${process.pid % 100000}b`;

function pct(v: number, truth: number): string {
  const e = ((v - truth) / truth) * 100;
  return `${e >= 0 ? '+' : ''}${e.toFixed(1)}%`;
}
function n1(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(0);
}
function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (BPF, network namespaces, SCHED_FIFO)');
  buildKnownCost();
  buildTracer();
  console.log(`pktpath accuracy bench: ${KNOWN_COST}, ${SECONDS} s per phase, tracer ${TRACER}`);

  const truthBefore = measureTruth(STAGES);
  addNetns(ns);
  const t = new LocalTransport();
  // Random gaps of 0–10 µs after each stage: with 0–1 µs the loop's phase stayed coherent over tens
  // of 1 ms sampling periods and single stages read 5–10% off in sampled mode.
  const target = await startKnownCost(
    ['run', '--udp-port', '9999', '--report-ms', '250', '--rt', '10', '--duty', '50', '--jitter-ns', '10000'], ns,
  );
  const phases: Array<{ name: string; from: number; to: number }> = [];
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const from = Date.now();
    const r = await fn();
    phases.push({ name, from, to: Date.now() });
    return r;
  };
  const specs = STAGES.map((s) => ({ name: s, spec: `uprobe:${KNOWN_COST}:${s}` }));
  try {
    await phase('untraced', () => sleep(SECONDS * 1000));
    const exact = await phase('pktpath exact (every call)', () => recordExact(target.pid, specs, SECONDS));
    const bpf = await phase('bpftrace uprobe+uretprobe', () => bpftraceMeans(KNOWN_COST, STAGES, SECONDS, target.pid));
    const budget = await phase('pktpath --max-overhead 5', () => recordExact(target.pid, specs, SECONDS, ['--max-overhead', '5']));
    const sampled = await phase(`pktpath sampled (${SAMPLE_HZ} Hz)`, () =>
      recordSampled(t, {
        tracer: TRACER, pid: target.pid, stages: specs, sampleHz: SAMPLE_HZ, durationS: 2 * SECONDS + 1,
        packets: { kind: 'netdev', iface: 'lo', field: 'tx_packets', netns: ns },
      }),
    );
    await phase('untraced (again)', () => sleep(SECONDS * 1000));
    target.stop();
    await target.done;
    const truthAfter = measureTruth(STAGES);

    // Rate lines inside a phase (its first 300 ms left out: attaching and detaching take time).
    const rateIn = (p: { from: number; to: number }): number => throughput(target.rates, p.from + 300, p.to);
    const inLoop = (p: { from: number; to: number }, stage: string): number => inLoopCost(target.rates, stage, [[p.from + 300, p.to]]);
    const untraced = [phases[0]!, phases[5]!];
    const exactPhase = phases[1]!;
    const bpfPhase = phases[2]!;

    // ---- accuracy -------------------------------------------------------------------------------
    const sampledNums = sampledStageNumbers(sampled.sampled!);
    const byName = new Map<string, StageRow>(exact.report.stages.map((s) => [s.name, s]));
    const rows: string[][] = [];
    const results: Array<Record<string, unknown>> = [];
    for (const s of STAGES) {
      const tb = truthBefore.get(s) as Truth;
      const ta = truthAfter.get(s) as Truth;
      const batches = (tb.mean_ns + ta.mean_ns) / 2;
      const truth = inLoopCost(target.rates, s, untraced.map((p) => [p.from + 300, p.to] as [number, number]));
      const r = byName.get(s);
      const sp = sampledNums.stages.find((x) => x.name === s);
      const b = bpf.get(s);
      rows.push([
        s, r?.first_insn ?? '?', truth.toFixed(0), n1(batches),
        n1(r?.raw_mean_ns), r?.raw_mean_ns ? pct(r.raw_mean_ns, truth) : '—',
        r?.probe_overhead_ns !== null && r?.probe_overhead_ns !== undefined ? `${n1(r.probe_overhead_ns)}±${n1(r.probe_overhead_spread_ns)}` : '—',
        n1(r?.mean_ns), r?.mean_ns ? pct(r.mean_ns, truth) : '—',
        sp ? `${n1(sp.ns_per_packet)} [${n1(sp.ci_low_ns)}–${n1(sp.ci_high_ns)}]` : '—', sp ? pct(sp.ns_per_packet, truth) : '—',
        n1(b?.mean_ns), b ? pct(b.mean_ns, truth) : '—',
      ]);
      results.push({
        stage: s, first_insn: r?.first_insn, class: r?.calibration_class, truth_before: tb, truth_after: ta, true_ns: truth, in_loop_pktpath_ns: inLoop(exactPhase, s), in_loop_bpftrace_ns: inLoop(bpfPhase, s),
        probe_outer_ns: r?.probe_outer_ns,
        raw_mean_ns: r?.raw_mean_ns, probe_overhead_ns: r?.probe_overhead_ns, probe_overhead_spread_ns: r?.probe_overhead_spread_ns,
        mean_ns: r?.mean_ns, p50_ns: r?.p50_ns, raw_p50_ns: r?.raw_p50_ns, calls: r?.calls,
        sampled: sp, bpftrace: b,
      });
    }
    console.log(`\nAccuracy: mean ns per call, against the untraced truth (pktpath via ${exact.via}; baseline: bpftrace)`);
    console.log(table(['stage', 'first insn', 'true', 'batches', 'raw', 'raw err', 'subtracted', 'corrected', 'err', 'sampled [95% CI]', 'err', 'bpftrace', 'err'], rows));
    console.log(
      `sampled: ${sampledNums.samples} samples at ${SAMPLE_HZ} Hz over ${sampledNums.window_s.toFixed(1)} s, ` +
        `${sampledNums.packets} packets (${sampledNums.packets_source})`,
    );

    console.log(
      'true: each call timed in the running loop while untraced (before and after); batches: known_cost truth, short ' +
        'batches in another process (cross-check). raw/corrected: pktpath mean per call; err: against true.',
    );

    // ---- cost to the caller ---------------------------------------------------------------------
    const crows = STAGES.map((s) => {
      const ctx = inLoopCost(target.rates, s, untraced.map((p) => [p.from + 300, p.to] as [number, number]));
      const r = byName.get(s);
      return [s, n1(inLoop(exactPhase, s) - ctx), n1(r?.probe_outer_ns), n1(inLoop(bpfPhase, s) - ctx)];
    });
    console.log('\nWhat one probed call costs its caller (ns): measured in the loop (traced − untraced) vs the calibration\'s outer_ns');
    console.log(table(['stage', 'pktpath measured', 'calibration outer_ns', 'bpftrace measured'], crows));

    // ---- overhead -------------------------------------------------------------------------------
    // Baseline: both untraced phases. When they disagree, something else loaded the machine.
    const u0 = rateIn(untraced[0]!);
    const u1 = rateIn(untraced[1]!);
    const base = (u0 + u1) / 2;
    const orows = phases.map((p) => {
      const r = rateIn(p);
      return [p.name, r.toFixed(0), `${((r / base) * 100).toFixed(1)}%`];
    });
    const coverage = budget.report.stages[0] as (StageRow & { coverage?: number }) | undefined;
    console.log('\nOverhead: the target\'s loop iterations per second (SCHED_FIFO, 50% duty; baseline: mean of the untraced phases)');
    console.log(table(['phase', 'iterations/s', 'vs untraced'], orows));
    if (Math.abs(u0 - u1) > 0.05 * base) {
      console.log(`WARNING: the two untraced phases differ by ${((Math.abs(u0 - u1) / base) * 100).toFixed(0)}%: the machine was busy; rerun for overhead numbers`);
    }
    if (coverage?.coverage !== undefined) console.log(`--max-overhead 5: coverage ${(coverage.coverage * 100).toFixed(1)}%`);

    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const file = join(ROOT, 'bench', 'results', `accuracy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({
      seconds: SECONDS, sample_hz: SAMPLE_HZ, via: exact.via, stages: results,
      overhead: phases.map((p) => ({ phase: p.name, per_second: rateIn(p) })),
      max_overhead_report: budget.report, exact_report: exact.report,
    }, null, 1));
    console.log(`\nwritten: ${file}`);
  } finally {
    target.stop();
    delNetns(ns);
    await t.close();
  }
}

main().catch((e: unknown) => {
  console.error(`accuracy bench failed: ${e instanceof Error ? e.message : String(e)}`);
  delNetns(ns);
  process.exitCode = 1;
});
