// SYNTHETIC sessions for the render bench and for browser tests that need a tree of a given size
// (the recorded demo session is test/fixtures/demo-session.pktpath.json). Everything here is made
// up from a seeded random generator: shapes like a forwarder's profile (main loop → the five demo
// stages → call trees below them), never used as a measurement.

import type { Frame, Session, SessionStage, StackSample } from '../src/core/session.ts';
import { bucketIndex } from '../src/core/histogram.ts';

export const SYNTHETIC_STAGES = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'];
export const HOSTILE_NAME = '<img src=x onerror=window.__pwned=1>';

/** A seeded generator (mulberry32): the same sequence every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  nodes: number; // approximate number of distinct call paths (flame nodes)
  seed?: number;
  hostile?: boolean; // add a frame whose name is an HTML injection attempt
  scale?: number; // multiplies every sample count (a later live snapshot of the same run)
}

/** A SYNTHETIC session whose CPU flamegraph has about `nodes` nodes. */
export function syntheticSession(o: SyntheticOptions): Session {
  const rand = rng(o.seed ?? 1);
  const scale = o.scale ?? 1;
  const bin = '/opt/synthetic/fwd';
  const frames: Frame[] = [];
  const idOf = new Map<string, number>();
  const frame = (fn: string, module = bin): number => {
    const key = `${fn}@${module}`;
    let id = idOf.get(key);
    if (id === undefined) {
      id = frames.length + 1;
      const addr = 0x401000 + id * 64;
      frames.push({
        id, fn, off: 8, module, build_id: 'synthetic', addr: `0x${addr.toString(16)}`, kernel: module === '[kernel]',
        elf_addr: `0x${(addr - 0x400000).toString(16)}`,
      });
      idOf.set(key, id);
    }
    return id;
  };
  // Tree of call paths: parent index and frame id per node.
  const parent: number[] = [-1];
  const fid: number[] = [frame('main')];
  const depth: number[] = [0];
  const add = (p: number, f: number): number => {
    parent.push(p);
    fid.push(f);
    depth.push(depth[p]! + 1);
    return parent.length - 1;
  };
  const loop = add(0, frame('fwd_main_loop'));
  const stageNodes = SYNTHETIC_STAGES.map((s) => add(loop, frame(s)));
  const idle = add(loop, frame('poll_idle'));
  const roots = [...stageNodes, idle];
  const pool = Math.max(40, Math.floor(o.nodes / 3));
  const libs = [bin, bin, bin, '/usr/lib/x86_64-linux-gnu/libc.so.6', '[kernel]'];
  while (parent.length < o.nodes) {
    // Mostly extend recent nodes (deep stacks), sometimes branch anywhere (wide trees).
    const r = rand();
    const p = r < 0.15 ? roots[Math.floor(rand() * roots.length)]!
      : r < 0.75 ? Math.max(0, parent.length - 1 - Math.floor(rand() * 200)) : Math.floor(rand() * parent.length);
    if (depth[p]! > 48 || p === 0 || p === loop) continue;
    const lib = libs[Math.floor(rand() * libs.length)]!;
    const name = lib === '[kernel]' ? `kfunc_${Math.floor(rand() * pool / 4)}` : `fn_${Math.floor(rand() * pool)}`;
    add(p, frame(name, lib));
  }
  if (o.hostile) {
    const parse = stageNodes[1]!;
    add(parse, frame(HOSTILE_NAME));
  }
  const stacks: StackSample[] = [];
  let samples = 0;
  for (let n = 1; n < parent.length; n++) {
    const hot = fid[n] === frame(HOSTILE_NAME) ? 400 : 1 + Math.floor(rand() ** 3 * 60);
    const count = Math.max(1, Math.round(hot * scale));
    const fr: number[] = [];
    for (let i = n; i >= 0; i = parent[i]!) fr.push(fid[i]!);
    stacks.push({ frames: fr, count });
    samples += count;
  }
  const stages: SessionStage[] = SYNTHETIC_STAGES.map((name, i) => {
    const median = [180, 95, 420, 60, 210][i]!;
    const calls = Math.round(200000 * scale);
    const packets = calls * 8;
    const counts = new Map<number, number>();
    let sum = 0;
    for (let k = 0; k < 4000; k++) {
      const u = Math.max(1e-9, rand()), v = rand();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      const ns = median * Math.exp(0.45 * z);
      const b = bucketIndex(ns);
      counts.set(b, (counts.get(b) ?? 0) + calls / 4000);
      sum += ns * (calls / 4000);
    }
    return {
      id: i, name, kind: 'uprobe', spec: `uprobe:${bin}:${name}:packets=ret`, packets_from: 'ret',
      attach: { ok: true, error: null, binary: bin, symbol: name, offset: 0x1000 + i * 0x40, first_insn: 'push %rbp', single_step: false, warning: null },
      calls, packets, sum_ns: Math.round(sum), unmatched: 0,
      buckets: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([b, c]) => [b, Math.round(c)] as [number, number]),
      calibration: { class: 'push', method: 'self-probe', runs: 20000, inner_ns: 40 + i * 3, inner_spread_ns: 4, outer_ns: 160, outer_spread_ns: 10 },
      timeline: [],
    };
  });
  return {
    format: 'pktpath-session', version: 1, created: '2026-01-01T00:00:00.000Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 4242, kernel: false, command: 'SYNTHETIC fwd', binary: bin, build_id: 'synthetic' },
    tracer: { stream_version: 1, version: 'synthetic', kernel: 'synthetic', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 3 * scale, interval_ms: 1000, sample_hz: 999, hist: { sub_bits: 4, max_pow: 37 },
    stages, frames, stacks, samples, lost_samples: 0, drops: {},
    warnings: ['SYNTHETIC session generated for tests/bench: not a measurement'],
  };
}
