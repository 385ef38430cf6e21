// The webview's HTML, built in one place so the extension and the browser tests serve the same
// page. Strict CSP: no remote anything, scripts only with this page's nonce, styles only from the
// given stylesheet and <style> elements carrying the nonce (the toolkit's FAST runtime reads it from
// <meta property="csp-nonce"> for its feature probe); constructable stylesheets need no grant.
// The initial model is JSON inside a non-executing script element; every `<` is escaped so a
// symbol name like `</script><img onerror=...>` cannot end the element.

import { INITIAL_DATA_ID } from './messages.ts';
import type { ViewModel } from './view-types.ts';

export interface WebviewHtmlOptions {
  scriptUri: string; // dist/webview.js as the webview can load it (asWebviewUri)
  styleUri: string; // media/webview.css
  cspSource: string; // webview.cspSource, or the test server's origin
  nonce: string; // fresh per page: makeNonce()
  model: ViewModel | null; // null: wait for a `snapshot` message
  title?: string;
}

export function makeNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64').replace(/[+/=]/g, (c) => (c === '+' ? '-' : c === '/' ? '_' : ''));
}

/** JSON safe to place inside a <script> element: no `<`, and no U+2028/2029 line breaks. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function buildWebviewHtml(o: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(o.nonce)) throw new Error('webview nonce must be 16+ URL-safe base64 characters');
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'nonce-${o.nonce}'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  const data = o.model === null ? 'null' : jsonForScript(o.model);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta property="csp-nonce" content="${o.nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>${attr(o.title ?? 'pktpath')}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${o.nonce}" type="application/json" id="${INITIAL_DATA_ID}">${data}</script>
<script nonce="${o.nonce}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
