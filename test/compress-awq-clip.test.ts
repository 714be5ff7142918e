/**
 * AWQ's clipping search (analysis/compress/awq-clip.ts), checked against error sums recomputed here directly over
 * the tokens (no Gram matrices) from the stored int4 quantizer's output: clipping never raises a layer's output
 * error on the calibration inputs, every (row, group) choice is the grid's best for its share of the output, and
 * weights with outliers on a quiet input channel are strictly better clipped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awqClipSearch, clipGroups, clipRatios } from '../analysis/compress/awq-clip.ts';
import { CompressionError } from '../analysis/compress/errors.ts';
import { quantizeInt4Group } from '../analysis/compress/rtn.ts';
import { dequantize } from '../models/weight-formats.ts';

/** Deterministic normal-ish samples (Box-Muller on an LCG). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const rounded = (w: Float32Array, n: number, k: number, g: number) => dequantize(quantizeInt4Group(w, n, k, g));

/** Σ over rows and tokens of (Σ_j (q − w)_rj x_tj)², columns [c0, c1) only, in float64. */
function outputError(q: Float32Array, w: Float32Array, x: Float32Array, n: number, k: number, t: number, c0 = 0, c1 = k, rows = [0, n]) {
  let e = 0;
  for (let r = rows[0]; r < rows[1]; r++)
    for (let i = 0; i < t; i++) {
      let s = 0;
      for (let j = c0; j < c1; j++) s += (q[r * k + j] - w[r * k + j]) * x[i * k + j];
      e += s * s;
    }
  return e;
}

