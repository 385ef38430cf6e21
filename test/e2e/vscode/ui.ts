// The UI walk-through a user would do: open the demo source, hover a stage function and read its
// cost, open the views (webview: iframe.webview.ready → #active-frame), open the Sessions tree.
// Screenshots go to the given folder.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from './drive.ts';

export interface UiResult {
  ok: boolean;
  log: string[];
  screenshots: string[];
}

async function palette(page: Page, command: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let i = 0; ; i++) {
    // Focus can sit in a webview, which swallows the keybinding: click the editor first.
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press(i % 2 ? 'Control+Shift+P' : 'F1');
    try {
      await input.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (i >= 4) throw e;
    }
  }
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press('Enter');
}

export async function runUiWalkthrough(o: { url: string; folder: string; session: string; shots: string; attachPid?: number }): Promise<UiResult> {
  const log: string[] = [];
  const t0 = Date.now();
  const say = (...a: string[]): void => void log.push(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${a.join(' ')}`);
  const screenshots: string[] = [];
  const shot = async (page: Page, name: string): Promise<void> => {
    const p = join(o.shots, name);
    await page.screenshot({ path: p });
    screenshots.push(p);
  };
  const browser = await launchBrowser();
  let ok = true;
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    page.on('pageerror', (e) => say('pageerror', e.message));
    await page.goto(`${o.url}/?folder=${encodeURIComponent(o.folder)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    say('workbench visible');
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
    // Quick Open the demo source, then go to the definition of fwd_parse.
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10000 });
    await input.fill('fwd.c');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fwd.c' }).first().waitFor({ timeout: 20000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
    await page.keyboard.press('Control+G');
    await input.waitFor({ timeout: 10000 });
    const src = await (await import('node:fs/promises')).readFile(join(o.folder, 'native-tracer', 'demo', 'fwd.c'), 'utf8');
    const defLine = src.split('\n').findIndex((l) => /\bfwd_parse\s*\(/.test(l) && !l.trim().endsWith(';')) + 1;
    await input.fill(`:${defLine}`);
    await page.keyboard.press('Enter');
    say(`fwd.c open at line ${defLine}`);
    const sym = page.locator('.monaco-editor .view-lines span', { hasText: /^fwd_parse$/ }).first();
    const other = page.locator('.monaco-editor .view-lines span', { hasText: /^uint16_t$/ }).first();
    await sym.waitFor({ timeout: 20000 });
    const hover = page.locator('.monaco-hover:visible', { hasText: 'ns per packet' });
    for (let i = 0; ; i++) {
      // A hover that came back empty (extension still activating) is not recomputed for the same
      // word: hover another word first.
      if (i > 0) {
        await other.hover();
        await page.waitForTimeout(300);
      }
      await sym.hover();
      try {
        await hover.waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (i >= 12) throw e;
        say('hover retry', String(i));
      }
    }
    const text = await hover.innerText();
    say('hover:', JSON.stringify(text));
    if (!/stage `?(fwd_)?parse/.test(text) || !/p50/.test(text) || !/probe overhead/.test(text)) throw new Error(`hover lacks the stage cost: ${text}`);
    await page.waitForTimeout(400);
    await shot(page, 'hover.png');
    await hover.screenshot({ path: join(o.shots, 'hover-only.png') });
    screenshots.push(join(o.shots, 'hover-only.png'));
    const lens = page.locator('.contentWidgets .codelens-decoration, .monaco-editor .codelens-decoration', { hasText: 'packet' }).first();
    await lens.waitFor({ timeout: 15000 });
    say('codelens:', JSON.stringify(await lens.innerText()));

    // Line heat (on by default): whole-line backgrounds on sampled lines of fwd.c.
    await page.mouse.move(0, 0);
    await page.keyboard.press('Escape');
    const heat = page.locator('.view-overlays div[class*="TextEditorDecorationType"]');
    await heat.first().waitFor({ timeout: 20000 });
    say('line heat: decorated lines in view', String(await heat.count()));
    await shot(page, 'line-heat.png');
    await palette(page, 'Packet Path: Show Views');
    const inner = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const table = inner.locator('#packet-path');
    await table.waitFor({ timeout: 30000 });
    const tableText = await table.innerText();
    say('views: packet path table', JSON.stringify(tableText.slice(0, 200)));
    if (!/parse/.test(tableText)) throw new Error(`packet path table lacks the parse stage: ${tableText}`);
    await inner.locator('#cpu-flame').waitFor({ timeout: 10000 });
    await page.waitForTimeout(500);
    await shot(page, 'views.png');

    // Attach to Process… through its pickers: localhost, the forwarder from discovery, the pre-selected stages.
    if (o.attachPid) {
      const before = new Set(readdirSync(join(o.folder, '.pktpath')));
      await palette(page, 'Packet Path: Attach to Process…');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'localhost' }).first().waitFor({ timeout: 15000 });
      await page.keyboard.press('Enter');
      const proc = page.locator('.quick-input-list .monaco-list-row', { hasText: `(${o.attachPid})` }).first();
      await proc.waitFor({ timeout: 60000 });
      say('process picker:', JSON.stringify((await proc.innerText()).slice(0, 160)));
      await shot(page, 'attach-process.png');
      await input.fill(String(o.attachPid));
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      const stageRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'fwd_route_lookup' }).first();
      await stageRow.waitFor({ timeout: 30000 });
      const checked = await page.locator('.quick-input-list .monaco-list-row[aria-checked="true"]').count();
      say('stage picker: pre-selected', String(checked));
      if (checked !== 5) throw new Error(`expected the 5 stage-like functions pre-selected, got ${checked}`);
      await shot(page, 'attach-stages.png');
      await page.keyboard.press('Enter');
      const status = page.locator('.statusbar-item', { hasText: /pps · weakest/ }).first();
      await status.waitFor({ timeout: 60000 });
      say('status bar:', JSON.stringify(await status.innerText()));
      await shot(page, 'recording.png');
      const done = page.locator('.notifications-toasts .notification-toast', { hasText: 'recording saved' }).first();
      await done.waitFor({ timeout: 60000 });
      say('notification:', JSON.stringify((await done.innerText()).slice(0, 200)));
      const added = readdirSync(join(o.folder, '.pktpath')).filter((f) => !before.has(f));
      say('saved:', added.join(', '));
      if (added.length !== 1 || !/^localhost-fwd-.*\.pktpath\.json$/.test(added[0]!)) throw new Error(`expected one new session, got ${added.join(', ')}`);
      const rec = JSON.parse(readFileSync(join(o.folder, '.pktpath', added[0]!), 'utf8')) as { stages: Array<{ name: string; packets: number }> };
      const names = rec.stages.map((x) => x.name).join(',');
      say('recorded stages:', names, 'rx packets', String(rec.stages[0]?.packets));
      if (names !== 'fwd_rx,fwd_parse,fwd_route_lookup,fwd_rewrite,fwd_tx') throw new Error(`stages not in source (path) order: ${names}`);
      if (!(rec.stages[0]!.packets > 0)) throw new Error('no packets recorded');
    }

    // The Packet Path activity bar container with the Sessions tree.
    await page.locator('.activitybar [aria-label^="Packet Path"]').first().click();
    const row = page.locator('.pane-body .monaco-list-row', { hasText: '@' }).first();
    await row.waitFor({ timeout: 20000 });
    say('sessions tree:', JSON.stringify(await row.innerText()));
    await shot(page, 'sessions.png');
  } catch (e) {
    ok = false;
    say('FAIL', (e as Error).message);
    const ctxs = browser.contexts();
    const pages = ctxs[0]?.pages() ?? [];
    if (pages[0]) await shot(pages[0], 'failure.png').catch(() => {});
  } finally {
    await browser.close();
  }
  return { ok, log, screenshots };
}
