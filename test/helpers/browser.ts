// Loads the real webview (dist/webview.js + media/webview.css, the page from webview-html.ts) in
// headless Chromium with a stubbed acquireVsCodeApi that records what the page posts. The page is
// served from a made-up origin through request interception: no listening socket, no network.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWebviewHtml, makeNonce } from '../../src/shared/webview-html.ts';
import type { FromWebview, ToWebview, ViewModel } from '../../src/shared/messages.ts';

export const ROOT = join(__dirname, '..', '..');
const ORIGIN = 'https://pktpath-webview.test';
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-quic', '--disable-sync',
];

/** Builds dist/webview.js with the project's esbuild config; only the webview bundle if the
 * others do not build right now (they belong to other work in progress). */
export async function ensureWebviewBundle(): Promise<string> {
  const out = join(ROOT, 'dist', 'webview.js');
  try {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [join(ROOT, 'webview/main.ts')], outfile: out, bundle: true, sourcemap: true,
      platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'warning',
    });
  }
  if (!existsSync(out) || statSync(out).size === 0) throw new Error(`${out} was not built`);
  return out;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface WebviewPage {
  page: Page;
  errors: string[]; // page errors, console errors and CSP violations
  posted(): Promise<FromWebview[]>;
  send(m: ToWebview): Promise<void>;
  /** What the page last saved with setState (what VS Code hands back after a reload). */
  state(): Promise<unknown>;
}

export async function openWebview(
  browser: Browser, model: ViewModel | null, viewport = { width: 1400, height: 1000 }, state: unknown = undefined,
): Promise<WebviewPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  const script = readFileSync(join(ROOT, 'dist', 'webview.js'));
  const css = readFileSync(join(ROOT, 'media', 'webview.css'));
  const html = buildWebviewHtml({
    scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/media/webview.css`, cspSource: ORIGIN,
    nonce: makeNonce(), model, title: 'pktpath test',
  });
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/`) return route.fulfill({ contentType: 'text/html', body: html });
    if (url === `${ORIGIN}/dist/webview.js`) return route.fulfill({ contentType: 'text/javascript', body: script });
    if (url === `${ORIGIN}/media/webview.css`) return route.fulfill({ contentType: 'text/css', body: css });
    errors.push(`unexpected request: ${url}`);
    return route.abort();
  });
  // A string, not a function: tsx would wrap named functions in helpers the page does not have.
  await page.addInitScript(`
    window.__posted = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber + ' ' + e.sample);
    });
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => window.__state,
      setState: (s) => { window.__state = JSON.parse(JSON.stringify(s)); },
    });
    window.__state = ${JSON.stringify(state ?? null)} ?? undefined;
  `);
  await page.goto(`${ORIGIN}/`);
  try {
    await page.waitForFunction('window.__posted.some((m) => m.type === "ready")', undefined, { timeout: 20000 });
  } catch (e) {
    throw new Error(`webview never posted ready: ${errors.join('; ') || String(e)}`);
  }
  return {
    page,
    errors,
    posted: () => page.evaluate('window.__posted') as Promise<FromWebview[]>,
    send: async (m) => { await page.evaluate(`window.postMessage(${JSON.stringify(m)}, '*')`); },
    state: () => page.evaluate('window.__state ?? null'),
  };
}
