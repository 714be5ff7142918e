/** The helpers GPTQ and SparseGPT share (analysis/compress/linalg.ts), against plain matrix algebra. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propagateBlockError, workingCopies } from '../analysis/compress/linalg.ts';
import { sparseGptPrune } from '../analysis/compress/sparsegpt.ts';

const floats = (len: number) => fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: len, maxLength: len });

describe('GPTQ / SparseGPT shared steps', () => {
  it('propagateBlockError is W[:, i2:] -= err · Hinv[i1:i2, i2:] and leaves columns < i2 alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 9 }), fc.nat(), fc.nat(), (n, k, a, b) => {
        const i1 = a % k;
        const i2 = i1 + 1 + (b % (k - i1));
        const cnt = i2 - i1;
        const rnd = (m: number) => Float64Array.from({ length: m }, (_, i) => Math.sin(1 + i * 7.3 + n * 3.1 + k));
        const w = rnd(n * k);
        const err = rnd(n * cnt).map((x) => x * 0.5);
        const hinv = rnd(k * k).map((x) => x * 0.25);
        const want = Float64Array.from(w);
        for (let r = 0; r < n; r++)
          for (let j = i2; j < k; j++) {
            let s = 0;
            for (let c = 0; c < cnt; c++) s += err[r * cnt + c] * hinv[(i1 + c) * k + j];
            want[r * k + j] -= s;
          }
        propagateBlockError(w, err, hinv, n, k, i1, i2);
        // Same products summed in the same order except for skipped zero errors: float64 agrees to ~1e-15.
        for (let i = 0; i < w.length; i++) expect(w[i]).toBeCloseTo(want[i], 12);
      }),
      { numRuns: 100 },
    );
  });

  it('workingCopies: a column no calibration token reached gets H_jj = 1 and zero weights; inputs untouched', () => {
    fc.assert(
      fc.property(floats(12), floats(16), fc.integer({ min: 0, max: 3 }), (wv, hv, dead) => {
        const n = 3,
          k = 4;
        const w = Float32Array.from(wv);
        const h = Float64Array.from(hv);
        h[dead * k + dead] = 0;
        const before = [Float32Array.from(w), Float64Array.from(h)];
        const { W, H } = workingCopies(w, h, n, k);
        expect(H[dead * k + dead]).toBe(1);
        for (let r = 0; r < n; r++) expect(W[r * k + dead]).toBe(0);
        for (let j = 0; j < k; j++)
          if (j !== dead && h[j * k + j] !== 0) for (let r = 0; r < n; r++) expect(W[r * k + j]).toBe(w[r * k + j]);
        expect(w).toEqual(before[0]);
        expect(h).toEqual(before[1]);
      }),
      { numRuns: 50 },
    );
  });

  it('SparseGPT on a Hessian with a dead input column prunes without NaN and zeroes that column', () => {
    const n = 4,
      k = 8;
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 1.7));
    const h = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] = i === j ? 2 + i : 0.1;
    for (let j = 0; j < k; j++) h[3 * k + j] = h[j * k + 3] = 0;
    const out = sparseGptPrune(w, n, k, h, { sparsity: 0.5 });
    expect(out.every(Number.isFinite)).toBe(true);
    for (let r = 0; r < n; r++) expect(out[r * k + 3]).toBe(0);
  });
});