describe('awqClipSearch', () => {
  it('never raises the output error on the calibration inputs, and each group takes its best grid ratio (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(4, 8),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.boolean(),
        (n, groups, g, t, seed, outliers) => {
          // k not a multiple of g half the time: the last group is partial.
          const k = groups * g - (seed % 2) * Math.min(g - 1, 2);
          const gen = rng(seed);
          const w = Float32Array.from({ length: n * k }, (_, i) => gen() * (outliers && i % 7 === 3 ? 20 : 1));
          const x = Float32Array.from({ length: t * k }, (_, i) => gen() * (i % 5 === 0 ? 4 : 1));
          const res = awqClipSearch(w, n, k, x, t, g, {}, 'prop');
          const plain = rounded(w, n, k, g);
          const clipped = rounded(res.w, n, k, g);
          const e0 = outputError(plain, w, x, n, k, t);
          const e1 = outputError(clipped, w, x, n, k, t);
          // The guard makes this hold row by row in exact terms; 1e-9 relative covers float64 summation order.
          expect(e1).toBeLessThanOrEqual(e0 * (1 + 1e-9) + 1e-30);
          expect(res.lossNoClip).toBeCloseTo(e0 / (n * t), 9);
          expect(res.loss).toBeCloseTo(e1 / (n * t), 9);
          // The stored weight is w clipped by the reported ratios, each from the grid.
          const grid = clipRatios();
          const ng = Math.ceil(k / g);
          expect(Array.from(res.w)).toEqual(Array.from(clipGroups(w, n, k, g, (r, gi) => res.ratios[r * ng + gi])));
          for (const ratio of res.ratios) expect(grid).toContain(ratio);
          // Every clip the guard kept is its group's best: no grid ratio gives the group's share a smaller error.
          for (let r = 0; r < n; r++) {
            const rowRatios = Array.from(res.ratios.subarray(r * ng, (r + 1) * ng));
            for (let gi = 0; gi < ng; gi++) {
              const c0 = gi * g;
              const c1 = Math.min(k, c0 + g);
              const chosen = outputError(clipped, w, x, n, k, t, c0, c1, [r, r + 1]);
              const unclipped = outputError(plain, w, x, n, k, t, c0, c1, [r, r + 1]);
              if (rowRatios[gi] < 1) {
                for (const ratio of grid) {
                  const alt = rounded(
                    clipGroups(w, n, k, g, () => ratio),
                    n,
                    k,
                    g,
                  );
                  expect(chosen).toBeLessThanOrEqual(outputError(alt, w, x, n, k, t, c0, c1, [r, r + 1]) * (1 + 1e-9) + 1e-30);
                }
              } else expect(chosen).toBe(unclipped);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('clips outliers whose input channel is quiet, and lowers the output error strictly', () => {
    const n = 8;
    const k = 64;
    const g = 32;
    const t = 32;
    const gen = rng(11);
    // Small weights plus one large weight per group, sitting on an input channel that barely moves.
    const w = Float32Array.from({ length: n * k }, (_, i) => (i % g === 5 ? 1 : 0.02 * gen()));
    const x = Float32Array.from({ length: t * k }, (_, i) => ((i % k) % g === 5 ? 0.01 * gen() : gen()));
    const res = awqClipSearch(w, n, k, x, t, g);
    const e0 = outputError(rounded(w, n, k, g), w, x, n, k, t);
    const e1 = outputError(rounded(res.w, n, k, g), w, x, n, k, t);
    // Shrinking the outlier costs little (its input is ~0.01); the 31 small weights gain resolution. (The guard may
    // set back a clip whose error adds to another group's in the same row.)
    expect(res.clippedFraction).toBeGreaterThanOrEqual(0.9);
    expect(res.clippedFraction + res.groupsReset / 16).toBe(1);
    expect(e1).toBeLessThan(0.5 * e0);
    console.log(`outlier case: output MSE ${(e0 / (n * t)).toExponential(3)} unclipped -> ${(e1 / (n * t)).toExponential(3)} clipped`);
  });

  it("sets back the clips whose group's own choice raises the row's total error (the guard llm-awq lacks)", () => {
    // Found by search: 3 tokens, two groups whose best clips err in the same direction on the same tokens.
    const [n, k, g, t] = [1, 8, 4, 3];
    const gen = rng(3);
    const w = Float32Array.from({ length: n * k }, (_, i) => gen() * (i % 4 === 1 ? 6 : 1));
    const x = Float32Array.from({ length: t * k }, () => gen());
    // llm-awq's rule, recomputed here: each group takes the grid ratio minimizing its own share of the output error.
    const grid = clipRatios();
    const perGroup = [0, 1].map((gi) => {
      const errs = grid.map((ratio) =>
        outputError(
          rounded(
            clipGroups(w, n, k, g, () => ratio),
            n,
            k,
            g,
          ),
          w,
          x,
          n,
          k,
          t,
          gi * g,
          (gi + 1) * g,
        ),
      );
      return grid[errs.indexOf(Math.min(...errs))];
    });
    expect(perGroup.some((r) => r < 1)).toBe(true);
    const e0 = outputError(rounded(w, n, k, g), w, x, n, k, t);
    const unguarded = outputError(
      rounded(
        clipGroups(w, n, k, g, (_r, gi) => perGroup[gi]),
        n,
        k,
        g,
      ),
      w,
      x,
      n,
      k,
      t,
    );
    expect(unguarded).toBeGreaterThan(e0);
    const res = awqClipSearch(w, n, k, x, t, g);
    expect(res.groupsReset).toBeGreaterThanOrEqual(1);
    // The guard keeps a group's llm-awq choice or sets it back to 1, and ends no worse than no clipping.
    Array.from(res.ratios).forEach((ratio, gi) => expect([1, perGroup[gi]]).toContain(ratio));
    const guarded = outputError(rounded(res.w, n, k, g), w, x, n, k, t);
    expect(guarded).toBeLessThanOrEqual(e0 * (1 + 1e-9));
    expect(guarded).toBeLessThan(unguarded);
    expect(res.loss).toBeCloseTo(guarded / t, 12);
  });

  it('keeps a group unclipped when its largest weight carries the output (ratio 1 wins)', () => {
    const n = 2;
    const k = 8;
    // One channel with a big weight and a loud input: shrinking that weight costs far more than rounding saves.
    const w = Float32Array.from({ length: n * k }, (_, i) => (i % k === 0 ? 1 : 0.3 * ((i % 3) - 1)));
    const x = Float32Array.from({ length: 4 * k }, (_, i) => (i % k === 0 ? 10 : 0.1));
    const res = awqClipSearch(w, n, k, x, 4, 8);
    expect(Array.from(res.ratios)).toEqual([1, 1]);
    expect(Array.from(res.w)).toEqual(Array.from(w));
    expect(res.loss).toBe(res.lossNoClip);
  });

  it('names the matrix on bad input and bad grids', () => {
    const w = new Float32Array(8);
    expect(() => awqClipSearch(w, 2, 4, new Float32Array(6), 2, 4, {}, 'blocks.0.v')).toThrow(CompressionError);
    expect(() => awqClipSearch(w, 2, 4, new Float32Array(6), 2, 4, {}, 'blocks.0.v')).toThrow(
      /blocks\.0\.v: AWQ clip input has 6 values, want 2x4/,
    );
    expect(() => awqClipSearch(w, 2, 4, new Float32Array(0), 0, 4, {}, 'blocks.0.v')).toThrow(/t > 0/);
    expect(() => awqClipSearch(w, 3, 4, new Float32Array(8), 2, 4, {}, 'blocks.1.o')).toThrow(/blocks\.1\.o: has 8 values, want 3x4/);
    expect(() => clipRatios({ maxShrink: 1 })).toThrow(/maxShrink 1 must lie in \(0, 1\)/);
    expect(() => clipRatios({ nGrid: 0 })).toThrow(/nGrid 0 must be a positive integer/);
    expect(clipRatios()).toEqual([1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55]);
  });
});
