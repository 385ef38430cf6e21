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

/** Webview → host. */
export type FromWebview =
  /** The page has loaded and drawn the injected model; the host may start posting snapshots. */
  | { type: 'ready' }
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
    default:
      return false;
  }
}
