import { format } from 'd3-format';

const count = format(',');
const sig3 = format('.3~r');

export function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a < 1000) return `${sig3(ns)} ns`;
  if (a < 1e6) return `${sig3(ns / 1e3)} µs`;
  if (a < 1e9) return `${sig3(ns / 1e6)} ms`;
  return `${sig3(ns / 1e9)} s`;
}

export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return count(Math.round(n));
}

export function fmtPct(f: number | null | undefined): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return '–';
  const p = f * 100;
  return p >= 10 ? `${p.toFixed(1)}%` : p >= 0.1 ? `${p.toFixed(2)}%` : p > 0 ? `${p.toPrecision(2)}%` : '0%';
}
