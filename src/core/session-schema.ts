// The session file's one schema (`*.pktpath.json`, src/core/session.ts): every member a reader
// uses (report, export, diff, the webview), checked before any of them sees the file. Where the
// session keeps what the stream said (frames, a stage's attach result, calibrations) it reuses the
// stream's record schemas (src/tracer/stream-schema.ts). Objects are open: a newer writer's
// additive members are tolerated, not checked. An error names the file and the member path in
// one line: `bad.pktpath.json: hist.max_pow: expected an integer in 1..63, got -1000`.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { RECORD_SCHEMAS, STAGE_KINDS, LATENCY_KEYS, CALIBRATION_PLACEMENTS } from '../tracer/stream-schema.ts';
import { SAMPLED_POLL_KINDS, SESSION_FORMAT, SESSION_VERSION, type Session } from './session.ts';

// ---- value kinds, each with the words an error message uses for it -----------------------------

const count = () => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'a non-negative integer' });
const nonneg = () => Type.Number({ minimum: 0, description: 'a non-negative number' });
const num = () => Type.Number({ description: 'a finite number' });
const fraction = () => Type.Number({ minimum: 0, maximum: 1, description: 'a number in 0..1' });
const str = () => Type.String({ description: 'a string' });
const bool = () => Type.Boolean({ description: 'true or false' });
const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()], { description: `${t.description ?? 'a value'} or null` });
const list = <T extends TSchema>(t: T, what: string) => Type.Array(t, { description: `an array of ${what}` });
const oneOf = <const T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v)), { description: `one of ${values.join('|')}` }) as unknown as TSchema & { static: T[number] };
const obj = <P extends Parameters<typeof Type.Object>[0]>(p: P, what = 'an object') => Type.Object(p, { description: what });

const stream = RECORD_SCHEMAS;

// ---- parts --------------------------------------------------------------------------------------

const Attach = obj({
  ok: bool(),
  error: nullable(str()),
  binary: nullable(str()),
  symbol: nullable(str()),
  offset: nullable(count()),
  first_insn: nullable(str()),
  single_step: bool(),
  warning: nullable(str()),
  ...Type.Pick(stream.stage, ['first_bytes', 'entry_offset', 'entry_insn', 'untimed_insns', 'untimed_prefix']).properties,
  function: Type.Optional(str()),
  copies: Type.Optional(list(obj({ symbol: str(), address: str(), size: count(), entry: bool() }), 'copies')),
});

const Calibration = obj({
  ...Type.Pick(stream.calibration, [
    'class', 'method', 'runs', 'inner_ns', 'inner_spread_ns', 'outer_ns', 'outer_spread_ns', 'inner_mean_ns', 'inner_mean_spread_ns',
  ]).properties,
  // a session may say "normal" or a priority it was calibrated at: any string is shown as is
  sched: Type.Optional(str()),
  calibrations: Type.Optional(count()),
  placement: Type.Optional(oneOf(CALIBRATION_PLACEMENTS)),
});

const Stage = obj({
  id: count(),
  name: str(),
  kind: oneOf(STAGE_KINDS),
  spec: str(),
  packets_from: stream.stage.properties.packets,
  attach: Attach,
  calls: nonneg(),
  packets: nonneg(),
  sum_ns: nonneg(),
  unmatched: nonneg(),
  buckets: list(Type.Tuple([count(), nonneg()], { description: '[index, count] of non-negative numbers' }), '[index, count]'),
  calibration: Type.Union([Calibration, Type.Null()], { description: 'a calibration object or null' }),
  timeline: list(obj({ t_s: num(), calls: nonneg(), packets: nonneg(), sum_ns: nonneg(), timed: Type.Optional(nonneg()) }), 'points'),
  timed: Type.Optional(nonneg()),
  latency_key: Type.Optional(oneOf(LATENCY_KEYS)),
  busy_calls: Type.Optional(nonneg()),
  busy_ns: Type.Optional(nonneg()),
  inside: Type.Optional(list(obj({ parent: count(), calls: nonneg(), sum_ns: nonneg() }), 'parents')),
});

const Frame = obj({
  ...Type.Pick(stream.frame, ['id', 'fn', 'off', 'module', 'addr', 'kernel']).properties,
  build_id: nullable(str()),
  elf_addr: Type.Optional(nullable(str())),
  // the stream's names plus "debug" (a debug file named it where the session was read)
  named_by: Type.Optional(nullable(str())),
  inline: Type.Optional(bool()),
  file: Type.Optional(nullable(str())),
  line: Type.Optional(nullable(count())),
  symbol: Type.Optional(str()),
  tracer: Type.Optional(obj({ fn: str(), off: count(), named_by: nullable(str()) })),
});

const Stack = obj({
  frames: list(count(), 'frame ids'),
  count: nonneg(),
  found: Type.Optional(Type.String({ pattern: '^[krcfsi]*$', description: 'one of the letters k, r, c, f, s, i per frame' })),
});

