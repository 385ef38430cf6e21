// Which functions of the target run while it forwards: from a short CPU sample (no probes), the
// functions of the program's own binary on the sampled stacks. Attach pre-selects these as stages,
// so startup-only functions (option parsing, route table setup) never are. The loop that everything
// runs inside (main, a worker's poll loop) is on nearly every stack and is not a stage: it is left
// out when it holds at least LOOP_SHARE of the samples that reached the program's own code, mostly
// as the caller of other functions of the program, and
// so is main (the entry point: a loop written inside it is the whole program, not a stage; the
// uretprobe trampoline of a probed stage hides main from the stacks under it, so the share alone
// would not always tell). A PLT stub (`f@plt`) is the way to a library's function, not one of the program's.
import type { Session } from './session.ts';
import { isProbeFrame } from './probe-frames.ts';
import { cloneBase } from './gcc-clones.ts';

export const LOOP_SHARE = 0.9;

export interface RunningFunction {
  fn: string;
  /** Stacks (samples) with the function on them. */
  samples: number;
  /** Samples with it as the program's innermost function (its own work, and library/kernel code it called). */
  own: number;
  /** On nearly every stack: the loop around the stages. */
  loop: boolean;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** Functions of the module `exe` (a path or basename) on the session's stacks, most samples first. */
export function runningFunctions(s: Session, exe: string): RunningFunction[] {
  const mod = basename(exe);
  const ours = new Map<number, string>();
  for (const f of s.frames) if (!f.kernel && basename(f.module) === mod && !isProbeFrame(f) && !/^0x[0-9a-f]+$/i.test(f.fn) && !f.fn.endsWith('@plt')) ours.set(f.id, cloneBase(f.fn));
  const by = new Map<string, RunningFunction>();
  let reached = 0;
  for (const st of s.stacks) {
    if (!(st.count > 0)) continue;
    const seen = new Set<string>();
    let innermost: string | null = null;
    for (const id of st.frames) {
      const fn = ours.get(id);
      if (!fn) continue;
      innermost ??= fn;
      seen.add(fn);
    }
    if (seen.size === 0) continue;
    reached += st.count;
    for (const fn of seen) {
      let r = by.get(fn);
      if (!r) by.set(fn, (r = { fn, samples: 0, own: 0, loop: false }));
      r.samples += st.count;
      if (fn === innermost) r.own += st.count;
    }
  }
  // A loop holds the other functions: on nearly every stack, and mostly as their caller. A stage that
  // takes nearly all the time (a slow tx under load) is on as many stacks, but as the innermost.
  for (const r of by.values()) r.loop = r.fn === 'main' || (reached > 0 && r.samples >= LOOP_SHARE * reached && r.own < 0.5 * r.samples);
  return [...by.values()].sort((a, b) => b.samples - a.samples || a.fn.localeCompare(b.fn));
}
