// The real webview bundle in headless Chromium: packet path view, both flamegraphs, zoom,
// search, live update, open-source messages and hostile symbol names. Screenshots go to
// test-artifacts/webview/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureWebviewBundle, launchChromium, openWebview, ROOT, type WebviewPage } from '../helpers/browser.ts';
import { buildViewModel } from '../../src/core/view-model.ts';
import { parseSession } from '../../src/core/session-io.ts';
import type { Session } from '../../src/core/session.ts';
import type { FlameData, ViewModel } from '../../src/shared/view-types.ts';
import { HOSTILE_NAME, syntheticSession } from '../../bench/render-synthetic.ts';
import { attributeSamples } from '../../src/core/sampled.ts';

const ART = join(ROOT, 'test-artifacts', 'webview');
const FIXTURE = join(ROOT, 'test/fixtures/demo-session.pktpath.json');

/** The demo forwarder's recorded session when committed; else a SYNTHETIC one of the same shape. */
function demoSession(): { session: Session; recorded: boolean } {
  if (existsSync(FIXTURE)) return { session: parseSession(readFileSync(FIXTURE), FIXTURE), recorded: true };
  return { session: syntheticSession({ nodes: 4000, seed: 7 }), recorded: false };
}

/** Share of the root that frames whose name contains `q` cover, outermost matches only. */
function expectedShare(d: FlameData, q: string): number {
  let sum = 0;
  const needle = q.toLowerCase();
  for (let i = 0; i < d.frame.length;) {
    const f = d.frames[d.frame[i]!]!;
    if (f.kind !== 'root' && f.name.toLowerCase().includes(needle)) {
      sum += d.total[i]!;
      let j = i + 1;
      while (j < d.frame.length && d.depth[j]! > d.depth[i]!) j++;
      i = j;
    } else i++;
  }
  return sum / d.total[0]!;
}

/** Distinct colours in a canvas: a blank canvas has one. */
async function canvasColours(w: WebviewPage, id: string): Promise<number> {
  return w.page.evaluate(`(() => {
    const c = document.querySelector('#${id} canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, Math.min(c.height, 400)).data;
    const s = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) s.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return s.size;
  })()`);
}

/** Clicks the first node named `name` in a flamegraph ('cpu' or 'latency'); returns false if hidden. */
async function clickNode(w: WebviewPage, view: 'cpu' | 'latency', name: string, hoverOnly = false): Promise<boolean> {
  const p = await w.page.evaluate(`(() => {
    const v = __pktpath.app.${view};
    const n = v.findNode(${JSON.stringify(name)});
    if (n < 0) return null;
    v.root.scrollIntoView({ block: 'start' });
    return v.nodeCentre(n);
  })()`) as { x: number; y: number } | null;
  if (!p) return false;
  await w.page.mouse.move(p.x, p.y);
  if (!hoverOnly) await w.page.mouse.click(p.x, p.y);
  return true;
}

const crumbs = (w: WebviewPage, id: string): Promise<string[]> =>
  w.page.$$eval(`#${id} .pp-breadcrumb button`, (bs) => bs.map((b) => b.textContent ?? ''));