const Sampled = obj({
  sample_hz: nonneg(),
  samples: nonneg(),
  unattributed: nonneg(),
  window_s: nonneg(),
  packets: nonneg(),
  packets_source: str(),
  counter_packets: nonneg(),
  counter_window_s: nonneg(),
  stages: list(obj({
    name: str(), symbol: str(), module: nullable(str()), samples: nonneg(), inclusive_samples: nonneg(),
    spec: Type.Optional(str()),
    ranges: Type.Optional(list(obj({ module: str(), lo: count(), hi: count() }), 'address ranges')),
    poll: Type.Optional(bool()),
    poll_by: Type.Optional(oneOf(SAMPLED_POLL_KINDS)),
    graph_counters: Type.Optional(obj({ calls: nonneg(), objs: nonneg(), cycles: nonneg() })),
  }), 'sampled stages'),
  cpu_s: Type.Optional(nonneg()),
  sched_s: Type.Optional(nonneg()),
  slices: Type.Optional(nonneg()),
  timer_late_ns: Type.Optional(nonneg()),
  sample_run_ns: Type.Optional(nonneg()),
});

export const SessionSchema = obj({
  format: Type.Literal(SESSION_FORMAT),
  version: Type.Integer({ minimum: 1, maximum: SESSION_VERSION, description: `an integer in 1..${SESSION_VERSION}` }),
  created: str(),
  partial: bool(),
  partial_reason: Type.Optional(nullable(str())),
  target: obj({
    host: str(),
    pid: nullable(count()),
    kernel: bool(),
    command: nullable(str()),
    binary: nullable(str()),
    build_id: nullable(str()),
  }),
  tracer: obj({
    stream_version: count(),
    version: str(),
    kernel: str(),
    arch: str(),
    features: Type.Record(Type.String(), bool(), { description: 'an object of true/false' }),
    missing: list(str(), 'strings'),
  }),
  duration_s: nonneg(),
  interval_ms: nonneg(),
  sample_hz: nonneg(),
  hist: obj({
    sub_bits: Type.Integer({ minimum: 1, maximum: 8, description: 'an integer in 1..8' }),
    max_pow: Type.Integer({ minimum: 1, maximum: 63, description: 'an integer in 1..63' }),
  }),
  stages: list(Stage, 'stages'),
  frames: list(Frame, 'frames'),
  stacks: list(Stack, 'stacks'),
  samples: nonneg(),
  lost_samples: nonneg(),
  drops: Type.Record(Type.String(), nonneg(), { description: 'an object of non-negative numbers' }),
  warnings: list(str(), 'strings'),
  errors: Type.Optional(list(str(), 'strings')),
  end_reason: Type.Optional(nullable(str())),
  intervals: Type.Optional(
    list(obj({ t_s: num(), dt_s: nonneg(), samples: nonneg(), coverage: fraction(), overhead_pct: nullable(num()) }), 'intervals'),
  ),
  sampled: Type.Optional(Sampled),
  symbols: Type.Optional(
    obj({
      modules: list(
        obj({ module: str(), build_id: nullable(str()), source: nullable(str()), debug_file: nullable(str()), named: nonneg(), inlined: nonneg() }),
        'modules',
      ),
      warnings: list(str(), 'strings'),
    }),
  ),
});

export type SessionFromSchema = Static<typeof SessionSchema>;
// The schema and the interfaces readers are typed with must agree: this fails to compile otherwise.
// (partial_reason may be absent from a file; the loader fills in null)
const _sameShape = (s: SessionFromSchema): Omit<Session, 'partial_reason'> => s;
void _sameShape;

const CHECK = TypeCompiler.Compile(SessionSchema);

/** A JSON pointer ("/stages/2/buckets/0/1") as a member path ("stages[2].buckets[0][1]"). */
export function memberPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i ? `.${p}` : p))
    .join('');
}

/** A short, single-line picture of a value for an error message; never recursive, never long. */
export function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > 40 ? v.slice(0, 40) : v);
    return v.length > 40 ? `${s.slice(0, -1)}..."` : s;
  }
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

/**
 * Checks a parsed session; returns the reason it is invalid (the first, as `path: expected ...,
 * got ...`), or null when every member the readers use is well-formed.
 */
export function sessionProblem(v: unknown): string | null {
  if (!CHECK.Check(v)) {
    const e = CHECK.Errors(v).First();
    if (!e) return 'not a session';
    const path = memberPath(e.path) || 'the file';
    const want = e.schema.description ?? e.message.toLowerCase();
    return `${path}: expected ${want}, got ${preview(e.value)}`;
  }
  return crossProblem(v);
}

/** What one member's schema cannot say: relations between members. */
function crossProblem(s: SessionFromSchema): string | null {
  if (s.hist.max_pow < s.hist.sub_bits) return `hist.max_pow: expected at least hist.sub_bits (${s.hist.sub_bits}), got ${s.hist.max_pow}`;
  for (let i = 0; i < s.stacks.length; i++) {
    const st = s.stacks[i]!;
    if (st.found !== undefined && st.found.length !== st.frames.length) {
      return `stacks[${i}].found: expected one letter per frame (${st.frames.length}), got ${st.found.length}`;
    }
  }
  return null;
}
