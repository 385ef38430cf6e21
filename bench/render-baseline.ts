// Browser entry for the bench's baseline page: d3-flame-graph 5 (SVG) with its default options,
// except transitionDuration(0) so a zoom's cost is its work, not its 750 ms animation.
// Bundled by bench/render.ts; not part of the extension.
import flamegraph from 'd3-flame-graph';
import { select } from 'd3-selection';

interface Nested { name: string; value: number; children?: Nested[] }
interface HNode { data: Nested; depth: number; descendants(): HNode[] }

const nextFrame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

let chart: ReturnType<typeof flamegraph> | null = null;

async function render(data: Nested, width: number): Promise<number> {
  const t0 = performance.now();
  chart = flamegraph().width(width).transitionDuration(0);
  select('#chart').datum(data).call(chart);
  await nextFrame();
  return performance.now() - t0;
}

async function zoom(name: string, depth: number): Promise<number> {
  const root = select<HTMLElement, HNode>('#chart').datum();
  const node = root.descendants().find((d) => d.depth === depth && d.data.name === name);
  if (!node || !chart) throw new Error(`no node ${name} at depth ${depth}`);
  const t0 = performance.now();
  chart.zoomTo(node);
  await nextFrame(); // d3's timer registered its frame callback first: the zoom is applied in this frame
  return performance.now() - t0;
}

(window as unknown as { __baseline: unknown }).__baseline = {
  render, zoom, nodes: () => document.querySelectorAll('#chart g').length,
};
