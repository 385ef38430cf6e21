// The real webview bundle in headless Chromium: packet path view, both flamegraphs, zoom,
// search, live update, open-source messages and hostile symbol names. Screenshots go to
// test-artifacts/webview/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureWebviewBundle, launchChromium, openWebview, ROOT, type WebviewPage } from '../helpers/browser.ts';
import { buildCompareViewModel, buildViewModel } from '../../src/core/view-model.ts';
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

/** Opens every stage's details row (each click re-renders the table). */
async function openAllDetails(w: WebviewPage): Promise<void> {
  const n = await w.page.locator('tr.pp-stage-row').count();
  for (let i = 0; i < n; i++) await w.page.locator('tr.pp-stage-row .pp-disclose').nth(i).click();
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
    // Every stage row shows its ns/packet; its details (opened on demand) a histogram with bars where it saw calls.
    await openAllDetails(w);
    const cells = await w.page.$$eval('tr.pp-stage-row', (trs) => trs.map((tr) => ({
      ns: tr.querySelector('.pp-ns-per-packet .pp-value')?.textContent ?? '',
      bars: tr.nextElementSibling?.classList.contains('pp-detail-row') ? tr.nextElementSibling.querySelectorAll('.pp-hist rect').length : -1,
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

test('bidi controls in a name are inert and a 10,000-character name makes a bounded tooltip', async () => {
  const s = syntheticSession({ nodes: 2000, seed: 3, hostile: true });
  const evil = `evil\u202egnp.exe\u2066${'x'.repeat(10_000)}`;
  for (const f of s.frames) if (f.fn === HOSTILE_NAME) f.fn = evil;
  const w = await openWebview(browser, buildViewModel(s));
  try {
    assert.ok(await clickNode(w, 'cpu', 'fwd_parse'));
    assert.ok(await clickNode(w, 'cpu', evil, true), 'the frame is drawn');
    await w.page.waitForSelector('#cpu-flame .pp-tooltip:not([hidden])');
    const name = (await w.page.textContent('#cpu-flame .pp-tooltip .pp-tt-name')) ?? '';
    assert.ok(name.startsWith('evil\ufffdgnp.exe\ufffdxxx'), name.slice(0, 40));
    assert.doesNotMatch(name, /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/);
    assert.ok(name.length <= 300 && name.endsWith('…'), `${name.length} characters`);
    const box = await w.page.locator('#cpu-flame .pp-tooltip').boundingBox();
    const vh = await w.page.evaluate('window.innerHeight') as number;
    assert.ok(box && box.width <= 700 && box.height <= 0.4 * vh + 2, `tooltip ${box?.width}x${box?.height} px`);
    await w.page.screenshot({ path: join(ART, 'hostile-bidi-tooltip.png') });
    assert.ok(await clickNode(w, 'cpu', evil));
    const last = (await crumbs(w, 'cpu-flame')).at(-1) ?? '';
    assert.ok(last.startsWith('evil\ufffdgnp.exe') && last.length <= 80, last.slice(0, 40));
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
      // the MutationObserver redraws on the class change and marks the body when it has
      await w.page.waitForFunction(`document.body.dataset.themeApplied === ${JSON.stringify(cls)}`);
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
    await openAllDetails(w);
    const details = await w.page.$$eval('tr.pp-detail-row', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(details.length, specs.length);
    assert.ok(details.every((t) => t.includes('none: sampled, no probes')), details.join('|'));
    assert.match(await w.page.getAttribute('tr.pp-stage-row td.pp-ns-per-packet', 'title') ?? '', /95% interval/);
    assert.match(await w.page.textContent('#verdict') ?? '', /Weakest link: /);
    assert.equal(await w.page.textContent('.pp-mode'), 'sampled');
    assert.ok((await canvasColours(w, 'latency-flame')) > 3);
    await w.page.screenshot({ path: join(ART, 'sampled-mode.png'), fullPage: true });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('the verdict comes first and names the weakest link; the table fits half an editor without scrolling sideways', async () => {
  const { session } = demoSession();
  const model = buildViewModel(session);
  // Half of a 1400 px window, less the activity bar: what one of two editor groups gets.
  const w = await openWebview(browser, model, { width: 660, height: 900 });
  try {
    const verdict = await w.page.textContent('#verdict') ?? '';
    assert.equal(verdict.includes(`Weakest link: ${model.verdict.weakest}`), true, verdict);
    assert.match(verdict, /one core sustains about [\d.]+ [kMG]?pps/);
    const order = await w.page.evaluate(`[...document.getElementById('app').children].map((e) => e.id || e.className)`) as string[];
    assert.ok(order.indexOf('verdict') < order.indexOf('packet-path'), `verdict before the table: ${order.join(',')}`);
    const sizes = await w.page.evaluate(`({ doc: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
      table: document.querySelector('table.pp-stages').scrollWidth, tableBox: document.querySelector('table.pp-stages').clientWidth })`) as
      { doc: number; view: number; table: number; tableBox: number };
    assert.ok(sizes.doc <= sizes.view, `page scrolls sideways: ${JSON.stringify(sizes)}`);
    assert.ok(sizes.table <= sizes.tableBox + 1, `table overflows: ${JSON.stringify(sizes)}`);
    // the spec is the name's tooltip, not text in the row
    const title = await w.page.getAttribute('tr.pp-stage-row .pp-stage-name', 'title');
    assert.ok(title?.includes(session.stages[0]!.spec), String(title));
    assert.equal(await w.page.locator('tr.pp-stage-row', { hasText: session.stages[0]!.spec }).count(), 0);
    await w.page.screenshot({ path: join(ART, 'half-width.png'), fullPage: true });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('stage colours follow the name, not the position', async () => {
  const { session } = demoSession();
  const a = buildViewModel(session);
  const b = buildViewModel({ ...session, stages: [...session.stages].reverse() });
  for (const s of a.stages) assert.equal(b.stages.find((x) => x.name === s.name)!.colour, s.colour, s.name);
  assert.equal(new Set(a.stages.map((s) => s.colour)).size, a.stages.length, 'each stage its own colour');
  const w = await openWebview(browser, a);
  try {
    const swatches = await w.page.$$eval('tr.pp-stage-row .pp-swatch', (xs) => xs.map((x) => (x as HTMLElement).style.background));
    assert.equal(new Set(swatches).size, swatches.length, swatches.join(' '));
  } finally {
    await w.page.close();
  }
});

test('probe machinery is one "probe" frame in the CPU flamegraph, never inside a stage\'s latency width', () => {
  const { session, recorded } = demoSession();
  const m = buildViewModel(session);
  const names = (d: FlameData): string[] => d.frame.map((f) => d.frames[f]!.name);
  for (const fn of ['asm_exc_int3', 'uprobe_notify_resume', 'handler_chain', '__x64_sys_uretprobe']) {
    assert.ok(!names(m.cpuFlame).includes(fn), `${fn} folded in the CPU flamegraph`);
    assert.ok(!names(m.latencyFlame).includes(fn), `${fn} not in the latency flamegraph`);
  }
  assert.ok(!names(m.cpuFlame).some((n) => n.startsWith('bpf_prog_')));
  if (recorded) {
    assert.ok(m.probe && m.probe.samples > 0, 'the demo recording has probe samples');
    const probeNodes = m.cpuFlame.frame.filter((f) => m.cpuFlame.frames[f]!.kind === 'probe').length;
    assert.ok(probeNodes > 0);
  }
});

test('compare: deltas per stage, a differential flamegraph, a summary of what changed beyond noise', async () => {
  const { session } = demoSession();
  // B: fwd_tx twice as slow per call, and twice the samples under it
  const fnTx = session.frames.find((f) => f.fn === 'fwd_tx')?.id;
  const b: Session = {
    ...session, created: new Date(Date.parse(session.created) + 60000).toISOString(),
    stages: session.stages.map((st) => (st.name !== 'fwd_tx' ? st : {
      ...st, sum_ns: st.sum_ns * 2, timeline: st.timeline.map((p) => ({ ...p, sum_ns: p.sum_ns * 2 })),
      buckets: st.buckets.map(([i, c]) => [Math.min(i + 16, 559), c] as [number, number]),
    })),
    stacks: session.stacks.map((s) => (fnTx !== undefined && s.frames.includes(fnTx) ? { ...s, count: s.count * 3 } : s)),
  };
  const m = buildCompareViewModel(b, session);
  const w = await openWebview(browser, m, { width: 660, height: 900 });
  try {
    const tx = m.compare!.stages.find((s) => s.name === 'fwd_tx')!;
    assert.ok(tx.delta_pct! > 50 && tx.significant, JSON.stringify(tx));
    const cell = w.page.locator('tr.pp-stage-row[data-stage="fwd_tx"] td.pp-delta');
    assert.match(await cell.textContent() ?? '', /^\+.*\(\+\d+\.\d%\)beyond noise$/);
    assert.equal(await cell.getAttribute('data-significant'), 'true');
    assert.match(await w.page.textContent('.pp-compare-summary') ?? '', /fwd_tx \+/);
    assert.equal(await w.page.textContent('.pp-status'), 'compare');
    // the differential flamegraphs: grown nodes, the stage node of fwd_tx at a positive level
    const lat = m.latencyFlame;
    const txNode = lat.frame.findIndex((f) => lat.frames[f]!.kind === 'stage' && lat.frames[f]!.name === 'fwd_tx');
    assert.ok(lat.diff!.level[txNode]! > 0);
    assert.ok(m.cpuFlame.diff!.level.some((l) => l > 0), 'the CPU flamegraph shows growth');
    const sizes = await w.page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]') as number[];
    assert.ok(sizes[0]! <= sizes[1]!, `no sideways scroll in compare mode: ${sizes.join(' > ')}`);
    assert.ok((await canvasColours(w, 'cpu-flame')) > 3);
    await w.page.screenshot({ path: join(ART, 'compare.png'), fullPage: true });
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('selecting a frame or a stage tells the host; another session resets zoom, search and selection', async () => {
  const { session } = demoSession();
  const w = await openWebview(browser, buildViewModel(session, { key: 'file:///a' }));
  try {
    const stage = session.stages[1]!.name;
    assert.ok(await clickNode(w, 'cpu', stage));
    let sel = (await w.posted()).filter((m) => m.type === 'select').at(-1);
    assert.ok(sel?.type === 'select' && sel.selection);
    assert.equal(sel.selection.path.at(-1), stage);
    assert.equal(sel.selection.stage, stage);
    await w.page.locator('#cpu-flame canvas').press('Escape');
    sel = (await w.posted()).filter((m) => m.type === 'select').at(-1);
    assert.ok(sel?.type === 'select' && sel.selection === null, 'Escape clears the selection');
    await w.page.locator(`tr.pp-stage-row[data-stage="${stage}"] .pp-stage-name`).click();
    sel = (await w.posted()).filter((m) => m.type === 'select').at(-1);
    assert.ok(sel?.type === 'select' && sel.selection?.stage === stage && sel.selection.anchor !== null);
    // zoom and search, then a snapshot of another session: back to the whole graph
    assert.ok(await clickNode(w, 'cpu', stage));
    await w.page.locator('#cpu-flame .pp-search input').fill('fwd');
    await w.page.waitForFunction('__pktpath.app.cpu.lastSearch !== null');
    await w.send({ type: 'snapshot', model: buildViewModel(session, { key: 'file:///b' }) });
    await w.page.waitForFunction('__pktpath.app.cpu.lastSearch === null');
    assert.deepEqual(await crumbs(w, 'cpu-flame'), ['all samples']);
    assert.equal(await w.page.evaluate('__pktpath.app.cpu.selectedPath'), null);
    assert.equal(await w.page.locator('#cpu-flame .pp-search input').inputValue(), '');
    sel = (await w.posted()).filter((m) => m.type === 'select').at(-1);
    assert.ok(sel?.type === 'select' && sel.selection === null, 'the editor filter is cleared with the session');
    assert.deepEqual(w.errors, []);
  } finally {
    await w.page.close();
  }
});

test('setState keeps zoom, search and the open details; a reloaded page restores them', async () => {
  const { session } = demoSession();
  const model = buildViewModel(session, { key: 'file:///s' });
  const w = await openWebview(browser, model);
  let saved: unknown;
  const stage = session.stages[1]!.name;
  try {
    assert.ok(await clickNode(w, 'cpu', stage));
    await w.page.locator('#cpu-flame .pp-search input').fill('fwd_r');
    await w.page.waitForFunction('__pktpath.app.cpu.lastSearch !== null');
    await w.page.locator('tr.pp-stage-row .pp-disclose').first().click();
    saved = await w.state();
    assert.equal((saved as { session_key: string }).session_key, 'file:///s');
  } finally {
    await w.page.close();
  }
  const again = await openWebview(browser, model, undefined, saved);
  try {
    assert.equal((await crumbs(again, 'cpu-flame')).at(-1), stage);
    assert.equal(await again.page.locator('#cpu-flame .pp-search input').inputValue(), 'fwd_r');
    assert.equal(await again.page.locator('tr.pp-detail-row').count(), 1);
  } finally {
    await again.page.close();
  }
  // state of another session is not applied
  const other = await openWebview(browser, buildViewModel(session, { key: 'file:///t' }), undefined, saved);
  try {
    assert.deepEqual(await crumbs(other, 'cpu-flame'), ['all samples']);
  } finally {
    await other.page.close();
  }
});
