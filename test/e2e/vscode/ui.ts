// The UI walk-through a user would do: open the demo source, hover a stage function and read its
// cost, open the views (webview: iframe.webview.ready → #active-frame), open the Sessions tree.
// Screenshots go to the given folder.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
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

export async function runUiWalkthrough(o: { url: string; folder: string; session: string; shots: string; attachPid?: number; attachPid2?: number }): Promise<UiResult> {
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
    await page.goto(`${o.url}/?folder=${encodeURIComponent(o.folder)}`, { timeout: 120_000 });
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    say('workbench visible');
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
    // Quick Open the demo source, then go to the definition of fwd_parse.
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10000 });
    await input.fill('fwd.c');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fwd.c' }).first().waitFor({ timeout: 60000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
    const src = await (await import('node:fs/promises')).readFile(join(o.folder, 'native-tracer', 'demo', 'fwd.c'), 'utf8');
    const defLine = src.split('\n').findIndex((l) => /\bfwd_parse\s*\(/.test(l) && !l.trim().endsWith(';')) + 1;
    const gotoDef = async (): Promise<void> => {
      await page.keyboard.press('Control+G');
      await input.waitFor({ timeout: 10000 });
      await input.fill(`:${defLine}`);
      await page.keyboard.press('Enter');
    };
    await gotoDef();
    say(`fwd.c open at line ${defLine}`);
    const sym = page.locator('.monaco-editor .view-lines span', { hasText: /^fwd_parse$/ }).first();
    const other = page.locator('.monaco-editor .view-lines span', { hasText: /^uint16_t$/ }).first();
    await sym.waitFor({ timeout: 60000 });
    // The extension has activated and read the workspace's session when its CodeLens shows: wait
    // for that (a cold code-server on a busy machine took over 50 s), then hover.
    const lens = page.locator('.contentWidgets .codelens-decoration, .monaco-editor .codelens-decoration', { hasText: 'packet' }).first();
    await lens.waitFor({ timeout: 180_000 });
    say('codelens:', JSON.stringify(await lens.innerText()));
    const hover = page.locator('.monaco-hover:visible', { hasText: 'ns per packet' });
    for (let i = 0; ; i++) {
      try {
        if (i > 0) {
          // the lenses shift the lines as they arrive: bring the definition back into view if it left
          if ((await sym.count()) === 0) await gotoDef();
          // a hover that came back empty (extension still activating) is not recomputed for the
          // same word: hover another word first
          await other.hover({ timeout: 10000 });
          await page.waitForTimeout(300);
        }
        await sym.hover({ timeout: 10000 });
        await hover.waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (i >= 12) throw e;
        say('hover retry', String(i), (e as Error).message.split('\n')[0]!);
      }
    }
    const text = await hover.innerText();
    say('hover:', JSON.stringify(text));
    if (!/stage `?(fwd_)?parse/.test(text) || !/p50/.test(text) || !/probe overhead/.test(text)) throw new Error(`hover lacks the stage cost: ${text}`);
    await page.waitForTimeout(400);
    await shot(page, 'hover.png');
    await hover.screenshot({ path: join(o.shots, 'hover-only.png') });
    screenshots.push(join(o.shots, 'hover-only.png'));

    // Line heat (on by default): whole-line backgrounds on sampled lines of fwd.c.
    await page.mouse.move(0, 0);
    await page.keyboard.press('Escape');
    const heat = page.locator('.view-overlays div[class*="TextEditorDecorationType"]');
    await heat.first().waitFor({ timeout: 60000 });
    say('line heat: decorated lines in view', String(await heat.count()));
    await shot(page, 'line-heat.png');
    const webview = (): FrameLocator => page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const inner = webview();

    /** Attach through the pickers to `pid`; `stages` 'default' takes the pre-selected functions,
     * 'last' the set used last time. Resolves once the session is saved; returns its file name. */
    const attach = async (pid: number, stages: 'default' | 'last', shotPrefix: string): Promise<string> => {
      const before = new Set(readdirSync(join(o.folder, '.pktpath')));
      await palette(page, 'Packet Path: Attach to Process…');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'localhost' }).first().waitFor({ timeout: 15000 });
      await page.keyboard.press('Enter');
      const proc = page.locator('.quick-input-list .monaco-list-row', { hasText: `(${pid})` }).first();
      await proc.waitFor({ timeout: 60000 });
      say('process picker:', JSON.stringify((await proc.innerText()).slice(0, 160)));
      if (stages === 'default') await shot(page, `${shotPrefix}-process.png`);
      await input.fill(String(pid));
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      if (stages === 'last') {
        const last = page.locator('.quick-input-list .monaco-list-row', { hasText: 'last used for fwd' }).first();
        await last.waitFor({ timeout: 30000 });
        await last.click();
      } else {
        const stageRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'fwd_route_lookup' }).first();
        await stageRow.waitFor({ timeout: 60000 }); // after the 1 s sample of the process
        const checked = await page.$$eval('.quick-input-list .monaco-list-row[aria-checked="true"] .label-name', (xs) => xs.map((x) => (x.textContent ?? '').trim()));
        say('stage picker: pre-selected', checked.join(','));
        for (const fn of ['fwd_rx', 'fwd_tx']) if (!checked.includes(fn)) throw new Error(`${fn} ran but is not pre-selected: ${checked.join(',')}`);
        for (const fn of ['main', 'fwd_fill_routes', 'parse_uint', 'fwd_parse_options', 'port_init'])
          if (checked.includes(fn)) throw new Error(`${fn} (startup-only or the loop) is pre-selected: ${checked.join(',')}`);
        await shot(page, `${shotPrefix}-stages.png`);
        await page.keyboard.press('Enter');
      }
      // The views open on Attach and show this recording, not the previous session's numbers.
      const badge = inner.locator('.pp-status[data-recording="true"]');
      await badge.waitFor({ timeout: 30000 });
      const liveTitle = await inner.locator('.pp-title').innerText();
      say('live views:', JSON.stringify(liveTitle), JSON.stringify(await inner.locator('#verdict').innerText()));
      if (!liveTitle.includes(`pid ${pid}`)) throw new Error(`the live views show ${liveTitle}, not pid ${pid}`);
      const status = page.locator('.statusbar-item', { hasText: /pps · weakest/ }).first();
      await status.waitFor({ timeout: 150000 }); // the tracer's start (deploy, attach, calibrate) is slow on a loaded machine
      say('status bar:', JSON.stringify(await status.innerText()));
      await shot(page, `${shotPrefix}-live.png`);
      const done = page.locator('.notifications-toasts .notification-toast', { hasText: 'recording saved' }).first();
      await done.waitFor({ timeout: 120000 });
      say('notification:', JSON.stringify((await done.innerText()).slice(0, 200)));
      const added = readdirSync(join(o.folder, '.pktpath')).filter((f) => !before.has(f));
      say('saved:', added.join(', '));
      if (added.length !== 1 || !/^localhost-fwd-.*\.pktpath\.json$/.test(added[0]!)) throw new Error(`expected one new session, got ${added.join(', ')}`);
      const rec = JSON.parse(readFileSync(join(o.folder, '.pktpath', added[0]!), 'utf8')) as { stages: Array<{ name: string; packets: number }> };
      say('recorded stages:', rec.stages.map((x) => x.name).join(','), 'rx packets', String(rec.stages[0]?.packets));
      if (!(rec.stages[0]!.packets > 0)) throw new Error('no packets recorded');
      await page.locator('.notifications-toasts .notification-toast .codicon-notifications-clear, .notifications-toasts .notification-toast .codicon-close').first().click().catch(() => {});
      return added[0]!;
    };

    if (o.attachPid && o.attachPid2) {
      // 1. Attach with the default picks → the views open live → the verdict names fwd_tx.
      const first = await attach(o.attachPid, 'default', 'attach');
      const verdict = inner.locator('#verdict .pp-verdict-head');
      await inner.locator('.pp-status[data-recording="false"]').waitFor({ timeout: 30000 });
      const head = await verdict.innerText();
      say('verdict:', JSON.stringify(head));
      if (!/Weakest link: fwd_tx, /.test(head)) throw new Error(`the verdict does not name fwd_tx: ${head}`);
      // 2. No horizontal scroll in the views, beside the editor (half the window).
      const widths = await inner.locator('body').evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      say('views width (scroll, client):', widths.join(', '));
      if (widths[0]! > widths[1]!) throw new Error(`the views scroll sideways: ${widths.join(' > ')}`);
      if (widths[1]! > 800) throw new Error(`the views are not at half width: ${widths[1]} px`);
      await shot(page, 'verdict.png');
      await inner.locator('#verdict').screenshot({ path: join(o.shots, 'verdict-only.png') });
      screenshots.push(join(o.shots, 'verdict-only.png'));

      // 3. A second session after a change (the forwarder with --burst 1), then compare with the first.
      const second = await attach(o.attachPid2, 'last', 'attach2');
      await page.locator('.activitybar [aria-label^="Packet Path"]').first().click();
      const row = page.locator('.pane-body .monaco-list-row', { hasText: `(${o.attachPid2})` }).first();
      await row.waitFor({ timeout: 60000 });
      const base = page.locator('.quick-input-list .monaco-list-row', { hasText: `(${o.attachPid})` }).first();
      for (let i = 0; ; i++) {
        // A click on a context menu that is still being laid out can be lost: open it again.
        await row.click({ button: 'right' });
        const item = page.getByRole('menuitem', { name: 'Compare with…' });
        await item.waitFor({ timeout: 15000 });
        await item.click();
        try {
          await base.waitFor({ timeout: 15000 });
          break;
        } catch (e) {
          if (i >= 2) throw e;
          say('compare picker did not open: retrying the context menu');
          await page.keyboard.press('Escape');
        }
      }
      await base.click();
      await inner.locator('.pp-status', { hasText: 'compare' }).waitFor({ timeout: 30000 });
      const deltas = await inner.locator('td.pp-delta').allInnerTexts();
      say('compare deltas:', JSON.stringify(deltas));
      if (deltas.length < 2) throw new Error('no per-stage deltas in the compare view');
      await inner.locator('.pp-legend', { hasText: 'grew' }).waitFor({ timeout: 10000 });
      await shot(page, 'compare.png');
      // CodeLens deltas beside the stage functions of fwd.c
      await page.keyboard.press('Control+P');
      await input.waitFor({ timeout: 10000 });
      await input.fill('fwd.c');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fwd.c' }).first().waitFor({ timeout: 60000 });
      await page.keyboard.press('Enter');
      await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
      await page.keyboard.press('Control+G');
      await input.waitFor({ timeout: 10000 });
      const txLine = src.split('\n').findIndex((l) => /\bfwd_tx\s*\(/.test(l) && !l.trim().endsWith(';')) + 1;
      await input.fill(`:${txLine}`);
      await page.keyboard.press('Enter');
      await page.keyboard.press('Home');
      const deltaLens = page.locator('.codelens-decoration', { hasText: /vs .*\.pktpath\.json/ }).first();
      await deltaLens.waitFor({ timeout: 30000 });
      say('codelens with delta:', JSON.stringify(await deltaLens.innerText()));
      await shot(page, 'compare-codelens.png');
      say('sessions:', first, second);

      // 4. Select a frame in the views → line heat filters to it.
      // line heat is on: its inline numbers sit after the hot lines (CSS ::after content of a span)
      const inlineTexts = (): Promise<string[]> => page.evaluate(`[...document.querySelectorAll('.view-lines span')]
        .map((e) => getComputedStyle(e, '::after').content).filter((c) => c && c.includes('of samples'))`) as Promise<string[]>;
      const waitTexts = async (pred: (xs: string[]) => boolean, what: string): Promise<string[]> => {
        for (let i = 0; i < 60; i++) {
          const xs = await inlineTexts();
          if (pred(xs)) return xs;
          await page.waitForTimeout(500);
        }
        throw new Error(`inline line text: ${what}: ${JSON.stringify(await inlineTexts())}`);
      };
      const before = await waitTexts((xs) => xs.length > 0, 'none on the hot lines');
      say('inline line text before selecting:', JSON.stringify(before.slice(0, 4)));
      await inner.locator(`tr.pp-stage-row[data-stage="fwd_tx"] .pp-stage-name`).click(); // its lines are the ones in view
      const after = await waitTexts((xs) => xs.some((x) => x.includes('(selection)')), 'not filtered to the selection');
      say('inline line text after selecting fwd_tx:', JSON.stringify(after.slice(0, 4)));
      await shot(page, 'selection-line-heat.png');

      // 5. A window reload restores the open views.
      await page.reload();
      await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
      await webview().locator('#verdict').waitFor({ timeout: 60000 });
      const restored = await webview().locator('.pp-title').innerText();
      say('after reload the views show:', JSON.stringify(restored));
      if (!restored.includes(`pid ${o.attachPid2}`)) throw new Error(`the reloaded views show ${restored}`);
      await webview().locator('.pp-status', { hasText: 'compare' }).waitFor({ timeout: 30000 });
      await shot(page, 'reloaded.png');
    }

    // The Packet Path activity bar container with the Sessions tree.
    // (a reload keeps the side bar as it was: clicking an already open container would close it)
    const row = page.locator('.pane-body .monaco-list-row', { hasText: '@' }).first();
    if (!(await row.isVisible())) await page.locator('.activitybar [aria-label^="Packet Path"]').first().click();
    await row.waitFor({ timeout: 60000 });
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
