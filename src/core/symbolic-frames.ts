// Names from debug files applied to a session's frames: a stripped function gets its name, the
// samples of one function share it, and each function inlined at an address becomes a frame of its
// own before the function it was inlined into (as `perf report --inline` shows them). Pure: the
// answers come from src/symbols/ (DWARF read through elfutils on the machine with the debug files).
//
// A caller's frame holds a return address: the call is the instruction before it, so callers are
// looked up at address - 1 (a call at the end of a function returns to the next one's first byte),
// as perf and eu-addr2line do. The session keeps what the tracer said (Frame.tracer), so
// symbolizing again, with other debug files, starts from the tracer's names.
import type { Frame, ModuleSymbols, Session, SessionSymbols, StackSample } from './session.ts';

/** One function at an address, innermost first (the `frames` of a `--dwarf` addr answer). */
export interface InlineLevel {
  fn: string | null;
  file: string | null;
  line: number;
}

/** What a debug file says about one address (the tracer's `--dwarf` addr answer). */
export interface AddrAnswer {
  sym: string | null;
  sym_lo: string; // hex ELF address where `sym` starts
  frames: InlineLevel[];
  /** the .eh_frame FDE covering the address (its function's code), when there is one */
  fde_lo?: string;
}

/** One module's debug file and its answers, keyed by the looked-up ELF address (normalized hex). */
export interface ModuleAnswers {
  source: string;
  debug_file: string;
  answers: ReadonlyMap<string, AddrAnswer>;
}

export function moduleKey(module: string, buildId: string | null): string {
  return `${module}\u0000${buildId ?? ''}`;
}

export function hexAddr(a: bigint): string {
  return `0x${a.toString(16)}`;
}

/** The ELF address to ask about for a frame in a given role, or null when it has none. */
export function lookupAddress(f: Pick<Frame, 'elf_addr' | 'kernel'>, caller: boolean): string | null {
  if (f.kernel || !f.elf_addr) return null;
  let a: bigint;
  try {
    a = BigInt(f.elf_addr);
  } catch {
    return null;
  }
  return hexAddr(caller && a > 0n ? a - 1n : a);
}

/** Each stack's frame ids with their role: `caller` when a user frame comes before it (leaf side). */
export function framesWithRoles(frames: ReadonlyMap<number, Frame>, s: StackSample): Array<{ id: number; caller: boolean }> {
  let userSeen = false;
  return s.frames.map((id) => {
    const f = frames.get(id);
    const caller = userSeen && !!f && !f.kernel;
    if (f && !f.kernel) userSeen = true;
    return { id, caller };
  });
}

/** Frame ids and roles as `framesWithRoles` gives them, each (id, role) once, in the order first seen. */
export interface FrameRole {
  id: number;
  caller: boolean;
}

/** The distinct (frame, role) pairs of the stacks, first seen first: what symbolizing depends on (small: frames, not stacks). */
export function distinctRoles(frames: readonly Frame[], stacks: Iterable<StackSample>): FrameRole[] {
  const byId = new Map(frames.map((f) => [f.id, f]));
  const seen = new Set<number>();
  const out: FrameRole[] = [];
  for (const st of stacks) {
    for (const r of framesWithRoles(byId, st)) {
      const k = r.id * 2 + (r.caller ? 1 : 0);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(r);
    }
  }
  return out;
}

/** A session's frames as the tracer gave them, and each stack without the inline frames of an earlier symbolization. */
export function tracerFrames(frames: readonly Frame[]): { frames: Frame[]; stack: (st: StackSample) => StackSample } {
  const inline = new Set(frames.filter((f) => f.inline).map((f) => f.id));
  const out = frames
    .filter((f) => !f.inline)
    .map((f) => {
      if (f.tracer === undefined) return f;
      const { tracer, file: _file, line: _line, named_by: _n, symbol: _s, ...rest } = f;
      const o: Frame = { ...rest, fn: tracer.fn, off: tracer.off };
      if (tracer.named_by !== null) o.named_by = tracer.named_by;
      return o;
    });
  const stack = (st: StackSample): StackSample => {
    if (inline.size === 0 || !st.frames.some((id) => inline.has(id))) return st;
    const keep = st.frames.map((id) => !inline.has(id));
    const o: StackSample = { frames: st.frames.filter((_, i) => keep[i]), count: st.count };
    if (st.found !== undefined) o.found = [...st.found].filter((_, i) => keep[i]).join('');
    return o;
  };
  return { frames: out, stack };
}

