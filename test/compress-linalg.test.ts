/** The helpers GPTQ and SparseGPT share (analysis/compress/linalg.ts), against plain matrix algebra. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompressionError } from '../analysis/compress/errors.ts';
import { choleskyInverse, choleskyLower, propagateBlockError, workingCopies } from '../analysis/compress/linalg.ts';
import { sparseGptPrune } from '../analysis/compress/sparsegpt.ts';

const floats = (len: number) => fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: len, maxLength: len });

/** The definitions, one entry at a time in natural layout (linalg.ts before rows went four at a time and L⁻¹ transposed). */
function choleskyLowerDef(a: Float64Array, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j];
    for (let p = 0; p < j; p++) d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0)) throw new CompressionError(`not positive definite at column ${j}`);
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j];
      for (let p = 0; p < j; p++) s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / l;
    }
    for (let i = 0; i < j; i++) a[i * k + j] = 0;
  }
  return a;
}
function choleskyInverseDef(l: Float64Array, k: number): Float64Array {
  const li = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    li[c * k + c] = 1 / l[c * k + c];
    for (let i = c + 1; i < k; i++) {
      let s = 0;
      for (let p = c; p < i; p++) s += l[i * k + p] * li[p * k + c];
      li[i * k + c] = -s / l[i * k + i];
    }
  }
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = i; p < k; p++) s += li[p * k + i] * li[p * k + j];
      out[i * k + j] = s;
      out[j * k + i] = s;
    }
  return out;
}
const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('Cholesky and its inverse', () => {
  it('equal their one-entry-at-a-time definitions bit for bit, and refuse at the same column', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 23 }), fc.integer(), fc.boolean(), (k, seed, breakIt) => {
        let s = seed >>> 0;
        const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        // A = B Bᵀ + k·I / 4 with entries of mixed magnitude: positive definite, sums whose order shows in the bits.
        const b = Float64Array.from({ length: k * k }, () => rnd() * 10 ** Math.floor(rnd() * 3));
        const a = new Float64Array(k * k);
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            let v = i === j ? k / 4 : 0;
            for (let p = 0; p < k; p++) v += b[i * k + p] * b[j * k + p];
            a[i * k + j] = v;
          }
        if (breakIt) a[(k - 1) * k + (k - 1)] = -1; // not positive definite at the last column
        const want = a.slice();
        let wantErr: string | null = null;
        try {
          choleskyLowerDef(want, k);
        } catch (e) {
          wantErr = (e as Error).message;
        }
        const got = a.slice();
        if (wantErr) {
          expect(() => choleskyLower(got, k, 'm')).toThrow(`m: ${wantErr}`.replace(/ \(pivot.*$/, ''));
          return;
        }
        choleskyLower(got, k, 'm');
        expect(sameBits(got, want)).toBe(true);
        expect(sameBits(choleskyInverse(got, k), choleskyInverseDef(want, k))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

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
