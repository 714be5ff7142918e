/**
 * 95% intervals for the numbers a study compares: Wilson score intervals for rates (k of n), percentile
 * bootstrap intervals (over prompts, seeded) for means and for statistics of resampled prompt sets.
 */
import { mulberry32 } from '../../engine/prng.ts';

/** A rate with its Wilson 95% interval: `rate` = k / n. */
export interface Rate {
  rate: number;
  lo: number;
  hi: number;
  n: number;
}

/** A statistic with its 95% interval (bootstrap percentiles unless stated). */
export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

export const Z95 = 1.959963984540054;

/** Wilson score interval for k successes in n trials (NaN everywhere for n = 0). */
export function wilson(k: number, n: number, z = Z95): Rate {
  if (n <= 0) return { rate: NaN, lo: NaN, hi: NaN, n: 0 };
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  // Clamp rounding (p = 0 or 1 gives lo = 0 or hi = 1 exactly in exact arithmetic).
  return { rate: p, lo: k === 0 ? 0 : Math.max(0, centre - half), hi: k === n ? 1 : Math.min(1, centre + half), n };
}

/** Quantile q of sorted values, linear interpolation between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const i = Math.floor(h);
  return i + 1 < n ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/** 2.5% and 97.5% percentiles of replicate values (NaN replicates dropped). */
export function percentileInterval(value: number, replicates: ArrayLike<number>): Interval {
  const xs = Float64Array.from(replicates)
    .filter((x) => !Number.isNaN(x))
    .sort();
  return { value, lo: quantileSorted(xs, 0.025), hi: quantileSorted(xs, 0.975) };
}

/** Bootstrap resample counts: c[i] = how often item i was drawn in n draws with replacement. */
export function resampleCounts(n: number, rand: () => number, out = new Float64Array(n)): Float64Array {
  out.fill(0);
  for (let j = 0; j < n; j++) out[Math.floor(rand() * n)] += 1;
  return out;
}

export const DEFAULT_BOOTSTRAP = 1000;

/** Percentile bootstrap of the mean of per-prompt values. */
export function bootstrapMean(values: ArrayLike<number>, o: { replicates?: number; seed?: number } = {}): Interval {
  const n = values.length;
  if (n === 0) return { value: NaN, lo: NaN, hi: NaN };
  let m = 0;
  for (let i = 0; i < n; i++) m += values[i];
  m /= n;
  const rand = mulberry32(o.seed ?? 1);
  const B = o.replicates ?? DEFAULT_BOOTSTRAP;
  const reps = new Float64Array(B);
  const c = new Float64Array(n);
  for (let b = 0; b < B; b++) {
    resampleCounts(n, rand, c);
    let s = 0;
    for (let i = 0; i < n; i++) s += c[i] * values[i];
    reps[b] = s / n;
  }
  return percentileInterval(m, reps);
}

/** Wilson rate of boolean outcomes. */
export const rateOf = (outcomes: readonly boolean[]): Rate => wilson(outcomes.filter(Boolean).length, outcomes.length);

/** Mean and sample standard deviation (n − 1) of numbers (sd 0 for one value). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}