/** Undoes a previous symbolization: inline frames out, the tracer's names back. */
export function stripSymbols(s: Session): Session {
  if (!s.symbols && !s.frames.some((f) => f.inline || f.tracer !== undefined)) return s;
  const t = tracerFrames(s.frames);
  const stacks = s.stacks.map(t.stack);
  const { symbols: _symbols, ...rest } = s;
  return { ...rest, frames: t.frames, stacks };
}

interface Expansion {
  ids: number[]; // the inlined frames' ids, innermost first, then the frame itself
}

/**
 * Debug-file answers applied one stack at a time. A frame's expansion depends only on its id and
 * role, and the ids it gets only on the order (id, role) pairs are first met: expanding the
 * stacks' `distinctRoles` in order first gives every stack mapped afterwards the ids a mapping of
 * all stacks in order gives, and `frames()` the whole frame table before any stack is written.
 */
export interface StackSymbolizer {
  /** Expands one (frame, role) pair: its new frame ids, inlined functions first. */
  expand(id: number, caller: boolean): readonly number[];
  /** One stack (of the tracer's frames: see tracerFrames) with the answers applied. */
  stack(st: StackSample): StackSample;
  /** The frame table for what was expanded so far: frames no stack renamed stay as the tracer gave them. */
  frames(): Frame[];
  /** Per module with a debug file: frames named and inline frames added so far; then `extra.missing`. */
  symbols(extra?: { missing?: ModuleSymbols[]; warnings?: string[] }): SessionSymbols;
}

