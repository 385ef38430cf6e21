// The message protocol between the extension host (src/vscode) and the webview (webview/).
// One discriminated union per direction; both sides import this file and nothing else about the
// other. The host computes everything (src/core/view-model.ts) and posts it; the webview draws.
// Initial data is not posted: it is injected into the page (src/shared/webview-html.ts) so the
// first paint does not wait for a round trip.

import type { SourceFrame, ViewModel } from './view-types.ts';

export type { ViewModel } from './view-types.ts';
export type {
  FlameData, FlameFrame, SourceFrame, StageView, HistogramBin, StageColourIndex,
} from './view-types.ts';

/** Host → webview. */
export type ToWebview =
  /** A new snapshot of the session (while recording, or after it was reloaded). The webview keeps
   * its zoom (by frame path), search and selection across snapshots. */
  | { type: 'snapshot'; model: ViewModel }
  /** Recording state changed; `message` says why it stopped, if it did. */
  | { type: 'status'; recording: boolean; message: string | null }
  /** The host asks the webview to search, e.g. from a command. */
  | { type: 'search'; query: string };

/** What the user selected in the views, for the editor to filter line heat, CodeLens and hover to:
 * stacks through `path` (frame names) from the root, or from the outermost frame of `anchor` when
 * set (a stage's function); `stage` names the stage the selection is in, if any. */
export interface EditorSelection {
  stage: string | null;
  anchor: string | null;
  path: string[];
  /** Where the folded probe frame sits in `path`, or -1 (src/core/probe-frames.ts). */
  probe_at: number;
  /** For display: what was selected. */
  label: string;
}

/** Webview → host. */
export type FromWebview =
  /** The page has loaded and drawn the injected model; the host may start posting snapshots. */
  | { type: 'ready' }
  /** A frame or stage was selected (null: the selection was cleared). */
  | { type: 'select'; selection: EditorSelection | null }
  /** The user clicked a frame: open its source (addr2line / DWARF on the host side). */
  | { type: 'openSource'; frame: SourceFrame }
  /** Something in the page failed; the host logs it to its output channel. */
  | { type: 'error'; message: string };

/** The id of the script element holding the injected model (see webview-html.ts). */
export const INITIAL_DATA_ID = 'pktpath-initial';

export function isFromWebview(v: unknown): v is FromWebview {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as { type?: unknown; frame?: unknown; message?: unknown };
  switch (m.type) {
    case 'ready':
      return true;
    case 'openSource': {
      const f = m.frame as { fn?: unknown; module?: unknown } | null | undefined;
      return typeof f === 'object' && f !== null && typeof f.fn === 'string' && typeof f.module === 'string';
    }
    case 'error':
      return typeof m.message === 'string';
    case 'select':
      return isSelection((v as { selection?: unknown }).selection);
    default:
      return false;
  }
}

function isSelection(v: unknown): v is EditorSelection | null {
  if (v === null) return true;
  if (typeof v !== 'object' || v === undefined) return false;
  const s = v as Record<string, unknown>;
  const optStr = (x: unknown): boolean => x === null || typeof x === 'string';
  return optStr(s.stage) && optStr(s.anchor) && typeof s.label === 'string' && Number.isInteger(s.probe_at) &&
    Array.isArray(s.path) && s.path.length <= 512 && s.path.every((p) => typeof p === 'string');
}
