// A canvas flamegraph (icicle: root on top) for trees of 100k–300k nodes.
// Nodes live in flat typed arrays in preorder; layout (x offset per node) is computed once per
// snapshot. A redraw walks the zoomed subtree and skips, without visiting, every subtree whose
// node is narrower than half a pixel (its descendants are narrower still); such runs of tiny
// siblings are merged into one grey block per row so the graph keeps its silhouette. Names are
// drawn with fillText and shown in the DOM with textContent only: they come from binaries we do
// not control.

import { PROBE_STAGE, sourceOf, type FlameData, type SourceFrame } from '../src/shared/view-types.ts';
import { fmtCount, fmtNs, fmtPct } from './format.ts';
import { clampedText, inertText } from '../src/shared/display-text.ts';
import { DIFF_LEVELS, SHADE_COUNT, SLOT_DIFF, SLOT_NONE, SLOT_PROBE, type Theme } from './theme.ts';
import { button, textField, type TextField } from './controls.ts';

const ROW_H = 18;
const MIN_PX = 0.5; // narrower nodes are not drawn: merged into their row's run
const LABEL_MIN_PX = 22;

export interface FlameViewOptions {
  label: string;
  search: boolean;
  small?: boolean;
  stageName: (stage: number) => string | null;
  /** Extra lines for a stage node's tooltip (how its width was measured and corrected). */
  stageDetail?: (stage: number) => string[];
  /** Colour slot of a stage (src/shared/stage-colour.ts). */
  stageColour: (stage: number) => number;
  onOpenSource: (frame: SourceFrame) => void;
  /** The selection changed (a clicked frame, or null when cleared). */
  onSelect?: (sel: FlameSelection | null) => void;
  /** Zoom, search or selection changed: the page saves its state. */
  onViewChange?: () => void;
}

/** A selected frame: its names from the root (the root's own label left out) and its stage. */
export interface FlameSelection {
  path: string[];
  kinds: string[];
  stage: number;
}

/** What a reload restores: frame paths (identity across snapshots) and the search. */
export interface FlameViewState {
  zoom: string[];
  selected: string[] | null;
  search: string;
}

export interface SearchResult {
  query: string;
  share: number; // of the root total, outermost matches only (no double counting)
  nodes: number;
}

/** A frame's identity across snapshots (indices are per snapshot, names and modules are not). */
function frameKey(d: FlameData, f: number): string {
  const fr = d.frames[f]!;
  return `${fr.kind}\u0000${fr.name}\u0000${d.modules[fr.module] ?? ''}`;
}

function hashShade(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % SHADE_COUNT;
}

export class FlameView {
  readonly root: HTMLElement;
  private readonly scroller: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly crumbs: HTMLDivElement;
  private readonly tooltip: HTMLDivElement;
  private readonly searchInfo: HTMLSpanElement | null = null;
  private searchInput: TextField | null = null;

  private data: FlameData | null = null;
  private n = 0;
  private frameOf = new Int32Array(0);
  private depth = new Uint16Array(0);
  private total = new Float64Array(0);
  private self = new Float64Array(0);
  private samples = new Float64Array(0);
  private stage = new Int32Array(0);
  private x = new Float64Array(0);
  private end = new Int32Array(0);
  private parent = new Int32Array(0);
  private shade = new Uint8Array(0);
  private slot: Uint8Array = new Uint8Array(0); // colour slot per node (stage colour, none, probe, or diff level)
  private keys: Array<string | undefined> = []; // frame identity across snapshots, made on demand
  private maxDepth = 0;
  private match: Uint8Array | null = null;
  private query = '';
  private zoom = 0;
  private selected = -1;
  private hover = -1;
  private width = 0;
  private charW = 7;
  private pendS = new Float64Array(0);
  private pendE = new Float64Array(0);

  /** Exposed for the tests and the render bench. */
  readonly stats = { nodes: 0, drawn: 0, merged: 0, lastDrawMs: 0, lastLayoutMs: 0, phases: [0, 0] };
  lastSearch: SearchResult | null = null;

