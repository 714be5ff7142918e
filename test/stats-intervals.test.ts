/** Intervals: Wilson bounds solve the score equation, bootstrap intervals behave, direction cosine bootstrap and split-half. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootstrapMean, meanSd, quantileSorted, wilson, Z95 } from '../analysis/stats/intervals.ts';
import { cosineIntervals, splitHalfCosine, weightedDiff, type PromptResiduals } from '../analysis/study/direction-intervals.ts';
import { mulberry32 } from '../engine/prng.ts';

describe('Wilson 95% interval', () => {
  it('its bounds are the two roots of the score equation (p̂ − p)² = z² p(1 − p)/n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
        const k = Math.round(f * n);
        const r = wilson(k, n);
        const ph = k / n;
        for (const p of [r.lo, r.hi]) {
          if ((p === 0 && k === 0) || (p === 1 && k === n)) continue;
          expect((ph - p) ** 2).toBeCloseTo((Z95 * Z95 * p * (1 - p)) / n, 10);
        }
        expect(r.lo).toBeLessThanOrEqual(ph);
        expect(r.hi).toBeGreaterThanOrEqual(ph);
        expect(r.n).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
  it('matches a published value (20 of 23: 0.679 .. 0.955) and is NaN for n = 0', () => {
    const r = wilson(20, 23);
    expect(r.lo).toBeCloseTo(0.6788, 3);
    expect(r.hi).toBeCloseTo(0.9546, 3);
    expect(Number.isNaN(wilson(0, 0).rate)).toBe(true);
  });
});

describe('bootstrap', () => {
  it('quantiles interpolate like numpy', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });
  it('a constant sample has a zero-width interval; a normal sample ~ mean ± 1.96 sd/√n', () => {
    expect(bootstrapMean([2, 2, 2, 2])).toEqual({ value: 2, lo: 2, hi: 2 });
    const r = mulberry32(5);
    const xs = Array.from({ length: 400 }, () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
    const { mean, sd } = meanSd(xs);
    const b = bootstrapMean(xs, { seed: 3 });
    expect(b.value).toBeCloseTo(mean, 12);
    const half = (1.96 * sd) / Math.sqrt(xs.length);
    expect((b.hi - b.lo) / 2).toBeGreaterThan(0.8 * half);
    expect((b.hi - b.lo) / 2).toBeLessThan(1.2 * half);
    expect(bootstrapMean(xs, { seed: 3 })).toEqual(b); // seeded
  });
});

function residuals(nh: number, ns: number, L: number, d: number, seed: number, shift = 1): PromptResiduals {
  const r = mulberry32(seed);
  const mk = (n: number, off: number) => Float32Array.from({ length: n * L * d }, (_, i) => r() - 0.5 + (i % d === 0 ? off : 0));
  return { harmful: mk(nh, shift), harmless: mk(ns, 0), nHarmful: nh, nHarmless: ns, nLayers: L, dModel: d };
}

describe('direction intervals', () => {
  it('weightedDiff with unit weights is the float64 difference in means', () => {
    const a = residuals(5, 4, 2, 3, 1);
    const d = weightedDiff(a, 1, null, null);
    for (let j = 0; j < 3; j++) {
      let h = 0;
      let s = 0;
      for (let i = 0; i < 5; i++) h += a.harmful[(i * 2 + 1) * 3 + j];
      for (let i = 0; i < 4; i++) s += a.harmless[(i * 2 + 1) * 3 + j];
      expect(d[j]).toBeCloseTo(h / 5 - s / 4, 12);
    }
  });
  it('a model compared with itself has cosine 1 in every replicate; a noisy copy gets a lower, wider interval', () => {
    const a = residuals(30, 30, 2, 8, 2);
    const [same] = cosineIntervals(a, a, [{ la: 1, lb: 1 }], { replicates: 100 });
    expect(same.value).toBeCloseTo(1, 12);
    expect(same.lo).toBeCloseTo(1, 12);
    const noise = mulberry32(9);
    const b = {
      ...a,
      harmful: a.harmful.map((x) => x + 0.3 * (noise() - 0.5)),
      harmless: a.harmless.map((x) => x + 0.3 * (noise() - 0.5)),
    };
    const [diff] = cosineIntervals(a, b, [{ la: 1, lb: 1 }], { replicates: 200 });
    expect(diff.value).toBeLessThan(1);
    expect(diff.lo).toBeLessThan(diff.hi);
  });
  it('split-half cosine rises with the signal-to-noise ratio of the direction', () => {
    const weak = splitHalfCosine(residuals(40, 40, 1, 16, 4, 0.2), 0, { replicates: 100 });
    const strong = splitHalfCosine(residuals(40, 40, 1, 16, 4, 3), 0, { replicates: 100 });
    expect(strong.value).toBeGreaterThan(weak.value);
    expect(strong.value).toBeGreaterThan(0.9);
    expect(strong.lo).toBeLessThanOrEqual(strong.value);
  });
});
