// Each stage keeps one colour, derived from its name, in every view and every session: the colour
// is a hash of the name into the palette. Two stages of one session whose names hash alike would
// share a colour, so the later name (in sorted order, never in path order) moves to the next free
// slot; the result depends only on the set of names, and a name keeps its colour unless it meets a
// colliding name in the same session.

/** Stage colour slots (webview/theme.ts draws them from VS Code's chart colours). */
export const STAGE_COLOURS = 12;

/** FNV-1a of the name's UTF-16 units. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The colour slot of a stage name on its own. */
export function stageColourOf(name: string): number {
  return hash(name) % STAGE_COLOURS;
}

/** Colour slots for a session's stage names (same order as given). */
export function stageColours(names: readonly string[]): number[] {
  const slot = new Map<string, number>();
  const taken = new Set<number>();
  for (const name of [...new Set(names)].sort()) {
    let c = stageColourOf(name);
    if (taken.size < STAGE_COLOURS) while (taken.has(c)) c = (c + 1) % STAGE_COLOURS;
    taken.add(c);
    slot.set(name, c);
  }
  return names.map((n) => slot.get(n)!);
}
