/**
 * The gpu.js ops property suite: norm, rope, attention, elementwise and embedding kernels against the plain-TS reference on
 * every gpu.js mode available without a GPU. Each bound is derived in a comment from the f32 operations
 * the kernel performs (u = 2^-24 per rounding); gpu.js' cpu mode computes in doubles and is tighter.
 */
import { hfInvFreq } from '../../models/rope.ts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../engine/errors.ts';
import { createGpujsBackend } from '../../kernels/gpujs/backend.ts';
import type { GpujsMode } from '../../kernels/gpujs/runtime.ts';
import * as ref from '../../kernels/reference/ops.ts';
import type { AttentionArgs, Backend } from '../../kernels/types.ts';
import { U, expectWithin, randoms } from './gpujs.ts';

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const dimArb = fc.oneof(fc.constantFrom(1, 2, 3, 5, 7, 13, 31, 64), fc.integer({ min: 1, max: 48 }));
const scaleArb = fc.constantFrom(0, 1, 1, 1e-3, 1e4);
/** f32's smallest normal: results that underflow (exp overflow, 0.5·x·(1+tanh) → 0) may differ by this. */
const TINY = 2 ** -126;

/** The ops property suite for one gpu.js mode. */
export function opsSuite(mode: GpujsMode): void {
  describe(`gpu.js ${mode} ops`, () => {
    let be: Backend;
    beforeAll(async () => {
      be = await createGpujsBackend(mode);
    });
    afterAll(() => be.dispose());
    // numRuns capped: every new shape builds new kernels (a few ms to tens of ms each).
    const opts = { numRuns: 25 };

    it('rmsNorm (with and without addOne)', async () => {
      await fc.assert(
        fc.asyncProperty(dimArb, dimArb, scaleArb, fc.boolean(), seedArb, async (t, d, sc, addOne, seed) => {
          const x = randoms(seed, t * d, sc);
          const w = randoms(seed + 1, d, 2);
          const eps = 1e-5;
          const y = await be.rmsNorm(x, w, t, d, eps, addOne);
          // Σx² is a sum of non-negative terms: relative error ≤ d·u; /d, +eps, sqrt, 1/· add ≤ 4u and the
          // sqrt halves the sum's error; x·inv·(addOne + w) adds 3 roundings: ≤ (d/2 + 8)·u·|y|.
          const r = ref.rmsNormRef(x, w, t, d, eps, addOne);
          expectWithin(y, r, (i) => (d / 2 + 8) * U * Math.abs(r[i]), `${mode} rmsNorm t=${t} d=${d}`);
        }),
        opts,
      );
    });

    it('layerNorm', async () => {
      await fc.assert(
        fc.asyncProperty(dimArb, dimArb, scaleArb, fc.double({ min: -4, max: 4, noNaN: true }), seedArb, async (t, d, sc, shift, seed) => {
          const x = randoms(seed, t * d, sc).map((v) => v + shift * sc);
          const w = randoms(seed + 1, d, 2);
          const b = randoms(seed + 2, d);
          const eps = 1e-5;
          const y = await be.layerNorm(x, w, b, t, d, eps);
          const r = ref.layerNormRef(x, w, b, t, d, eps);
          // The f32 mean errs by δm ≤ (d + 1)·u·mean|x|, which shifts every x - m; the variance sum of
          // non-negative terms adds ≤ (d/2 + 4)·u relative to inv, and the apply 4 roundings:
          // |y - ref| ≤ |w|·inv·((d + 1)·u·mean|x| + (d/2 + 8)·u·|x - m|) + 2u·|b| + u·|ref|.
          const rowAbs = new Float64Array(t);
          const inv = new Float64Array(t);
          const mean = new Float64Array(t);
          for (let i = 0; i < t; i++) {
            let m = 0;
            let a = 0;
            for (let c = 0; c < d; c++) ((m += x[i * d + c]), (a += Math.abs(x[i * d + c])));
            m /= d;
            let v = 0;
            for (let c = 0; c < d; c++) v += (x[i * d + c] - m) ** 2;
            mean[i] = m;
            rowAbs[i] = a / d;
            inv[i] = 1 / Math.sqrt(v / d + eps);
          }
          expectWithin(
            y,
            r,
            (j) => {
              const i = Math.floor(j / d);
              const c = j % d;
              const dx = Math.abs(x[j] - mean[i]);
              return (
                Math.abs(w[c]) * inv[i] * ((d + 1) * U * rowAbs[i] + (d / 2 + 8) * U * dx) + 2 * U * Math.abs(b[c]) + U * Math.abs(r[j])
              );
            },
            `${mode} layerNorm t=${t} d=${d}`,
          );
        }),
        opts,
      );
    });

    it('rope (rotate_half) at small and large positions', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(1, 8192),
          seedArb,
          async (t, h, halfDim, maxPos, seed) => {
            const hd = 2 * halfDim;
            const x = randoms(seed, t * h * hd, 3);
            const pos = Int32Array.from(randoms(seed + 1, t), (v) => Math.floor(((v + 1) / 2) * maxPos));
            const inv = hfInvFreq({ dim: hd, theta: 10000, scaling: { type: 'none' } });
            const y = await be.rope(x, pos, t, h, hd, inv);
            const r = ref.ropeRef(x, pos, t, h, hd, inv);
            // Same f32 angles as the reference; cos and sin rounded to f32 (u each), two products and a
            // sum (3u): |y - ref| ≤ 6u·(|a| + |b|) for the pair (a, b) the output mixes.
            expectWithin(
              y,
              r,
              (j) => {
                const c = j % hd;
                const base = j - c;
                const lo = c % halfDim;
                return 6 * U * (Math.abs(x[base + lo]) + Math.abs(x[base + lo + halfDim]));
              },
              `${mode} rope t=${t} h=${h} hd=${hd}`,
            );
          },
        ),
        opts,
      );
    });

    it('causal GQA attention with padding mask, and its probabilities', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 0, max: 70 }),
          fc.integer({ min: 1, max: 3 }),
          fc.constantFrom(1, 2, 3),
          fc.integer({ min: 1, max: 17 }),
          fc.constantFrom(0, 1, 3),
          fc.constantFrom(0.3, 3),
          seedArb,
          async (t, past, kv, group, hd, pad, qScale, seed) => {
            const s = t + past;
            const nHeads = kv * group;
            const keyValid = Uint8Array.from({ length: s }, (_, j) => (j < Math.min(pad, s) ? 0 : 1));
            const a: AttentionArgs = {
              q: randoms(seed, t * nHeads * hd, qScale),
              k: randoms(seed + 1, s * kv * hd, qScale),
              v: randoms(seed + 2, s * kv * hd, 2),
              t,
              s,
              nHeads,
              nKvHeads: kv,
              headDim: hd,
              keyValid,
              scale: 1 / Math.sqrt(hd),
            };
            const p = new Float32Array(nHeads * t * s).fill(NaN);
            const pr = new Float32Array(nHeads * t * s);
            const y = await be.attention({ ...a, patternOut: p });
            const r = ref.attentionRef({ ...a, patternOut: pr });
            // Scores: a dot of hd f32 products errs by ≤ (hd + 2)·u·scale·Σ|q·k| =: e. Softmax: s - max
            // (u), exp (u), the sum of ≤ S terms (S·u) and the division (u) make each probability's relative
            // error ≤ 2e + (S + 4)·u; the weighted sum of values adds (S + 1)·u relative to Σ p·|v|.
            let e = 0;
            for (let i = 0; i < t; i++)
              for (let h = 0; h < nHeads; h++)
                for (let j = 0; j < s; j++) {
                  let m = 0;
                  for (let c = 0; c < hd; c++)
                    m += Math.abs(a.q[(i * nHeads + h) * hd + c] * a.k[(j * kv + Math.floor(h / group)) * hd + c]);
                  e = Math.max(e, (hd + 2) * U * a.scale * m);
                }
            const rel = 2 * e + (s + 4) * U;
            expectWithin(p, pr, (j) => rel * pr[j], `${mode} attention pattern t=${t} s=${s}`);
            expectWithin(
              y,
              r,
              (j) => {
                const c = j % hd;
                const h = Math.floor(j / hd) % nHeads;
                const i = Math.floor(j / (hd * nHeads));
                let pv = 0;
                for (let jj = 0; jj < s; jj++) pv += pr[(h * t + i) * s + jj] * Math.abs(a.v[(jj * kv + Math.floor(h / group)) * hd + c]);
                return (rel + (s + 1) * U) * pv;
              },
              `${mode} attention out t=${t} s=${s} heads=${nHeads}/${kv} hd=${hd}`,
            );
          },
        ),
        opts,
      );
    });

    it('attention over left padding only: rows that see no key are zero', async () => {
      const a: AttentionArgs = {
        q: randoms(1, 2 * 2 * 4),
        k: randoms(2, 3 * 4),
        v: randoms(3, 3 * 4),
        t: 2,
        s: 3,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 4,
        keyValid: Uint8Array.from([0, 0, 1]),
        scale: 0.5,
      };
      const y = await be.attention(a);
      expect(Array.from(y.subarray(0, 8))).toEqual(new Array(8).fill(0));
      expectWithin(y, ref.attentionRef(a), () => 8 * U, `${mode} attention all-masked row`);
    });

    it('siluGate, gelu and add, elementwise', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.constantFrom(1, 10, 100), seedArb, async (n, sc, seed) => {
          const g = randoms(seed, n, sc);
          const u = randoms(seed + 1, n, sc);
          // silu·up: exp, 1 + ·, division and product are ≤ 5 roundings of positive-definite steps. Where
          // f32 exp(-g) overflows (g < -88.7, e^g < 2^-128) the kernel gives 0 for |g·up|·e^g < |g·up|·2^-128.
          // WGSL only promises exp to 3 + 2|x| ULP (1 ULP <= 2u relative), which reaches the quotient scaled by
          // e/(1+e) <= 1; a device that flushes subnormals (SwiftShader) may return 0 for a result below 2^-126.
          const rs = ref.siluGateRef(g, u);
          const expUlps = (i: number) => (mode === 'webgpu' ? (3 + 2 * Math.abs(g[i])) * 2 * U * Math.abs(rs[i]) + TINY : 0);
          expectWithin(
            await be.siluGate(g, u),
            rs,
            (i) => 6 * U * Math.abs(rs[i]) + Math.abs(g[i] * u[i]) * 2 ** -128 + expUlps(i),
            `${mode} siluGate`,
          );
          // gelu: the tanh argument carries ≤ 5u relative error, and |z|·sech²(z) ≤ 0.45 bounds its effect;
          // tanh, 1 + ·, and the two products add ≤ 4 roundings of magnitude ≤ |x|: ≤ 8u·|x|.
          const rg = ref.geluRef(g);
          expectWithin(await be.gelu(g), rg, (i) => 8 * U * Math.abs(g[i]) + TINY, `${mode} gelu`);
          // a + b is one correctly rounded f32 add on both sides: exact.
          expect(await be.add(g, u)).toEqual(ref.addRef(g, u));
        }),
        opts,
      );
    });

    it('embedding gathers rows exactly, from a resident table', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 50 }),
          dimArb,
          fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
          seedArb,
          async (v, d, raw, seed) => {
            const table = randoms(seed, v * d, 1e3);
            const ids = Int32Array.from(raw, (i) => i % v);
            expect(await be.embedding(table, ids, d)).toEqual(ref.embeddingRef(table, ids, d));
            expect(await be.embedding(table, ids.slice().reverse(), d)).toEqual(ref.embeddingRef(table, ids.slice().reverse(), d));
          },
        ),
        { numRuns: 12 },
      );
    });

    it('rejects mismatched sizes with a ShapeError naming the op and argument', async () => {
      const fail = (f: () => unknown) => expect(Promise.resolve().then(f)).rejects.toThrow(ShapeError);
      await fail(() => be.rmsNorm(new Float32Array(5), new Float32Array(3), 2, 3, 1e-5));
      await expect(
        Promise.resolve().then(() => be.layerNorm(new Float32Array(6), new Float32Array(3), new Float32Array(2), 2, 3, 1e-5)),
      ).rejects.toThrow(/layerNorm: b has 2 values, expected 3/);
      await expect(
        Promise.resolve().then(() => be.rope(new Float32Array(6), new Int32Array(1), 1, 2, 3, new Float32Array(1))),
      ).rejects.toThrow(/headDim must be even/);
      await fail(() =>
        be.attention({
          q: new Float32Array(4),
          k: new Float32Array(4),
          v: new Float32Array(4),
          t: 1,
          s: 1,
          nHeads: 2,
          nKvHeads: 1,
          headDim: 2,
          keyValid: new Uint8Array(1),
          scale: 1,
        }),
      );
      await fail(() => be.add(new Float32Array(3), new Float32Array(4)));
      await expect(Promise.resolve().then(() => be.embedding(new Float32Array(6), Int32Array.from([3]), 2))).rejects.toThrow(
        /ids\[0\] = 3 outside the table's 3 rows/,
      );
    });
  });
}