let browser: Browser;
before(async () => {
  mkdirSync(ART, { recursive: true });
  await ensureWebviewBundle();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('packet path view and both flamegraphs render the demo session', async (t) => {
  const { session, recorded } = demoSession();
  if (!recorded) t.diagnostic('no recorded fixture yet: using a SYNTHETIC session');
  const model = buildViewModel(session);
  const w = await openWebview(browser, model);
  try {
    const rows = await w.page.$$eval('tr.pp-stage-row', (trs) => trs.map((tr) => tr.getAttribute('data-stage')));
    assert.deepEqual(rows, session.stages.map((s) => s.name));
    // Every stage row shows its ns/packet and a histogram with bars where it saw calls.
    const cells = await w.page.$$eval('tr.pp-stage-row', (trs) => trs.map((tr) => ({
      ns: tr.querySelector('.pp-ns-per-packet .pp-value')?.textContent ?? '',
      bars: tr.querySelectorAll('.pp-hist rect').length,
    })));
    cells.forEach((c, i) => {
      const st = model.stages[i]!;
      if (st.calls > 0) {
        assert.match(c.ns, /\d/, `stage ${st.name} shows ns/packet`);
        assert.equal(c.bars, st.histogram.length, `stage ${st.name} histogram bars`);
      }
    });
    const indicator = await w.page.textContent('.pp-mode');
    if (model.stages.some((s) => s.corrected)) assert.match(indicator ?? '', /^corrected by /);
    else assert.equal(indicator, 'raw');
    assert.ok((await canvasColours(w, 'cpu-flame')) > 5, 'CPU flamegraph canvas is not blank');
    assert.ok((await canvasColours(w, 'latency-flame')) > 3, 'latency flamegraph canvas is not blank');
    const stats = await w.page.evaluate('({ cpu: __pktpath.app.cpu.stats, lat: __pktpath.app.latency.stats })') as
      { cpu: { nodes: number; drawn: number }; lat: { nodes: number; drawn: number } };
    assert.equal(stats.cpu.nodes, model.cpuFlame.frame.length);
    assert.ok(stats.cpu.drawn > 10, `drew ${stats.cpu.drawn} CPU frames`);
    assert.ok(stats.lat.drawn >= 1 + model.stages.filter((s) => (s.shown.ns_per_packet ?? 0) > 0).length);
    await w.page.screenshot({ path: join(ART, 'demo-light.png'), fullPage: true });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('click zooms (breadcrumb, reset), posts openSource; search reports the share; live update keeps them', async () => {
  const { session } = demoSession();
  const model = buildViewModel(session, { recording: true });
  const w = await openWebview(browser, model);
  try {
    const stage = model.stages[1]!.name; // fwd_parse in the demo
    assert.ok(await clickNode(w, 'cpu', stage), `${stage} is drawn in the CPU flamegraph`);
    const path = await crumbs(w, 'cpu-flame');
    assert.equal(path.at(-1), stage);
    assert.equal(path[0], 'all samples');
    const posted = await w.posted();
    const open = posted.filter((m) => m.type === 'openSource');
    assert.equal(open.length, 1);
    assert.equal(open[0]!.type === 'openSource' && open[0]!.frame.fn, stage);
    await w.page.screenshot({ path: join(ART, 'zoomed.png'), fullPage: true });

    // Search: the page's share equals the share computed from the model.
    const q = model.stages[2]!.name.slice(0, 8); // e.g. "fwd_rout"
    await w.page.locator('#cpu-flame .pp-search input').fill(q);
    await w.page.waitForFunction('__pktpath.app.cpu.lastSearch !== null');
    const got = await w.page.evaluate('__pktpath.app.cpu.lastSearch') as { share: number; nodes: number };
    assert.ok(Math.abs(got.share - expectedShare(model.cpuFlame, q)) < 1e-9, `share ${got.share}`);
    assert.ok(got.share > 0 && got.nodes > 0);
    assert.match(await w.page.textContent('#cpu-flame .pp-search-result') ?? '', /% of samples match/);

    // Live: a new snapshot (more samples, a different tree) keeps zoom, selection and search.
    const next = buildViewModel(session.stacks.length > 0 && existsSync(FIXTURE)
      ? { ...session, stacks: session.stacks.map((s, i) => ({ ...s, count: s.count * (1 + (i % 3)) })) }
      : syntheticSession({ nodes: 5000, seed: 8, scale: 2 }), { recording: true });
    await w.send({ type: 'snapshot', model: next });
    await w.page.waitForFunction(`__pktpath.app.cpu.stats.nodes === ${next.cpuFlame.frame.length}`);
    assert.equal((await crumbs(w, 'cpu-flame')).at(-1), stage);
    const sel = await w.page.evaluate('__pktpath.app.cpu.selectedPath') as string[] | null;
    assert.equal(sel?.at(-1), stage);
    assert.equal(await w.page.locator('#cpu-flame .pp-search input').inputValue(), q);
    const after2 = await w.page.evaluate('__pktpath.app.cpu.lastSearch') as { share: number };
    assert.ok(Math.abs(after2.share - expectedShare(next.cpuFlame, q)) < 1e-9);

    // Reset returns to the root; a breadcrumb click zooms out.
    await w.page.locator('#cpu-flame .pp-reset').click();
    assert.deepEqual(await crumbs(w, 'cpu-flame'), ['all samples']);
    // The latency flamegraph: stages are its root's children; clicking one zooms it.
    assert.ok(await clickNode(w, 'latency', stage));
    assert.deepEqual(await crumbs(w, 'latency-flame'), ['packet path', stage]);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('hostile symbol names render as text, in the canvas, tooltip and breadcrumb', async () => {
  const s = syntheticSession({ nodes: 2000, seed: 3, hostile: true });
  const model: ViewModel = buildViewModel(s, { title: '</script><img src=x onerror=window.__pwned=1>' });
  const w = await openWebview(browser, model);
  try {
    assert.equal(await w.page.textContent('.pp-title'), '</script><img src=x onerror=window.__pwned=1>');
    assert.ok(await clickNode(w, 'cpu', 'fwd_parse'));
    assert.ok(await clickNode(w, 'cpu', HOSTILE_NAME, true), 'hostile frame is drawn');
    await w.page.waitForSelector('#cpu-flame .pp-tooltip:not([hidden])');
    assert.equal(await w.page.textContent('#cpu-flame .pp-tooltip .pp-tt-name'), HOSTILE_NAME);
    await w.page.screenshot({ path: join(ART, 'hostile-tooltip.png') });
    assert.ok(await clickNode(w, 'cpu', HOSTILE_NAME));
    assert.equal((await crumbs(w, 'cpu-flame')).at(-1), HOSTILE_NAME);
    const open = (await w.posted()).filter((m) => m.type === 'openSource');
    assert.equal(open.at(-1)?.type === 'openSource' && open.at(-1)?.frame.fn, HOSTILE_NAME);
    assert.equal(await w.page.evaluate('typeof window.__pwned'), 'undefined');
    assert.equal(await w.page.evaluate('document.querySelectorAll("img").length'), 0);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('dark and high-contrast themes: canvas follows the VS Code variables', async () => {
  const { session } = demoSession();
  const w = await openWebview(browser, buildViewModel(session));
  try {
    const themes: Array<[string, Record<string, string>, [number, number, number]]> = [
      ['vscode-dark', { '--vscode-editor-background': '#1e1e1e', '--vscode-editor-foreground': '#cccccc',
        '--vscode-charts-blue': '#3794ff', '--vscode-descriptionForeground': '#9d9d9d' }, [0x1e, 0x1e, 0x1e]],
      ['vscode-high-contrast', { '--vscode-editor-background': '#000000', '--vscode-editor-foreground': '#ffffff',
        '--vscode-contrastBorder': '#6fc3df' }, [0, 0, 0]],
    ];
    for (const [cls, vars, bg] of themes) {
      await w.page.evaluate(`(() => {
        const vars = ${JSON.stringify(vars)};
        for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
        document.body.className = ${JSON.stringify(cls)};
      })()`);
      await w.page.waitForTimeout(50); // the MutationObserver redraws on the class change
      const px = await w.page.evaluate(`(() => {
        const c = document.querySelector('#cpu-flame canvas');
        return Array.from(c.getContext('2d').getImageData(c.width - 2, c.height - 2, 1, 1).data.slice(0, 3));
      })()`);
      assert.deepEqual(px, bg, `${cls}: canvas background`);
      await w.page.screenshot({ path: join(ART, `demo-${cls.replace('vscode-', '')}.png`), fullPage: true });
    }
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('300k-node CPU flamegraph: sub-pixel culling bounds the drawn frames; zoom and search still work', async () => {
  const model = buildViewModel(syntheticSession({ nodes: 300000, seed: 11 }));
  const w = await openWebview(browser, model);
  try {
    const s = await w.page.evaluate('__pktpath.app.cpu.stats') as { nodes: number; drawn: number; merged: number; lastDrawMs: number };
    assert.equal(s.nodes, model.cpuFlame.frame.length);
    assert.ok(s.nodes > 250000);
    // A 1.4k-px wide canvas can show at most ~2 frames per pixel per row: culling keeps the
    // drawn count at a few thousand instead of 300k.
    assert.ok(s.drawn > 100 && s.drawn < 20000, `drew ${s.drawn} of ${s.nodes}`);
    assert.ok(s.merged > 0, 'runs of sub-pixel frames are merged');
    assert.ok(await clickNode(w, 'cpu', 'fwd_tx'));
    assert.equal((await crumbs(w, 'cpu-flame')).at(-1), 'fwd_tx');
    const z = await w.page.evaluate('__pktpath.app.cpu.stats') as { drawn: number };
    assert.ok(z.drawn > 100 && z.drawn < 20000);
    await w.page.locator('#cpu-flame .pp-search input').fill('kfunc_1');
    await w.page.waitForFunction('__pktpath.app.cpu.lastSearch !== null');
    const got = await w.page.evaluate('__pktpath.app.cpu.lastSearch') as { share: number };
    assert.ok(Math.abs(got.share - expectedShare(model.cpuFlame, 'kfunc_1')) < 1e-9);
    await w.page.screenshot({ path: join(ART, 'large-300k-zoomed.png') });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('sampled-mode session: ns/packet with its interval, no probe overhead claimed', async () => {
  const { session } = demoSession();
  const specs = session.stages.map((s) => ({ name: s.name, symbol: s.attach.symbol ?? s.name, module: null }));
  const a = attributeSamples(session.frames, session.stacks, specs);
  const sampled: Session = {
    ...session, stages: [],
    sampled: {
      sample_hz: session.sample_hz, samples: a.samples, unattributed: a.unattributed, window_s: session.duration_s,
      packets: 60000, packets_source: 'test counter', counter_packets: 60000, counter_window_s: session.duration_s, stages: a.stages,
    },
  };
  const model = buildViewModel(sampled);
  const w = await openWebview(browser, model);
  try {
    assert.equal(await w.page.locator('tr.pp-stage-row').count(), specs.length);
    const overhead = await w.page.$$eval('td.pp-overhead', (tds) => tds.map((td) => td.textContent));
    assert.ok(overhead.every((t) => t === 'none: sampled, no probes'), overhead.join('|'));
    assert.match(await w.page.textContent('tr.pp-stage-row td.pp-ns-per-packet') ?? '', /95% CI/);
    assert.equal(await w.page.textContent('.pp-mode'), 'sampled');
    assert.ok((await canvasColours(w, 'latency-flame')) > 3);
    await w.page.screenshot({ path: join(ART, 'sampled-mode.png'), fullPage: true });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});
