// Canvas colours, resolved from the CSS variables in media/webview.css (which map VS Code's theme
// variables). Re-resolved when VS Code switches theme (it changes the body's class).

import { STAGE_COLOURS } from '../src/shared/stage-colour.ts';
import { DIFF_LEVELS } from '../src/shared/view-types.ts';

/** Colour slots: STAGE_COLOURS stage colours, then these. */
export const SLOT_NONE = STAGE_COLOURS; // under no stage
export const SLOT_PROBE = STAGE_COLOURS + 1; // the probes' own machinery
/** Differential flamegraphs: SLOT_DIFF + DIFF_LEVELS + level, level in −DIFF_LEVELS (shrunk) … +DIFF_LEVELS (grew). */
export { DIFF_LEVELS };
export const SLOT_DIFF = STAGE_COLOURS + 2;
const SLOTS = SLOT_DIFF + 2 * DIFF_LEVELS + 1;
/** The six chart colours of VS Code (blue, orange, green, purple, red, yellow), then six made from
 * them that stay apart from all of those: teal, magenta, lime, and blue, green and purple deepened
 * toward the foreground. */
const CHART_VARS = 6;
const DERIVED: Array<[number, number, 'mix' | 'deep']> = [[0, 2, 'mix'], [4, 3, 'mix'], [2, 5, 'mix'], [0, 0, 'deep'], [2, 2, 'deep'], [3, 3, 'deep']];

type Rgb = [number, number, number];

export interface Theme {
  fg: string;
  bg: string;
  muted: string;
  focus: string;
  contrastBorder: string | null; // set in high-contrast themes: draw frame borders
  font: string;
  /** [colour slot][shade] fill (slots: stage colours, SLOT_NONE, SLOT_PROBE, the diff levels). */
  fill: string[][];
  /** Solid CSS colour of each slot (swatches, legend). */
  swatch: string[];
  /** Same, dimmed (non-matches while searching). */
  dim: string[][];
  /** Text colour for each fill. */
  text: string[][];
  textDim: string[][];
  mergedFill: string;
}

const SHADES = [1, 0.84, 0.7, 0.58];
export const SHADE_COUNT = SHADES.length;

let probe: CanvasRenderingContext2D | null = null;
function parse(c: string): Rgb | null {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe || !c.trim()) return null;
  probe.fillStyle = '#000000';
  probe.fillStyle = c.trim();
  const s = String(probe.fillStyle);
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(s);
  if (m) return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
  m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return null;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] * t + b[0] * (1 - t), a[1] * t + b[1] * (1 - t), a[2] * t + b[2] * (1 - t)];
}
function css(c: Rgb): string {
  return `rgb(${Math.round(c[0])},${Math.round(c[1])},${Math.round(c[2])})`;
}
function luminance(c: Rgb): number {
  const f = (v: number): number => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
}
function contrast(a: Rgb, b: Rgb): number {
  const la = luminance(a), lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export function readTheme(el: Element = document.body): Theme {
  const cs = getComputedStyle(el);
  const v = (name: string): string => cs.getPropertyValue(name).trim();
  const fgS = v('--pp-fg') || 'CanvasText';
  const bgS = v('--pp-bg') || 'Canvas';
  const fg = parse(fgS) ?? [0, 0, 0];
  const bg = parse(bgS) ?? [255, 255, 255];
  const fill: string[][] = [], dim: string[][] = [], text: string[][] = [], textDim: string[][] = [];
  const chart = (i: number): Rgb => parse(v(`--pp-stage-${i}`)) ?? fg;
  const grew = parse(v('--pp-grew')) ?? [229, 20, 0];
  const shrank = parse(v('--pp-shrank')) ?? [26, 133, 255];
  const neutral = mix(parse(v('--pp-muted')) ?? fg, bg, 0.45);
  for (let slot = 0; slot < SLOTS; slot++) {
    let base: Rgb;
    let shades = SHADES;
    if (slot < CHART_VARS) base = chart(slot);
    else if (slot < STAGE_COLOURS) {
      const [a, b, how] = DERIVED[slot - CHART_VARS]!;
      base = how === 'mix' ? mix(chart(a), chart(b), 0.5) : mix(chart(a), fg, 0.5);
    }
    else if (slot === SLOT_NONE) base = mix(parse(v('--pp-stage-none')) ?? fg, bg, 0.55);
    else if (slot === SLOT_PROBE) base = mix(fg, bg, 0.62);
    else {
      const level = slot - SLOT_DIFF - DIFF_LEVELS;
      base = level === 0 ? neutral : mix(level > 0 ? grew : shrank, neutral, 0.35 + (0.65 * Math.abs(level)) / DIFF_LEVELS);
      shades = SHADES.map((x) => 0.9 + x * 0.1); // the colour carries the change: keep shading slight
    }
    const row: string[] = [], rowDim: string[] = [], rowText: string[] = [], rowTextDim: string[] = [];
    for (const sh of shades) {
      const c = mix(base, bg, sh);
      const d = mix(c, bg, 0.25);
      row.push(css(c));
      rowDim.push(css(d));
      rowText.push(contrast(fg, c) >= contrast(bg, c) ? fgS : bgS);
      rowTextDim.push(contrast(fg, d) >= contrast(bg, d) ? fgS : bgS);
    }
    fill.push(row); dim.push(rowDim); text.push(rowText); textDim.push(rowTextDim);
  }
  const cb = v('--pp-contrast-border');
  return {
    fg: fgS, bg: bgS, muted: v('--pp-muted') || fgS, focus: v('--pp-focus') || fgS,
    contrastBorder: cb && cb !== 'transparent' ? cb : null,
    font: `12px ${v('--pp-font') || 'sans-serif'}`,
    fill, dim, text, textDim, swatch: fill.map((r) => r[0]!),
    mergedFill: css(mix(parse(v('--pp-muted')) ?? fg, bg, 0.35)),
  };
}

export function onThemeChange(cb: () => void): void {
  new MutationObserver(cb).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
