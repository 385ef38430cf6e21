// The exports written as they are produced, one stack at a time: what `pktpath export` uses, so a
// 1M-stack session never becomes a million-node call tree or a profile object in memory.
// Same formats as export-folded.ts, export-speedscope.ts and export-pprof.ts; the difference is
// that stacks which print alike are not merged into one line/sample (every reader of these formats
// sums them: flamegraph.pl, inferno, speedscope, pprof).
import type { Frame, Session, StackSample } from './session.ts';
import { FunctionTable } from './stacktree.ts';
import { foldedFrameName, type FoldedOptions } from './export-folded.ts';
import { PprofTables } from './export-pprof.ts';

const CHUNK = 1 << 16;

/** Function id of each frame id, interned by (name, module) as the call tree does. */
class FrameFunctions {
  readonly table = new FunctionTable();
  private readonly byFrame = new Map<number, number>();
  private readonly frames = new Map<number, Frame>();
  constructor(frames: readonly Frame[]) {
    for (const f of frames) this.frames.set(f.id, f);
  }
  of(id: number): number {
    let fn = this.byFrame.get(id);
    if (fn === undefined) {
      const f = this.frames.get(id);
      fn = f ? this.table.intern(f.fn, f.module, f.kernel, f.build_id) : this.table.intern(`[unknown frame ${id}]`, '[unknown]', false, null);
      this.byFrame.set(id, fn);
    }
    return fn;
  }
}

export function* foldedChunks(s: Session, stacks: Iterable<StackSample>, opts: FoldedOptions = {}): Generator<string> {
  const fns = new FrameFunctions(s.frames);
  const names: string[] = [];
  let out = '';
  for (const st of stacks) {
    if (!(st.count > 0) || st.frames.length === 0) continue;
    let line = '';
    for (let i = st.frames.length - 1; i >= 0; i--) {
      const fn = fns.of(st.frames[i]!);
      const name = (names[fn] ??= foldedFrameName(fns.table.functions[fn]!, opts));
      line += i === st.frames.length - 1 ? name : `;${name}`;
    }
    out += `${line} ${st.count}\n`;
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

export function* speedscopeChunks(s: Session, stacks: Iterable<StackSample>, name = 'pktpath'): Generator<string> {
  const fns = new FrameFunctions(s.frames);
  const perSample = s.sample_hz > 0 ? 1e9 / s.sample_hz : 1;
  const who = s.target.kernel ? 'kernel' : `pid ${s.target.pid ?? '?'}`;
  const head = {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    name,
    activeProfileIndex: 0,
    exporter: 'pktpath',
  };
  const profile = {
    type: 'sampled',
    name: `${name}: ${who} on ${s.target.host}, ${s.samples} samples`,
    unit: s.sample_hz > 0 ? 'nanoseconds' : 'none',
    startValue: 0,
  };
  let out = `${JSON.stringify(head).slice(0, -1)},"profiles":[${JSON.stringify(profile).slice(0, -1)},"samples":[`;
  const weights: number[] = [];
  let end = 0;
  for (const st of stacks) {
    if (!(st.count > 0) || st.frames.length === 0) continue;
    let path = '';
    for (let i = st.frames.length - 1; i >= 0; i--) path += (i === st.frames.length - 1 ? '' : ',') + fns.of(st.frames[i]!);
    out += `${weights.length ? ',' : ''}[${path}]`;
    const w = st.count * perSample;
    weights.push(w);
    end += w;
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  out += '],"weights":[';
  for (let i = 0; i < weights.length; i++) {
    out += (i ? ',' : '') + JSON.stringify(weights[i]);
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  const frames = fns.table.functions.map((f) => ({ name: f.name, file: f.module }));
  yield `${out}],"endValue":${JSON.stringify(end)}}],"shared":${JSON.stringify({ frames })}}`;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/**
 * profile.proto, uncompressed (gzip it): the samples first, each encoded as it is read, then the
 * profile's other members. Protocol buffers concatenate: repeated members of both parts add up.
 */
export function* pprofChunks(s: Session, stacks: Iterable<StackSample>): Generator<Uint8Array> {
  const t = new PprofTables(s);
  let parts: Uint8Array[] = [];
  let size = 0;
  for (const st of stacks) {
    if (!(st.count > 0)) continue;
    const body = t.sample(st).encode();
    const head = Uint8Array.from([0x12, ...varint(body.length)]); // field 2 (sample), length-delimited
    parts.push(head, body);
    size += head.length + body.length;
    if (size >= CHUNK) {
      yield Buffer.concat(parts);
      parts = [];
      size = 0;
    }
  }
  if (parts.length) yield Buffer.concat(parts);
  yield t.profile([]).encode();
}
