/**
 * The gpu.js linear property suite: linear kernels (f32 / int8 / int4, perm, bias) against the plain-TS reference
 * (dequantize, then float64 matmul), on every gpu.js mode available without a GPU.
 *
 * Tolerance: the a-priori bound for recursive f32 summation (Higham, Accuracy and Stability, §4.2):
 * a sum of m products each rounded once errs by at most (m + 1)·u·Σ|w·x|, u = 2^-24. The one-token
 * kernels sum each group in 4 interleaved accumulators (⌈G/4⌉ terms each; the 4-token kernels used for
 * T > 1 keep one accumulator per token, up to 4·⌈G/4⌉ terms), add the 4 (2 roundings), scale the group
 * (1), and add nGroups group sums; the reference rounds W = q·s to f32 once (1). So
 * |y - ref| ≤ (terms per group + nGroups + 6)·u·Σ_k |W[n,k]·x[k]| (+ 2u·|bias| for the bias add).
 * It holds for any data, so it cannot fail on a correct kernel; a dropped term, wrong nibble, wrong
 * zero point or wrong group scale is off by O(|W·x|), far beyond it. gpu.js' cpu mode computes in
 * doubles and sits well inside the same bound.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../engine/errors.ts';
import { dequantize, nGroups } from '../../kernels/formats.ts';
import { createGpujsBackend } from '../../kernels/gpujs/backend.ts';
import type { GpujsMode } from '../../kernels/gpujs/runtime.ts';
import { linearRef } from '../../kernels/reference/ops.ts';
import type { Backend, LinearWeight } from '../../kernels/types.ts';
import { U, expectWithin, randoms } from './gpujs.ts';

type Regime = 'normal' | 'zeros' | 'large';

export interface Case {
  format: 'f32' | 'int8' | 'int4';
  n: number;
  k: number;
  t: number;
  groupSize: number;
  sym: boolean;
  perm: boolean;
  bias: boolean;
  regime: Regime;
  seed: number;
}

const dimArb = fc.oneof(fc.constantFrom(1, 2, 3, 5, 7, 13, 31, 37), fc.integer({ min: 1, max: 70 }));
export const caseArb = (format: Case['format']): fc.Arbitrary<Case> =>
  fc.record({
    format: fc.constant(format),
    n: dimArb,
    k: dimArb,
    t: fc.constantFrom(1, 1, 2, 3, 4, 6),
    groupSize: fc.constantFrom(1, 3, 4, 5, 8, 16, 32, 64, 128),
    sym: fc.boolean(),
    perm: fc.boolean(),
    bias: fc.boolean(),
    regime: fc.constantFrom<Regime>('normal', 'normal', 'zeros', 'large'),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  });

/** Integers in [lo, hi] from a seed; extremes are over-represented (q = -128/127, zero points 0/15). */
function ints(seed: number, n: number, lo: number, hi: number): number[] {
  const r = randoms(seed, n);
  return Array.from(r, (v, i) => (i % 7 === 0 ? (v < 0 ? lo : hi) : Math.round(lo + ((v + 1) / 2) * (hi - lo))));
}

export function makeWeight(c: Case): LinearWeight {
  const { n, k, groupSize, seed } = c;
  const big = c.regime === 'large' ? 1e4 : 1;
  const perm = c.perm
    ? Int32Array.from(Array.from({ length: k }, (_, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101)))
    : null;
  if (c.format === 'f32') {
    const w = c.regime === 'zeros' ? new Float32Array(n * k) : randoms(seed, n * k, big);
    return { format: 'f32', n, k, w, perm };
  }
  const g = nGroups(k, groupSize);
  const scales = c.regime === 'zeros' ? new Float32Array(n * g) : randoms(seed + 1, n * g, 0.05 * big);
  if (c.format === 'int8') return { format: 'int8', n, k, groupSize, q: Int8Array.from(ints(seed + 2, n * k, -128, 127)), scales, perm };
  const packed = Uint8Array.from(ints(seed + 3, n * Math.ceil(k / 2), 0, 255));
  const zeros = c.sym ? null : Uint8Array.from(ints(seed + 4, n * g, 0, 15));
  return { format: 'int4', n, k, groupSize, packed, scales, zeros, perm };
}

