// Special functions and two-sample tests for the noise of a delta (src/core/noise.ts) and the
// Poisson intervals of sampled mode (src/core/sampled.ts). Written here rather than taken from a
// library: they are a few dozen lines of textbook numerics (Lanczos, Lentz's continued fraction),
// tested against known values, and the statistics packages on npm bring far more than these.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9): ~15 significant digits. */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const xx = x - 1;
  let a = c[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Lentz's method). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function betaI(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  // erfc by its continued-fraction-free Chebyshev fit (Numerical Recipes erfcc): |error| < 1.2e-7.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return Math.min(1, erfc);
}

/** Two-sided p-value of Student's t with df degrees of freedom (df = Infinity: normal). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  if (!Number.isFinite(df) || df > 1e6) return normalTwoSidedP(t);
  return betaI(df / 2, 0.5, df / (df + t * t));
}

/** The t with two-sided p-value p at df degrees of freedom (bisection on studentTwoSidedP). */
export function studentQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 1;
  while (studentTwoSidedP(hi, df) > p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSidedP(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Exact two-sided test that two Poisson counts come from the same rate, given their exposures:
 * conditional on the total n = ka + kb, ka is Binomial(n, ea / (ea + eb)) under equal rates. The
 * p-value sums the probabilities of every outcome no more likely than the observed one.
 */
export function poissonRatesP(ka: number, ea: number, kb: number, eb: number): number {
  const n = ka + kb;
  if (n === 0 || !(ea > 0) || !(eb > 0)) return 1;
  const p = ea / (ea + eb);
  // Past ~20k samples the binomial is normal to far better than the decision needs, and the exact
  // sum would take a pass over every outcome.
  if (n > 20000) return normalTwoSidedP((ka - n * p) / Math.sqrt(n * p * (1 - p)));
  const lnC = lnGamma(n + 1);
  const lpmf = (k: number): number => lnC - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
  const obs = lpmf(ka);
  let sum = 0;
  const eps = 1e-7; // equal probabilities computed along different paths differ in the last bits
  for (let k = 0; k <= n; k++) {
    const l = lpmf(k);
    if (l <= obs + eps) sum += Math.exp(l);
  }
  return Math.min(1, sum);
}
