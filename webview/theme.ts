// Canvas colours, resolved from the CSS variables in media/webview.css (which map VS Code's theme
// variables). Re-resolved when VS Code switches theme (it changes the body's class).

export const STAGE_PALETTE = 6;

type Rgb = [number, number, number];

export interface Theme {
  fg: string;
  bg: string;
  muted: string;
  focus: string;
  contrastBorder: string | null; // set in high-contrast themes: draw frame borders
  font: string;
  /** [stage colour index][shade] fill; index STAGE_PALETTE = not under any stage. */
  fill: string[][];
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
  for (let i = 0; i <= STAGE_PALETTE; i++) {
    const base = parse(v(i === STAGE_PALETTE ? '--pp-stage-none' : `--pp-stage-${i}`)) ?? fg;
    const row: string[] = [], rowDim: string[] = [], rowText: string[] = [], rowTextDim: string[] = [];
    for (const s of SHADES) {
      const c = mix(base, bg, s * (i === STAGE_PALETTE ? 0.55 : 1));
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
    fill, dim, text, textDim,
    mergedFill: css(mix(parse(v('--pp-muted')) ?? fg, bg, 0.35)),
  };
}

export function onThemeChange(cb: () => void): void {
  new MutationObserver(cb).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
