/**
 * The wasm-simd backend's JS attention against attentionRef. Both accumulate scores in float64; they differ
 * in summation order (unrolled dot products) and in how the value mix is accumulated (float64 row here, the
 * f32 output in the reference, one f32 rounding per key there). So |out - ref| <= 2^-22 (S + 2) Σ_j p_j |v_j|
 * (the reference's S roundings of at most half an f32 ulp of a partial sum bounded by Σ p|v|, plus ours).
 * Patterns agree to float64 rounding of the scores, far below f32 resolution: 1e-6 relative.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { attentionRef, rmsNormRef, ropeRef } from '../kernels/reference/ops.ts';
import { attention, rope } from '../kernels/wasm/js-ops.ts';
import { randomAttention } from './helpers/attention-cases.ts';
import { rng, trackedBackend } from './helpers/wasm-weights.ts';

describe('wasm-simd js attention', () => {
  it('matches attentionRef (outputs and patterns) with GQA, padding and causal masks', () => {
    fc.assert(
      fc.property(
        fc.record({
          t: fc.integer({ min: 1, max: 7 }),
          past: fc.integer({ min: 0, max: 9 }),
          nKv: fc.integer({ min: 1, max: 3 }),
          group: fc.integer({ min: 1, max: 3 }),
          d: fc.constantFrom(1, 2, 3, 4, 5, 8, 13, 16),
          pad: fc.integer({ min: 0, max: 4 }),
          big: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ t, past, nKv, group, d, pad, big, seed }) => {
          const r = rng(seed);
          const args = randomAttention({ t, past, nKv, group, d, pad, m: big ? 30 : 1 }, r);
          const { s, nHeads } = args;
          const pa = new Float32Array(nHeads * t * s);
          const pb = new Float32Array(nHeads * t * s);
          const ref = attentionRef({ ...args, patternOut: pa });
          const out = attention({ ...args, patternOut: pb });
          for (let i = 0; i < pa.length; i++) expect(Math.abs(pa[i] - pb[i])).toBeLessThanOrEqual(1e-6 * Math.abs(pa[i]) + 1e-30);
          for (let i = 0; i < t; i++)
            for (let h = 0; h < nHeads; h++) {
              const kh = Math.floor(h / group);
              for (let c = 0; c < d; c++) {
                let spv = 0;
                for (let j = 0; j < s; j++) spv += pa[(h * t + i) * s + j] * Math.abs(args.v[(j * nKv + kh) * d + c]);
                const o = (i * nHeads + h) * d + c;
                expect(Math.abs(out[o] - ref[o])).toBeLessThanOrEqual(2 ** -22 * (s + 2) * spv + 1e-30);
              }
            }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('wasm-simd js rope', () => {
  it('equals ropeRef bit for bit, also when cos/sin are reused from the previous call or must not be, into a given array', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            t: fc.integer({ min: 1, max: 4 }),
            nHeads: fc.integer({ min: 1, max: 3 }),
            half: fc.integer({ min: 1, max: 5 }),
            posBase: fc.integer({ min: 0, max: 3 }),
            freqSeed: fc.integer({ min: 0, max: 1 }),
            seed: fc.integer(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (calls) => {
          for (const { t, nHeads, half, posBase, freqSeed, seed } of calls) {
            const r = rng(seed);
            const d = 2 * half;
            const x = Float32Array.from({ length: t * nHeads * d }, () => (r() * 2 - 1) * 10);
            const pos = Int32Array.from({ length: t }, (_, i) => posBase * 1000 + i);
            const invFreq = Float32Array.from({ length: half }, (_, c) => (freqSeed + 1) / 10000 ** ((2 * c) / d));
            const want = ropeRef(x, pos, t, nHeads, d, invFreq);
            // Every other call writes into a given array (filled with 9s: each element must be written).
            const out = seed % 2 ? new Float32Array(x.length).fill(9) : undefined;
            const got = rope(x, pos, t, nHeads, d, invFreq, out);
            if (out) expect(got).toBe(out);
            expect(got.every((v, i) => Object.is(v, want[i]))).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('wasm-simd rmsNorm', () => {
  // Two threads, every call threaded: the wasm kernel from 1,024 elements (row-ops.ts), JS below.
  const backend = trackedBackend({ threads: 2, minThreadedWork: 1 });
  it('equals rmsNormRef bit for bit: the wasm kernel and the JS path, w or 1 + w, zeros, huge and non-finite values', () => {
    const special = [0, -0, 1e-30, 3e38, -3e38, Infinity, NaN];
    fc.assert(
      fc.property(
        fc.record({
          t: fc.integer({ min: 1, max: 40 }),
          d: fc.constantFrom(1, 2, 3, 7, 8, 64, 97),
          addOne: fc.boolean(),
          eps: fc.constantFrom(1e-6, 1e-5, 0),
          nSpecial: fc.integer({ min: 0, max: 3 }),
          reuse: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ t, d, addOne, eps, nSpecial, reuse, seed }) => {
          const r = rng(seed);
          const x = Float32Array.from({ length: t * d }, () => (r() * 2 - 1) * 10 ** Math.floor(r() * 6 - 3));
          const w = Float32Array.from({ length: d }, () => (r() * 2 - 1) * 10 ** Math.floor(r() * 4 - 2));
          for (let i = 0; i < nSpecial; i++) x[Math.floor(r() * x.length)] = special[Math.floor(r() * special.length)];
          if (r() < 0.2) x.fill(0, 0, d); // a row of zeros: ss = 0
          const want = rmsNormRef(x, w, t, d, eps, addOne);
          const out = reuse ? new Float32Array(t * d).fill(9) : undefined;
          const got = backend.rmsNorm(x, w, t, d, eps, addOne, out);
          if (out) expect(got).toBe(out);
          expect(got.every((v, i) => Object.is(v, want[i]))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
