// What the webview draws: computed on the host by src/core/view-model.ts, posted as plain JSON.
// Flamegraphs are columnar (one array per attribute, nodes in preorder) so 300k nodes stay a few
// megabytes and the webview can turn them into typed arrays without building objects per node.

/** Where a frame's code is: what the host needs to open the source. */
export interface SourceFrame {
  fn: string;
  module: string;
  addr: string; // a sampled runtime address (hex)
  off: number; // offset of `addr` in `fn`
  elf_addr: string | null; // the same address in the module's ELF address space, when known
  build_id: string | null;
  kernel: boolean;
}

/** Where in its module a frame was sampled (a SourceFrame without the name and module). */
export interface FrameLoc {
  addr: string;
  off: number;
  elf_addr: string | null;
  build_id: string | null;
  kernel: boolean;
}

/** One distinct thing a flame node stands for. Frames are interned: many nodes share one. */
export interface FlameFrame {
  kind: 'root' | 'stage' | 'fn' | 'probe';
  name: string; // symbol name (untrusted text), stage name, or the root's label
  module: number; // index into FlameData.modules; 0 is "" (root and stage nodes)
  loc: FrameLoc | null; // null when there is nothing to open
  fn?: string; // stage nodes: the stage's function (what `loc` points into), when known
}

/** Stage index into ViewModel.stages; -1: the node is not under any stage function; PROBE_STAGE:
 * the probes' own machinery (folded into one frame, see src/core/probe-frames.ts). */
export type StageColourIndex = number;
export const PROBE_STAGE = -2;

export interface FlameData {
  unit: 'samples' | 'ns';
  modules: string[]; // interned module paths: frames refer to them by index
  frames: FlameFrame[]; // only frames some node uses
  // Per node, preorder (a node's descendants follow it; depth tells where a subtree ends).
  frame: number[]; // index into frames
  depth: number[];
  total: number[]; // in `unit`; a node's children sum to at most its total
  self: number[];
  samples: number[] | null; // CPU samples behind each node; null when unit is samples (= total)
  stage: StageColourIndex[];
  /** Differential flamegraph (compare mode): per node, the baseline's value in this flame's unit
   * (-1: the node is new) and the change level, −DIFF_LEVELS (shrank) … +DIFF_LEVELS (grew), 0 when
   * within noise. Absent outside compare mode. */
  diff?: FlameDiff | null;
}

/** Change levels of a differential flamegraph each way (see FlameDiff.level). */
export const DIFF_LEVELS = 4;

export interface FlameDiff {
  base: number[];
  level: number[];
  /** What the baseline had that this one does not (in this flame's unit), summed over vanished nodes. */
  vanished: number;
}

/** What the host needs to open frame `f` of a flame, or null. */
export function sourceOf(d: FlameData, f: number): SourceFrame | null {
  const fr = d.frames[f];
  if (!fr?.loc) return null;
  return { fn: fr.fn ?? fr.name, module: d.modules[fr.module] ?? '', ...fr.loc };
}

export interface HistogramBin {
  lo_ns: number; // inclusive
  hi_ns: number; // exclusive
  count: number;
}

/** Latency numbers of one stage, as measured (raw) or with the probe overhead subtracted. */
export interface StageNumbers {
  ns_per_packet: number | null;
  mean_ns: number | null;
  p50_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
}

export interface StageView {
  index: number;
  name: string;
  /** Colour slot, from the name (src/shared/stage-colour.ts): the same in every view and session. */
  colour: number;
  /** The function the stage probes, when it probes one (for linking to the source). */
  fn: string | null;
  /** The stage this one runs inside; null at top level (or when the recording does not say). */
  parent: string | null;
  /** Called whether or not packets arrive: idle calls are left out of the verdict. */
  poll: boolean;
  /** Sampled mode: a poll stage whose ns/packet includes its idle polling (samples cannot split it): not ranked, no share
   * of the path. */
  idle_inclusive: boolean;
  /** rte_graph's calls of the stage's node per object it processed (sampled graph: stages), else null. */
  calls_per_packet: number | null;
  /** Too small for the probe to resolve: shown as "< resolution_ns", never 0. */
  below_resolution: boolean;
  /** What the probe resolves at this site, ns; a corrected value of 0 shows as "< resolution_ns". */
  resolution_ns: number | null;
  kind: string;
  spec: string;
  ok: boolean;
  error: string | null;
  warning: string | null;
  note: string | null; // why a number is missing or raw (from the report)
  calls: number;
  packets: number;
  unmatched: number;
  shown: StageNumbers; // what the table shows: corrected when `corrected`, else raw
  raw: StageNumbers;
  share: number | null; // of the whole path, 0..1, from the shown ns/packet
  corrected: boolean; // the probe overhead was subtracted from `shown`
  probe_overhead_ns: number | null; // per call, what the probes add to this stage's own interval
  probe_overhead_spread_ns: number | null;
  probe_overhead_per_packet_ns: number | null;
  calibration_method: string | null;
  histogram: HistogramBin[]; // raw measured latencies, non-empty buckets only
  samples: number; // CPU samples attributed to this stage (nearest stage frame on the stack)
  ci_ns: [number, number] | null; // sampled mode: interval of ns/packet (counting noise only)
}

/** The answer first: the weakest link and what it means for the forwarder (src/core/verdict.ts). */
export interface VerdictView {
  headline: string;
  details: string[];
  weakest: string | null;
  weakest_ns_per_packet: number | null;
  weakest_share: number | null;
  path_ns_per_packet: number | null;
  packets_per_s_one_core: number | null;
  next: string | null;
  /** Relative gain in packets/s if the weakest cost as much as the next-worst. */
  rate_gain: number | null;
}

/** Compare mode: this session (B) against a baseline (A), per stage (src/core/diff.ts). */
export interface CompareView {
  base_title: string;
  base_created: string;
  base_key: string;
  alpha: number;
  stages: Array<StageDelta & { name: string; b_name: string | null }>;
}

/** One stage's move from A to B (src/core/diff.ts computes it; `pktpath diff --json` prints it). */
export interface StageDelta {
  a_ns_per_packet: number | null;
  b_ns_per_packet: number | null;
  /** B − A of ns per packet. */
  delta_ns_per_packet: number | null;
  /** 100 · (B − A) / A. */
  delta_pct: number | null;
  /** Beyond noise at p < 0.01 (see src/core/noise.ts); false when it cannot be tested. */
  significant: boolean;
  p_value: number | null;
}

export interface ViewModel {
  version: 1;
  /** Which recording this is (its file, or the live recording): views reset zoom and search when it changes. */
  session_key: string;
  title: string;
  /** Host, process, start time: what tells two sessions apart. */
  subtitle: string;
  verdict: VerdictView;
  /** CPU samples in the probes' own machinery (folded into one "probe" frame), and their share. */
  probe: { samples: number; share: number } | null;
  compare: CompareView | null;
  created: string;
  recording: boolean;
  /** exact: stage probes measured latencies; sampled: ns/packet from CPU samples, no probes. */
  mode: 'exact' | 'sampled';
  partial: boolean;
  partial_reason: string | null;
  duration_s: number;
  sample_hz: number;
  samples: number;
  lost_samples: number;
  warnings: string[];
  stages: StageView[];
  /** Root = path; children = stages (width ∝ ns/packet); below them where their samples fell. */
  latencyFlame: FlameData;
  /** All CPU samples; nodes coloured by the nearest stage function on their stack. */
  cpuFlame: FlameData;
}