/** A symbolizer over the tracer's frames (stripSymbols / tracerFrames first) and the debug files' answers. */
export function stackSymbolizer(tracerTable: readonly Frame[], byModule: ReadonlyMap<string, ModuleAnswers>): StackSymbolizer {
  const byId = new Map(tracerTable.map((f) => [f.id, f]));
  let nextId = tracerTable.reduce((m, f) => Math.max(m, f.id), -1) + 1;
  const out: Frame[] = [];
  const interned = new Map<string, number>(); // frame content → id
  const expansions = new Map<number, Expansion>(); // id * 2 + caller → ids
  const stats = new Map<string, { named: Set<number>; inlined: Set<number> }>();
  // an original id serves one version of its frame: as the tracer named it, or renamed
  const renamedIds = new Set<number>();
  const usedAsIs = new Set<number>();

  const intern = (f: Frame, key: string): number => {
    let id = interned.get(key);
    if (id === undefined) {
      id = nextId++;
      interned.set(key, id);
      out.push({ ...f, id });
    }
    return id;
  };

  const asIs = (orig: Frame): number => {
    if (!renamedIds.has(orig.id)) {
      usedAsIs.add(orig.id);
      return orig.id;
    }
    return intern(orig, JSON.stringify(['o', orig.id]));
  };

  const rename = (orig: Frame, ans: AddrAnswer, st: { named: Set<number> }): number => {
    const outer = ans.frames[ans.frames.length - 1];
    // the function's name in the source (DWARF), as addr2line and perf --inline give it: one name
    // for its .cold part and .isra/.constprop clones; the ELF symbol is kept beside it
    const name = outer?.fn ?? ans.sym ?? orig.fn;
    let off = orig.off;
    if (ans.sym && orig.elf_addr) {
      try {
        off = Number(BigInt(orig.elf_addr) - BigInt(ans.sym_lo));
      } catch {
        /* keep the tracer's */
      }
    }
    const renamed: Frame = {
      ...orig,
      fn: name,
      off,
      named_by: 'debug',
      tracer: { fn: orig.fn, off: orig.off, named_by: orig.named_by ?? null },
      file: outer?.file ?? null,
      line: outer?.line || null,
    };
    if (ans.sym && ans.sym !== name) renamed.symbol = ans.sym;
    const key = JSON.stringify(['f', orig.id, name, renamed.file, renamed.line]);
    let id = interned.get(key);
    if (id === undefined) {
      id = renamedIds.has(orig.id) || usedAsIs.has(orig.id) ? nextId++ : orig.id;
      renamedIds.add(orig.id);
      interned.set(key, id);
      out.push({ ...renamed, id });
    }
    st.named.add(id);
    return id;
  };

  const expand = (orig: Frame, caller: boolean): Expansion => {
    const ek = orig.id * 2 + (caller ? 1 : 0);
    const known = expansions.get(ek);
    if (known) return known;
    const mk = moduleKey(orig.module, orig.build_id);
    const mod = byModule.get(mk);
    const at = mod ? lookupAddress(orig, caller) : null;
    const ans = at && mod ? mod.answers.get(at) : undefined;
    let e: Expansion;
    if (!ans || (!ans.sym && ans.frames.length === 0)) {
      e = { ids: [asIs(orig)] };
    } else {
      const st = stats.get(mk) ?? { named: new Set<number>(), inlined: new Set<number>() };
      stats.set(mk, st);
      const ids: number[] = [];
      for (let i = 0; i + 1 < ans.frames.length; i++) {
        const lv = ans.frames[i]!;
        const inl: Frame = {
          id: -1,
          fn: lv.fn ?? '[inlined]',
          off: 0,
          module: orig.module,
          build_id: orig.build_id,
          addr: orig.addr,
          kernel: false,
          elf_addr: orig.elf_addr ?? null,
          named_by: 'debug',
          inline: true,
          file: lv.file,
          line: lv.line || null,
        };
        const id = intern(inl, JSON.stringify(['i', orig.id, lv.fn, lv.file, lv.line, ans.frames.length - i]));
        st.inlined.add(id);
        ids.push(id);
      }
      ids.push(rename(orig, ans, st));
      e = { ids };
    }
    expansions.set(ek, e);
    return e;
  };

  const expandId = (id: number, caller: boolean): readonly number[] => {
    const f = byId.get(id);
    return f ? expand(f, caller).ids : [id];
  };

  return {
    expand: expandId,
    stack(st: StackSample): StackSample {
      // framesWithRoles inlined: this runs once per stack of a 1M-stack export
      const ids: number[] = [];
      let found = st.found !== undefined ? '' : undefined;
      let userSeen = false;
      for (let i = 0; i < st.frames.length; i++) {
        const id = st.frames[i]!;
        const f = byId.get(id);
        if (!f) {
          ids.push(id);
          if (found !== undefined) found += st.found?.[i] ?? '?';
          continue;
        }
        const e = expand(f, userSeen && !f.kernel).ids;
        if (!f.kernel) userSeen = true;
        for (let j = 0; j < e.length; j++) ids.push(e[j]!);
        if (found !== undefined) found += (e.length > 1 ? 'i'.repeat(e.length - 1) : '') + (st.found?.[i] ?? '?');
      }
      const o: StackSample = { frames: ids, count: st.count };
      if (found !== undefined) o.found = found;
      return o;
    },
    frames: () => [...tracerTable.filter((f) => !renamedIds.has(f.id) || usedAsIs.has(f.id)), ...out].sort((a, b) => a.id - b.id),
    symbols(extra = {}): SessionSymbols {
      const modules: ModuleSymbols[] = [];
      for (const [mk, m] of byModule) {
        const [module = '', bid = ''] = mk.split('\u0000');
        const st = stats.get(mk);
        modules.push({
          module,
          build_id: bid || null,
          source: m.source,
          debug_file: m.debug_file,
          named: st?.named.size ?? 0,
          inlined: st?.inlined.size ?? 0,
        });
      }
      modules.push(...(extra.missing ?? []));
      return { modules, warnings: extra.warnings ?? [] };
    },
  };
}

/**
 * Applies debug-file answers to a session (after undoing any earlier ones). Frames of modules
 * without answers keep the tracer's names. Session.symbols lists, per module that had a debug
 * file, how many frames it named and how many inline frames it added, then `extra.missing`.
 */
export function applySymbols(
  session: Session,
  byModule: ReadonlyMap<string, ModuleAnswers>,
  extra: { missing?: ModuleSymbols[]; warnings?: string[] } = {},
): Session {
  const s = stripSymbols(session);
  const z = stackSymbolizer(s.frames, byModule);
  const stacks = s.stacks.map((st) => z.stack(st));
  return { ...s, frames: z.frames(), stacks, symbols: z.symbols(extra) };
}
