// Render benchmark: our canvas flamegraph (the real webview bundle) against the named baseline
// "d3-flame-graph 5" (SVG), on the same SYNTHETIC trees, in the same headless Chromium run.
//   node --import tsx bench/render.ts [--sizes 1000,10000,100000,300000] [--runs 5]
// First paint: from handing the tree to the view until just after the next frame was painted
// (requestAnimationFrame, then a task; both views get the same wait, so both include up to one
// vsync interval of waiting). Zoom: zoom into one stage's subtree (~1/6 of the graph) and back, same waits;
// for ours also the synchronous redraw time (the work that has to fit in a 16 ms frame).
// Results are printed as a table and saved to bench/results/render-<time>.json.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { ensureWebviewBundle, launchChromium, openWebview, ROOT } from '../test/helpers/browser.ts';
import { syntheticSession } from './render-synthetic.ts';
import { buildCpuFlame } from '../src/core/flamegraph.ts';
import { buildViewModel } from '../src/core/view-model.ts';
import type { FlameData } from '../src/shared/view-types.ts';

const BASELINE = 'd3-flame-graph 5';
const TARGET_FIRST_PAINT_MS = 150; // at 100k nodes
const TARGET_ZOOM_MS = 16;
const ZOOM_STAGE = 'fwd_route_lookup';
const ZOOM_DEPTH = 3; // all samples → main → fwd_main_loop → stage

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const SIZES = arg('sizes', '1000,10000,100000,300000').split(',').map(Number);
const RUNS = Number(arg('runs', '5'));
const cpus = availableParallelism();
// One baseline step (a first paint or a zoom) may take this long; past it the size is reported as
// "> cap" so the bench ends in minutes (d3-flame-graph needs minutes at 300k nodes here).
const BASE_CAP_MS = Number(arg('baseline-cap-s', '60')) * 1000;
const WITH_BASELINE = !process.argv.includes('--no-baseline');

interface Nested { name: string; value: number; children?: Nested[] }

/** The same tree as d3-flame-graph's input: nested objects, value = total. */
function toNested(d: FlameData): Nested {
  const nodes: Nested[] = [];
  const stack: Nested[] = [];
  for (let i = 0; i < d.frame.length; i++) {
    const n: Nested = { name: d.frames[d.frame[i]!]!.name, value: d.total[i]! };
    nodes.push(n);
    stack.length = d.depth[i]!;
    const p = stack[stack.length - 1];
    if (p) (p.children ??= []).push(n);
    stack.push(n);
  }
  return nodes[0]!;
}

