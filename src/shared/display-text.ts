// Names in the webview are data from the target (symbols, modules, stage names): shown inert.
// Bidi controls would reorder a name ("evil\u202egnp.exe" read as "evilexe.png") and other
// controls are invisible: each becomes U+FFFD, one for one. A tooltip shows at most TOOLTIP_CHARS.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export const TOOLTIP_CHARS = 300;

/** The name with every control and bidi control replaced by U+FFFD. */
export function inertText(s: string): string {
  return s.replace(CONTROLS, '\ufffd');
}

/** inertText, at most `max` characters (code points), an ellipsis marking the cut. */
export function clampedText(s: string, max = TOOLTIP_CHARS): string {
  const clean = inertText(s);
  if (clean.length <= max) return clean;
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}