  constructor(private theme: Theme, private readonly opts: FlameViewOptions) {
    this.root = document.createElement('div');
    this.root.className = 'pp-flameview';
    const bar = document.createElement('div');
    bar.className = 'pp-toolbar';
    if (opts.search) {
      const input = textField('Search functions', `Search ${opts.label}`, 'pp-search');
      input.addEventListener('input', () => this.setSearch(input.value));
      this.searchInput = input;
      bar.append(input);
      this.searchInfo = document.createElement('span');
      this.searchInfo.className = 'pp-search-result';
      this.searchInfo.setAttribute('aria-live', 'polite');
      bar.append(this.searchInfo);
    }
    const reset = button('Reset zoom', 'pp-reset');
    reset.title = 'Zoom out and clear the selection (Escape)';
    reset.addEventListener('click', () => this.clearSelection());
    bar.append(reset);
    this.crumbs = document.createElement('div');
    this.crumbs.className = 'pp-breadcrumb';
    this.crumbs.setAttribute('aria-label', `${opts.label} zoom path`);
    this.scroller = document.createElement('div');
    this.scroller.className = opts.small ? 'pp-flame pp-small' : 'pp-flame';
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', opts.label);
    this.scroller.append(this.canvas);
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'pp-tooltip';
    this.tooltip.hidden = true;
    this.root.append(bar, this.crumbs, this.scroller, this.tooltip);

    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = -1; this.tooltip.hidden = true; });
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.clearSelection(); });
    new ResizeObserver(() => {
      if (this.scroller.clientWidth !== this.width) this.redraw();
    }).observe(this.scroller);
  }

  setTheme(t: Theme): void {
    this.theme = t;
    this.redraw();
  }

  /** Replace the tree, keeping zoom and selection (by frame path) and the search; `keep` false
   * (another session) starts from the whole graph with nothing searched or selected. */
  setData(d: FlameData, keep = true): void {
    const t0 = performance.now();
    if (!keep) {
      this.query = '';
      if (this.searchInput) this.searchInput.value = '';
    }
    const zoomPath = this.data && keep ? this.pathOf(this.zoom) : [];
    const selPath = this.data && keep && this.selected >= 0 ? this.pathOf(this.selected) : null;
    this.data = d;
    const n = d.frame.length;
    this.n = n;
    // new T(array) takes the array-like fast path; T.from(array) would iterate.
    this.frameOf = new Int32Array(d.frame);
    this.depth = new Uint16Array(d.depth);
    this.total = new Float64Array(d.total);
    this.self = new Float64Array(d.self);
    this.samples = d.samples ? new Float64Array(d.samples) : this.total;
    this.stage = new Int32Array(d.stage);
    this.keys = new Array<string | undefined>(d.frames.length);
    const shade = new Uint8Array(d.frames.length);
    for (let f = 0; f < shade.length; f++) shade[f] = hashShade(d.frames[f]!.name);
    this.shade = shade;
    this.slot = this.colourSlots(d);
    const t1 = performance.now();
    // Locals, not fields, in the hot loop: stores into one typed array would otherwise make V8
    // reload every field on each iteration.
    const depth = this.depth, total = this.total;
    const end = (this.end = new Int32Array(n));
    const parent = (this.parent = new Int32Array(n));
    const x = (this.x = new Float64Array(n));
    const next = new Float64Array(n);
    const stack = new Int32Array(Math.max(1, n));
    let sp = 0;
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      const di = depth[i]!;
      while (sp > 0 && depth[stack[sp - 1]!]! >= di) end[stack[--sp]!] = i;
      const p = sp > 0 ? stack[sp - 1]! : -1;
      parent[i] = p;
      if (p >= 0) {
        x[i] = next[p]!;
        next[p]! += total[i]!;
      }
      next[i] = x[i]!;
      stack[sp++] = i;
      if (di > maxDepth) maxDepth = di;
    }
    while (sp > 0) end[stack[--sp]!] = n;
    this.stats.phases = [t1 - t0, performance.now() - t1];
    this.maxDepth = maxDepth;
    this.pendS = new Float64Array(maxDepth + 1);
    this.pendE = new Float64Array(maxDepth + 1);
    this.zoom = n > 0 ? this.resolve(zoomPath) : 0;
    this.selected = selPath ? this.resolve(selPath, true) : -1;
    this.hover = -1;
    this.tooltip.hidden = true; // its node may be gone; the next mouse move fills it again
    this.stats.nodes = n;
    this.stats.lastLayoutMs = performance.now() - t0;
    this.applySearch();
    this.redraw();
    this.renderCrumbs();
  }

  /** Colour slot per node: the diff level in compare mode, else the stage's colour. */
  private colourSlots(d: FlameData): Uint8Array {
    const n = d.frame.length;
    const out = new Uint8Array(n);
    const lv = d.diff?.level;
    if (lv) {
      for (let i = 0; i < n; i++) out[i] = SLOT_DIFF + DIFF_LEVELS + Math.max(-DIFF_LEVELS, Math.min(DIFF_LEVELS, lv[i]!));
      return out;
    }
    const cache = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const st = d.stage[i]!;
      let c = cache.get(st);
      if (c === undefined) {
        c = st === PROBE_STAGE ? SLOT_PROBE : st < 0 ? SLOT_NONE : this.opts.stageColour(st);
        cache.set(st, c);
      }
      out[i] = c;
    }
    return out;
  }

  /** Zoom out and clear the selection; tells the page. */
  clearSelection(): void {
    const had = this.selected >= 0;
    this.selected = -1;
    this.zoomTo(0);
    if (had) this.opts.onSelect?.(null);
  }

  /** Selects (and zooms to) a node, as a click does, without opening its source. */
  select(node: number, notify = true): void {
    if (node < 0 || node >= this.n) return;
    this.selected = node;
    this.zoomTo(node);
    if (notify) this.opts.onSelect?.(this.selectionOf(node));
  }

  private selectionOf(node: number): FlameSelection {
    const path: string[] = [];
    const kinds: string[] = [];
    for (let i = node; i > 0; i = this.parent[i]!) {
      const f = this.data!.frames[this.frameOf[i]!]!;
      path.push(f.kind === 'stage' ? (f.fn ?? f.name) : f.name);
      kinds.push(f.kind);
    }
    return { path: path.reverse(), kinds: kinds.reverse(), stage: this.stage[node]! };
  }

  viewState(): FlameViewState {
    return { zoom: this.data ? this.pathOf(this.zoom) : [], selected: this.data && this.selected >= 0 ? this.pathOf(this.selected) : null, search: this.query };
  }

  restoreState(st: FlameViewState): void {
    if (!this.data) return;
    this.zoom = this.resolve(st.zoom);
    this.selected = st.selected ? this.resolve(st.selected, true) : -1;
    this.setSearch(st.search);
    this.renderCrumbs();
  }

  private pathOf(node: number): string[] {
    const out: string[] = [];
    for (let i = node; i > 0; i = this.parent[i]!) out.push(this.keyOf(this.frameOf[i]!));
    return out.reverse();
  }

  private keyOf(f: number): string {
    return (this.keys[f] ??= frameKey(this.data!, f));
  }

  /** The node at a frame path; the deepest that still exists (or -1 when `exact` and gone). */
  private resolve(path: string[], exact = false): number {
    let node = 0;
    for (const key of path) {
      let found = -1;
      for (let c = node + 1; c < this.end[node]!; c = this.end[c]!) {
        if (this.keyOf(this.frameOf[c]!) === key) { found = c; break; }
      }
      if (found < 0) return exact ? -1 : node;
      node = found;
    }
    return node;
  }

  setSearch(q: string): SearchResult | null {
    this.query = q;
    if (this.searchInput && this.searchInput.value !== q) this.searchInput.value = q;
    this.applySearch();
    this.redraw();
    this.opts.onViewChange?.();
    return this.lastSearch;
  }

  private applySearch(): void {
    const q = this.query.trim().toLowerCase();
    if (!q || !this.data) {
      this.match = null;
      this.lastSearch = null;
      if (this.searchInfo) this.searchInfo.textContent = '';
      return;
    }
    const frames = this.data.frames;
    const m = new Uint8Array(frames.length);
    for (let f = 0; f < frames.length; f++) if (frames[f]!.kind !== 'root' && frames[f]!.name.toLowerCase().includes(q)) m[f] = 1;
    this.match = m;
    let sum = 0;
    let nodes = 0;
    for (let i = 0; i < this.n;) {
      if (m[this.frameOf[i]!]) {
        sum += this.total[i]!;
        for (let j = i; j < this.end[i]!; j++) if (m[this.frameOf[j]!]) nodes++;
        i = this.end[i]!; // nested matches are already inside this total
      } else i++;
    }
    const share = this.total[0]! > 0 ? sum / this.total[0]! : 0;
    this.lastSearch = { query: this.query, share, nodes };
    if (this.searchInfo) {
      this.searchInfo.textContent = nodes === 0
        ? 'no match'
        : `${fmtPct(share)} of ${this.data.unit === 'ns' ? 'path' : 'samples'} match (${fmtCount(nodes)} frames)`;
    }
  }

  zoomTo(node: number): void {
    if (node < 0 || node >= this.n) return;
    this.zoom = node;
    this.redraw();
    this.renderCrumbs();
    this.opts.onViewChange?.();
  }

  get selectedPath(): string[] | null {
    return this.selected < 0 ? null : this.pathOf(this.selected).map((k) => k.split('\u0000')[1]!);
  }

  get zoomPath(): string[] {
    return this.pathOf(this.zoom).map((k) => k.split('\u0000')[1]!);
  }

  private renderCrumbs(): void {
    const chain: number[] = [];
    for (let i = this.zoom; i >= 0; i = this.parent[i] ?? -1) {
      chain.push(i);
      if (i === 0) break;
    }
    chain.reverse();
    const els: Node[] = [];
    chain.forEach((node, k) => {
      if (k > 0) {
        const sep = document.createElement('span');
        sep.className = 'sep';
        sep.textContent = '›';
        els.push(sep);
      }
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = clampedText(this.nameOf(node), 80); // untrusted: text only, inert
      b.title = clampedText(this.nameOf(node));
      if (node === this.zoom) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', () => this.zoomTo(node));
      els.push(b);
    });
    this.crumbs.replaceChildren(...els);
  }

  private nameOf(node: number): string {
    return this.data?.frames[this.frameOf[node]!]?.name ?? '';
  }

  redraw(): void {
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    const w = this.scroller.clientWidth;
    this.width = w;
    const h = (this.maxDepth + 1) * ROW_H;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    const ctx = this.ctx;
    const th = this.theme;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = th.bg;
    ctx.fillRect(0, 0, w, h);
    this.stats.drawn = 0;
    this.stats.merged = 0;
    if (this.n === 0 || w === 0) { this.stats.lastDrawMs = performance.now() - t0; return; }
    ctx.font = th.font;
    ctx.textBaseline = 'middle';
    this.charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz_0123456789').width / 36 * 1.08;
    const z = this.zoom;
    const tz = this.total[z]!;
    if (!(tz > 0)) { this.stats.lastDrawMs = performance.now() - t0; return; }
    const k = w / tz;
    const x0 = this.x[z]!;
    for (let a = this.parent[z]!; a >= 0; a = this.parent[a]!) this.drawNode(a, 0, w, true);
    this.pendE.fill(-1);
    this.pendS.fill(-1);
    const stop = this.end[z]!;
    const total = this.total, xs = this.x, depth = this.depth, end = this.end;
    for (let i = z; i < stop;) {
      const nw = total[i]! * k;
      if (nw < MIN_PX) {
        const px = (xs[i]! - x0) * k;
        const d = depth[i]!;
        if (this.pendE[d]! >= 0 && px <= this.pendE[d]! + MIN_PX) this.pendE[d] = px + nw;
        else { this.flush(d); this.pendS[d] = px; this.pendE[d] = px + nw; }
        i = end[i]!;
        continue;
      }
      this.drawNode(i, (xs[i]! - x0) * k, nw, false);
      i++;
    }
    for (let d = 0; d <= this.maxDepth; d++) this.flush(d);
    if (this.selected >= 0) this.outline(this.selected, th.focus, 2);
    this.stats.lastDrawMs = performance.now() - t0;
  }

  private flush(d: number): void {
    const s = this.pendS[d]!, e = this.pendE[d]!;
    if (s >= 0 && e - s >= MIN_PX) {
      this.ctx.fillStyle = this.theme.mergedFill;
      this.ctx.fillRect(s, d * ROW_H, e - s, ROW_H - 1);
      this.stats.merged++;
    }
    this.pendS[d] = -1;
    this.pendE[d] = -1;
  }

  private drawNode(i: number, px: number, w: number, ancestor: boolean): void {
    const ctx = this.ctx;
    const th = this.theme;
    const f = this.frameOf[i]!;
    const c = this.slot[i]!;
    const sh = this.shade[f]!;
    const lit = !ancestor && (this.match === null || this.match[f] === 1);
    const y = this.depth[i]! * ROW_H;
    ctx.fillStyle = lit ? th.fill[c]![sh]! : th.dim[c]![sh]!;
    const rw = w > 3 ? w - 1 : w;
    ctx.fillRect(px, y, rw, ROW_H - 1);
    this.stats.drawn++;
    if (th.contrastBorder && w > 3) {
      ctx.strokeStyle = th.contrastBorder;
      ctx.lineWidth = 1;
      ctx.strokeRect(px + 0.5, y + 0.5, rw - 1, ROW_H - 2);
    }
    if (this.match !== null && this.match[f] === 1) {
      ctx.strokeStyle = th.fg;
      ctx.lineWidth = 1;
      ctx.strokeRect(px + 0.5, y + 0.5, Math.max(0, rw - 1), ROW_H - 2);
    }
    if (w >= LABEL_MIN_PX) {
      const name = inertText(this.data!.frames[f]!.name);
      const max = Math.floor((w - 6) / this.charW);
      if (max >= 2) {
        const text = name.length > max ? `${name.slice(0, max - 1)}…` : name;
        ctx.fillStyle = lit ? th.text[c]![sh]! : th.textDim[c]![sh]!;
        ctx.fillText(text, px + 3, y + ROW_H / 2);
      }
    }
  }

  private outline(node: number, colour: string, lw: number): void {
    const r = this.rectOf(node);
    if (!r) return;
    this.ctx.strokeStyle = colour;
    this.ctx.lineWidth = lw;
    this.ctx.strokeRect(r.x + lw / 2, r.y + lw / 2, Math.max(1, r.w - lw), ROW_H - 1 - lw);
  }

  private rectOf(node: number): { x: number; y: number; w: number } | null {
    const z = this.zoom;
    const y = this.depth[node]! * ROW_H;
    if (this.depth[node]! <= this.depth[z]!) {
      // An ancestor of the zoom (or the zoom itself) spans the width; anything else is hidden.
      let a = z;
      while (a >= 0 && a !== node) a = this.parent[a]!;
      return a === node ? { x: 0, y, w: this.width } : null;
    }
    if (node < z || node >= this.end[z]!) return null;
    const k = this.width / this.total[z]!;
    return { x: (this.x[node]! - this.x[z]!) * k, y, w: this.total[node]! * k };
  }

  /** The node under a point in CSS pixels of the canvas, or -1. */
  hitTest(px: number, py: number): number {
    if (this.n === 0) return -1;
    const d = Math.floor(py / ROW_H);
    const z = this.zoom;
    if (d < 0 || px < 0 || px >= this.width) return -1;
    if (d <= this.depth[z]!) {
      let a = z;
      while (a >= 0 && this.depth[a]! > d) a = this.parent[a]!;
      return a;
    }
    const k = this.width / this.total[z]!;
    const x0 = this.x[z]!;
    let node = z;
    while (this.depth[node]! < d) {
      let next = -1;
      for (let c = node + 1; c < this.end[node]!; c = this.end[c]!) {
        const cx = (this.x[c]! - x0) * k;
        if (px >= cx && px < cx + this.total[c]! * k) { next = c; break; }
      }
      if (next < 0) return -1;
      node = next;
    }
    return node;
  }

  /** Centre of a node in page coordinates (for tests), or null when not drawn. */
  nodeCentre(node: number): { x: number; y: number } | null {
    const r = this.rectOf(node);
    if (!r) return null;
    const b = this.canvas.getBoundingClientRect();
    return { x: b.left + r.x + r.w / 2, y: b.top + r.y + ROW_H / 2 };
  }

  /** First node (preorder) whose frame name equals `name`, or -1. */
  findNode(name: string): number {
    if (!this.data) return -1;
    for (let i = 0; i < this.n; i++) if (this.data.frames[this.frameOf[i]!]!.name === name) return i;
    return -1;
  }

  private point(e: MouseEvent): [number, number] {
    const b = this.canvas.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  }

  private onMove(e: MouseEvent): void {
    const [px, py] = this.point(e);
    const node = this.hitTest(px, py);
    if (node < 0) { this.hover = -1; this.tooltip.hidden = true; return; }
    if (node !== this.hover) {
      this.hover = node;
      this.fillTooltip(node);
    }
    this.tooltip.hidden = false;
    const tw = this.tooltip.offsetWidth, thh = this.tooltip.offsetHeight;
    const left = e.clientX + 14 + tw > window.innerWidth ? e.clientX - tw - 8 : e.clientX + 14;
    const top = e.clientY + 16 + thh > window.innerHeight ? e.clientY - thh - 8 : e.clientY + 16;
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${Math.max(0, top)}px`;
  }

  private fillTooltip(node: number): void {
    const d = this.data!;
    const fr = d.frames[this.frameOf[node]!]!;
    const rootTotal = this.total[0]!;
    const name = document.createElement('div');
    name.className = 'pp-tt-name';
    name.textContent = clampedText(fr.name);
    const lines: string[] = [];
    const module = d.modules[fr.module];
    if (module) lines.push(clampedText(module));
    const st = this.stage[node]!;
    const stName = st >= 0 ? this.opts.stageName(st) : null;
    if (fr.kind === 'probe') lines.push('the probes\' own cost: int3 trap, uprobe dispatch, BPF programs (folded)', 'left out of corrected stage widths');
    else if (fr.kind === 'fn') lines.push(stName ? `stage: ${clampedText(stName, 80)}` : 'stage: none (outside every stage)');
    if (fr.kind === 'stage' && st >= 0 && this.opts.stageDetail) lines.push(...this.opts.stageDetail(st));
    const pct = (v: number): string => (rootTotal > 0 ? fmtPct(v / rootTotal) : '–');
    if (d.unit === 'ns') {
      lines.push(`total: ${fmtNs(this.total[node])}/packet (${pct(this.total[node]!)} of path)`);
      lines.push(`self: ${fmtNs(this.self[node])}/packet (${pct(this.self[node]!)})`);
      lines.push(`${fmtCount(this.samples[node])} CPU samples`);
    } else {
      lines.push(`total: ${fmtCount(this.total[node])} samples (${pct(this.total[node]!)})`);
      lines.push(`self: ${fmtCount(this.self[node])} samples (${pct(this.self[node]!)})`);
    }
    const diff = d.diff;
    if (diff) {
      const base = diff.base[node]!;
      const unit = d.unit === 'ns' ? (v: number): string => `${fmtNs(v)}/packet` : (v: number): string => `${fmtCount(v)} samples`;
      const lvl = diff.level[node]!;
      const r = base > 0 ? (this.total[node]! - base) / base : 0;
      const change = base > 0 ? `${r >= 0 ? '+' : '−'}${fmtPct(Math.abs(r))}` : 'new';
      lines.push(base < 0 ? 'baseline: not there (new)' : `baseline: ${unit(base)}${d.unit === 'samples' ? ' (at this recording\'s packets)' : ''}, ${change}`);
      lines.push(lvl > 0 ? 'grew, beyond noise' : lvl < 0 ? 'shrank, beyond noise' : 'within noise');
    }
    if (fr.loc) lines.push('click: select, zoom and open source');
    else lines.push('click: select and zoom');
    const rest = document.createElement('div');
    rest.textContent = lines.join('\n');
    this.tooltip.replaceChildren(name, rest);
  }

  private onClick(e: MouseEvent): void {
    const [px, py] = this.point(e);
    const node = this.hitTest(px, py);
    if (node < 0) return;
    this.select(node);
    const src = sourceOf(this.data!, this.frameOf[node]!);
    if (src) this.opts.onOpenSource(src);
  }
}
