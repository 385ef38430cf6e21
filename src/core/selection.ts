// What a selection in the views (a flamegraph frame, a stage) covers in a session: the stacks
// that pass through it. Line heat, CodeLens and hover filter to these. The stacks are folded the
// way the flamegraphs fold them (probe machinery as one frame), so a selected path matches exactly
// the samples its node counted.
import type { Session, StackSample } from './session.ts';
import type { EditorSelection } from '../shared/messages.ts';
import { isEntryGlue, isProbeFrame, probeStartBy } from './probe-frames.ts';

/** Does a stack (frame names root first, probe folded at `probeAt` or -1) run through the selection? */
function matches(names: readonly string[], probeAt: number, sel: EditorSelection): boolean {
  let at = 0;
  if (sel.anchor !== null) {
    at = names.indexOf(sel.anchor); // its outermost call, as the latency flamegraph splits it
    if (at < 0 || (probeAt >= 0 && probeAt <= at)) return false;
    at++;
    if (probeAt >= 0 && sel.path.length === 0) return false; // the stage's own time leaves the probe out
  }
  for (let i = 0; i < sel.path.length; i++) {
    const k = at + i;
    if (sel.probe_at === i) return probeAt === k; // the folded probe frame is the end of its stack
    if (k >= names.length || (probeAt >= 0 && k >= probeAt) || names[k] !== sel.path[i]) return false;
  }
  return true;
}

/** The stacks that pass through the selection (all of them when there is none). */
export function stacksInSelection(session: Session, sel: EditorSelection | null): StackSample[] {
  if (!sel) return session.stacks;
  const frames = new Map(session.frames.map((f) => [f.id, f] as const));
  const out: StackSample[] = [];
  for (const st of session.stacks) {
    const fs = st.frames.map((id) => frames.get(id));
    const leafProbe = probeStartBy(fs.length, (i) => !!fs[i] && isProbeFrame(fs[i]!), (i) => !!fs[i] && (fs[i]!.module === '[uprobes]' || isEntryGlue(fs[i]!)));
    const names = fs.map((f, i) => f?.fn ?? `[unknown frame ${st.frames[i]}]`).reverse();
    const probeAt = leafProbe < 0 ? -1 : fs.length - 1 - leafProbe;
    if (matches(names, probeAt, sel)) out.push(st);
  }
  return out;
}

/** The same session restricted to the selection's stacks (for line heat and sample counts). */
export function sessionInSelection(session: Session, sel: EditorSelection | null): Session {
  return sel ? { ...session, stacks: stacksInSelection(session, sel) } : session;
}

/** Function names on the selection's stacks (outside the probe machinery). */
export function functionsInSelection(session: Session, sel: EditorSelection): Set<string> {
  const frames = new Map(session.frames.map((f) => [f.id, f] as const));
  const out = new Set<string>();
  for (const st of stacksInSelection(session, sel)) for (const id of st.frames) {
    const f = frames.get(id);
    if (f && !isProbeFrame(f)) out.add(f.fn);
  }
  if (sel.anchor) out.add(sel.anchor);
  return out;
}