export function inputOf(c: Case): Float32Array {
  if (c.regime === 'zeros') return new Float32Array(c.t * c.k);
  return randoms(c.seed + 5, c.t * c.k, c.regime === 'large' ? 1e3 : 1);
}

/** linearRef's result and the bound of the file comment, per output element, from one dequantization. */
export function refAndBound(w: LinearWeight, x: Float32Array, t: number, bias: Float32Array | null): [Float32Array, (i: number) => number] {
  const W = dequantize(w);
  const { n, k } = w;
  const gs = w.format === 'f32' || w.format === 'bf16' ? k : w.groupSize;
  // One token: 4 interleaved accumulators of ⌈G/4⌉ terms. T > 1 (the 4-token kernels): one accumulator
  // per token over the padded group, i.e. up to 4·⌈G/4⌉ terms.
  const perGroup = t === 1 ? Math.ceil(gs / 4) : 4 * Math.ceil(gs / 4);
  const factor = (perGroup + nGroups(k, gs) + 6) * U;
  const y = new Float32Array(t * n);
  const b = new Float64Array(t * n);
  for (let i = 0; i < t; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let a = 0;
      for (let c = 0; c < k; c++) {
        const p = W[j * k + c] * x[i * k + c];
        s += p;
        a += Math.abs(p);
      }
      y[i * n + j] = s + (bias ? bias[j] : 0);
      b[i * n + j] = factor * a + (bias ? 2 * U * Math.abs(bias[j]) : 0);
    }
  return [y, (i) => b[i]];
}

/** The linear property suite for one gpu.js mode (webgpu runs it too, where an adapter exists). */
export function linearSuite(mode: GpujsMode): void {
  describe(`gpu.js ${mode} linear`, () => {
    let be: Backend;
    beforeAll(async () => {
      be = await createGpujsBackend(mode);
    });
    afterAll(() => be.dispose());

    for (const format of ['f32', 'int8', 'int4'] as const) {
      it(`${format} equals dequantize-then-matmul within the f32 summation bound`, async () => {
        // numRuns capped: every case uploads a new weight, i.e. builds a new kernel (~5-30 ms here).
        await fc.assert(
          fc.asyncProperty(caseArb(format), async (c) => {
            const w = makeWeight(c);
            const x = inputOf(c);
            const bias = c.bias ? randoms(c.seed + 6, c.n, 3) : null;
            const h = be.uploadLinear(w);
            expect(h).toMatchObject({ n: c.n, k: c.k, format });
            const y = await be.linear(h, x, c.t, bias);
            const [ref, bound] = refAndBound(w, x, c.t, bias);
            // refAndBound re-derives linearRef; keep them honest against each other.
            expect(ref).toEqual(linearRef(w, x, c.t, bias));
            expectWithin(y, ref, bound, `${mode} ${JSON.stringify(c)}`);
          }),
          { numRuns: 40 },
        );
      });
    }

    it('rejects inputs and weights whose sizes disagree, naming the argument', async () => {
      const w: LinearWeight = { format: 'int8', n: 2, k: 3, groupSize: 2, q: new Int8Array(6), scales: new Float32Array(3) };
      expect(() => be.uploadLinear(w)).toThrow(ShapeError);
      expect(() => be.uploadLinear(w)).toThrow(/3 scales \(want 4\)/);
      const h = be.uploadLinear({ format: 'f32', n: 2, k: 3, w: new Float32Array(6) });
      await expect(Promise.resolve().then(() => be.linear(h, new Float32Array(5), 2))).rejects.toThrow(
        /linear: x has 5 values, expected 6/,
      );
    });
  });
}
