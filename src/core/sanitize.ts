// The one terminal sanitizer. Text the CLI prints comes partly from the target and from files
// (stage and symbol names, error strings, counter sources): a name must never move the cursor,
// recolour the terminal, set its title or reorder what follows. Every control character but
// newline and tab becomes "?", one character for one, so tables stay aligned:
//   C0 (U+0000–U+001F, ESC among them) and DEL, C1 (U+0080–U+009F, e.g. U+009B, a one-character
//   CSI), bidi controls (U+061C, U+200E/200F, U+202A–202E, U+2066–2069) and the line/paragraph
//   separators U+2028/2029.

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Terminal-safe text: newline and tab kept, every other control character "?". */
export function sanitizeTerminal(text: string): string {
  return text.replace(CONTROLS, '?');
}

/** True when the text holds a character sanitizeTerminal would replace. */
export function hasControls(text: string): boolean {
  CONTROLS.lastIndex = 0;
  const found = CONTROLS.test(text);
  CONTROLS.lastIndex = 0;
  return found;
}

/**
 * JSON for a terminal: the same value (a JSON reader gets every character back), with the controls
 * JSON.stringify leaves raw (DEL, C1, bidi, U+2028/2029) written as \uXXXX escapes.
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(CONTROLS_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text for one line in a terminal or a webview: sanitized, and at most `max` characters (an ellipsis marks the cut). */
export function clampText(text: string, max: number): string {
  const clean = sanitizeTerminal(text).replace(/[\n\t]/g, ' ');
  const chars = [...clean];
  return chars.length > max ? chars.slice(0, Math.max(0, max - 1)).join('') + '…' : clean;
}
