// The tracer's stdout stream (docs/stream.md): the constants it shares with native-tracer/pktpath.h,
// and its record types, which follow from the schema in stream-schema.ts. One JSON object per
// line; `type` discriminates. test/unit/stream-schema-tidy.test.ts holds both to the C side.

export const STREAM_VERSION = 1;

export const MAX_STAGES = 32;
export const MAX_DEPTH = 16;
/** Argument values one uprobe stage's `:argN=` matches. */
export const MAX_MATCH = 16;
export const MAX_STACK = 64;

export const HIST_SUB_BITS = 4;
export const HIST_SUB = 1 << HIST_SUB_BITS;
export const HIST_MAX_POW = 37;
export const HIST_BUCKETS = (HIST_MAX_POW - HIST_SUB_BITS + 2) * HIST_SUB;

export {
  STAGE_KINDS,
  CALIBRATION_CLASSES,
  LATENCY_KEYS,
  DROP_KINDS,
  BYE_REASONS,
  RECORD_TYPES,
  type StageKindName,
  type PacketsSpec,
  type CalibrationClass,
  type LatencyKey,
  type DropKind,
  type ByeReason,
  type RecordType,
  type RecordOf,
  type StreamRecord,
  type HelloRecord,
  type StageRecord,
  type StackRecord,
  type TickRecord,
  type CalibrationRecord,
} from './stream-schema.ts';
import type { StageKindName } from './stream-schema.ts';

/** enum pktpath_stage_kind's values. */
export const STAGE_KIND_CODE: Record<StageKindName, number> = {
  uprobe: 1,
  usdt: 2,
  tracepoint: 3,
  kprobe: 4,
  fentry: 5,
};