function capped<T>(p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<null>((r) => { timer = setTimeout(() => r(null), BASE_CAP_MS); });
  return Promise.race([p.catch(() => null), cap]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function baselinePage(browser: Browser): Promise<import('playwright-core').Page> {
  const out = join(tmpdir(), `pktpath-bench-baseline-${process.pid}.js`);
  await esbuild.build({
    entryPoints: [join(ROOT, 'bench/render-baseline.ts')], outfile: out, bundle: true, format: 'iife',
    platform: 'browser', target: 'es2022', loader: { '.css': 'empty' }, logLevel: 'warning',
  });
  const css = readFileSync(join(ROOT, 'node_modules/d3-flame-graph/dist/d3-flamegraph.css'), 'utf8');
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${css}</style></head>
<body style="margin:0;padding:8px 16px"><div id="chart"></div><script src="/baseline.js"></script></body></html>`;
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const js = readFileSync(out);
  await page.route('**/*', (r) => {
    const u = new URL(r.request().url());
    if (u.pathname === '/') return r.fulfill({ contentType: 'text/html', body: html });
    if (u.pathname === '/baseline.js') return r.fulfill({ contentType: 'text/javascript', body: js });
    return r.abort();
  });
  await page.goto('https://baseline.bench.test/');
  await page.waitForFunction('window.__baseline !== undefined');
  return page;
}

interface Row {
  nodes: number;
  ours_first_paint_ms: number;
  ours_first_paint_min_ms: number;
  ours_layout_ms: number;
  ours_draw_ms: number;
  ours_zoom_sync_ms: number;
  ours_zoom_frame_ms: number;
  ours_drawn: number;
  base_first_paint_ms: number | null;
  base_zoom_frame_ms: number | null;
  base_runs: number;
  base_capped: boolean; // a baseline step ran past BASE_CAP_MS and was abandoned
}

async function main(): Promise<void> {
  await ensureWebviewBundle();
  const browser = await launchChromium();
  const rows: Row[] = [];
  try {
    const small = buildViewModel(syntheticSession({ nodes: 200, seed: 1 }));
    const ours = await openWebview(browser, small);
    const width = await ours.page.evaluate('document.querySelector("#cpu-flame .pp-flame").clientWidth') as number;
    let base = await baselinePage(browser);
    for (const n of SIZES) {
      const flame = buildCpuFlame(syntheticSession({ nodes: n, seed: 42 }));
      const nodes = flame.frame.length;
      process.stderr.write(`${nodes} nodes: ours…`);
      // As JSON text parsed in the page: arrays then have the layout the webview gets them in.
      await ours.page.evaluate((t) => { (window as unknown as { __benchData: unknown }).__benchData = JSON.parse(t); }, JSON.stringify(flame));
      const fp: number[] = [], layout: number[] = [], draw: number[] = [], zs: number[] = [], zf: number[] = [];
      let drawn = 0;
      for (let r = 0; r < RUNS; r++) {
        const m = await ours.page.evaluate(`(async () => {
          const v = __pktpath.app.cpu;
          v.zoomTo(0);
          const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          const t0 = performance.now();
          v.setData(window.__benchData);
          await frame();
          const first = performance.now() - t0;
          const s = { first, layout: v.stats.lastLayoutMs, draw: v.stats.lastDrawMs, drawn: v.stats.drawn };
          const node = v.findNode(${JSON.stringify(ZOOM_STAGE)});
          const zs = [], zf = [];
          for (const target of [node, 0, node, 0]) {
            const t1 = performance.now();
            v.zoomTo(target);
            zs.push(v.stats.lastDrawMs);
            await frame();
            zf.push(performance.now() - t1);
          }
          return { ...s, zs, zf };
        })()`) as { first: number; layout: number; draw: number; drawn: number; zs: number[]; zf: number[] };
        fp.push(m.first); layout.push(m.layout); draw.push(m.draw); zs.push(...m.zs); zf.push(...m.zf);
        drawn = m.drawn;
      }
      process.stderr.write(` ${median(fp).toFixed(1)} ms; ${BASELINE}…`);
      // The baseline takes seconds per paint at 100k+: fewer runs there keep the bench to minutes.
      const baseRuns = !WITH_BASELINE ? 0 : nodes <= 20000 ? Math.min(RUNS, 3) : 1;
      const bfp: number[] = [], bz: number[] = [];
      await base.evaluate((t) => { (window as unknown as { __benchNested: unknown }).__benchNested = JSON.parse(t); }, JSON.stringify(toNested(flame)));
      let timedOut = false;
      for (let r = 0; r < baseRuns && !timedOut; r++) {
        const t = await capped(base.evaluate(`__baseline.render(window.__benchNested, ${width})`) as Promise<number>);
        if (t === null) { timedOut = true; break; }
        bfp.push(t);
        const z = await capped(base.evaluate(`__baseline.zoom(${JSON.stringify(ZOOM_STAGE)}, ${ZOOM_DEPTH})`) as Promise<number>);
        if (z === null) { timedOut = true; break; }
        bz.push(z);
      }
      if (timedOut) {
        // The page is still busy with the baseline's work: start over on a fresh one.
        await base.close();
        base = await baselinePage(browser);
      }
      process.stderr.write(timedOut ? ` > ${BASE_CAP_MS / 1000} s (capped)\n` : ` ${median(bfp).toFixed(0)} ms\n`);
      rows.push({
        nodes, ours_first_paint_ms: median(fp), ours_first_paint_min_ms: Math.min(...fp), ours_layout_ms: median(layout), ours_draw_ms: median(draw),
        ours_zoom_sync_ms: median(zs), ours_zoom_frame_ms: median(zf), ours_drawn: drawn,
        base_first_paint_ms: bfp.length ? median(bfp) : null, base_zoom_frame_ms: bz.length ? median(bz) : null,
        base_runs: baseRuns, base_capped: timedOut,
      });
      await base.evaluate('document.getElementById("chart").replaceChildren()');
    }
  } finally {
    await browser.close();
  }
  const basePaint = (r: Row): string =>
    r.base_first_paint_ms !== null ? r.base_first_paint_ms.toFixed(0) : r.base_capped ? `> ${BASE_CAP_MS}` : '–';
  const f = (v: number | null, d = 1): string => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const lines = [
    `Flamegraph render, headless Chromium (${process.arch}), SYNTHETIC trees, medians of ${RUNS} runs (baseline: 3 runs ≤ 20k nodes, else 1);`,
    `baseline "${BASELINE}" (SVG, defaults + transitionDuration 0). Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus} CPUs.`,
    '',
    '| nodes | ours first paint ms (min; layout+draw) | baseline first paint ms | ratio | ours zoom redraw ms (sync) | ours zoom to frame ms | baseline zoom to frame ms | ours drawn rects |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.nodes} | ${f(r.ours_first_paint_ms)} (${f(r.ours_first_paint_min_ms)}; ${f(r.ours_layout_ms)}+${f(r.ours_draw_ms)}) | ${basePaint(r)} | ${
      r.base_first_paint_ms ? `${(r.base_first_paint_ms / r.ours_first_paint_ms).toFixed(0)}×` : r.base_capped ? `> ${(BASE_CAP_MS / r.ours_first_paint_ms).toFixed(0)}×` : '–'} | ${f(r.ours_zoom_sync_ms)} | ${
      f(r.ours_zoom_frame_ms)} | ${r.base_zoom_frame_ms !== null ? f(r.base_zoom_frame_ms, 0) : r.base_capped ? `> ${BASE_CAP_MS}` : '–'} | ${r.ours_drawn} |`),
  ];
  const r100 = rows.find((r) => r.nodes >= 90000 && r.nodes <= 110000);
  if (r100) {
    lines.push('', `targets at ${r100.nodes} nodes: first paint ${f(r100.ours_first_paint_ms)} ms (≤ ${TARGET_FIRST_PAINT_MS}: ${
      r100.ours_first_paint_ms <= TARGET_FIRST_PAINT_MS ? 'met' : 'MISSED'}), zoom redraw ${f(r100.ours_zoom_sync_ms)} ms (≤ ${TARGET_ZOOM_MS}: ${
      r100.ours_zoom_sync_ms <= TARGET_ZOOM_MS ? 'met' : 'MISSED'})`);
  }
  console.log(lines.join('\n'));
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `render-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ baseline: BASELINE, runs: RUNS, loadavg: loadavg(), cpus, rows }, null, 2));
  console.log(`\nsaved ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
