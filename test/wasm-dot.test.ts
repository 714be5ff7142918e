/**
 * Integer-dot int8/int4 kernels (the wasm-simd default) against their reference, linearDotRef, which computes
 * exactly the same thing in plain loops (kernels/dot-quant.ts): results must be bit-identical, for every
 * thread count, for decode (T = 1) and prefill, and a token's prefill row must equal its decode row. Separately,
 * the reference must stay within dotErrorBound of the exact-activation result (the activation rounding,
 * <= absmax 2^-16 per block, plus the few f32 roundings), and that bound must be tight enough to catch a
 * single wrong term.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dotBlocking, quantizeRow } from '../kernels/dot-quant.ts';
import { dequantize } from '../kernels/formats.ts';
import { dotErrorBound, linearDotRef } from '../kernels/reference/linear-dot.ts';
import type { Int4Weight, Int8Weight } from '../kernels/types.ts';
import { exactFromEnv } from '../kernels/wasm/backend.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { randomWeight, randomX, rng, trackedBackend, type Profile, type ZeroMode } from './helpers/wasm-weights.ts';

const shapeK = fc.oneof(fc.constantFrom(1, 2, 15, 16, 17, 31, 32, 33, 64, 127, 128, 129, 257, 300), fc.integer({ min: 1, max: 700 }));
const shapeN = fc.oneof(fc.constantFrom(1, 3, 7, 8, 9, 16, 31), fc.integer({ min: 1, max: 40 }));
const tokens = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.constantFrom(16, 33));
const profile = fc.constantFrom<Profile>('normal', 'normal', 'zeros', 'sparse', 'large', 'tiny');

const caseArb = fc.record({
  format: fc.constantFrom<'int8' | 'int4'>('int8', 'int4'),
  k: shapeK,
  n: shapeN,
  t: tokens,
  group: fc.oneof(fc.constant(0), fc.constantFrom(16, 32, 64, 128), fc.integer({ min: 1, max: 400 })),
  wProfile: profile,
  xProfile: profile,
  zeroMode: fc.constantFrom<ZeroMode>('random', 'all0', 'all15', 'alternate', 'symmetric'),
  perm: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer(),
});

type IntWeight = Int8Weight | Int4Weight;

type Case = typeof caseArb extends fc.Arbitrary<infer C> ? C : never;

function makeCase(c: Case) {
  const r = rng(c.seed);
  const gs = c.group === 0 ? c.k : c.group;
  const w = randomWeight(c.format, c.n, c.k, gs, c.wProfile, c.zeroMode, c.perm, r) as IntWeight;
  const x = randomX(c.t * c.k, c.xProfile, r);
  const bias = c.bias ? randomX(c.n, 'normal', r) : null;
  return { w, x, bias };
}

function firstDifference(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('integer-dot kernels', () => {
  const b1 = trackedBackend({ threads: 1, exact: false });
  const b2 = trackedBackend({ threads: 2, minThreadedWork: 0, exact: false });
  const b3 = trackedBackend({ threads: 3, minThreadedWork: 0, exact: false });

  it('equal linearDotRef bit for bit (1, 2, 3 threads; decode and prefill; perms, groups, zero points, biases)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { w, x, bias } = makeCase(c);
        const ref = linearDotRef(w, x, c.t, bias);
        for (const b of [b1, b2, b3]) {
          const y = b.linear(b.uploadLinear(w), x, c.t, bias) as Float32Array;
          const bad = firstDifference(y, ref);
          if (bad >= 0) throw new Error(`threads ${b.threads}: y[${bad}] = ${y[bad]}, ref ${ref[bad]}`);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('a token gives the same row in prefill as in decode (and whatever T)', () => {
    const r = rng(7);
    for (const format of ['int8', 'int4'] as const) {
      const w = randomWeight(format, 21, 300, 64, 'normal', 'random', true, r);
      const x = randomX(7 * 300, 'normal', r);
      const h = b2.uploadLinear(w);
      const all = b2.linear(h, x, 7) as Float32Array;
      for (const t of [0, 3, 6]) {
        const one = b2.linear(h, x.subarray(t * 300, (t + 1) * 300), 1) as Float32Array;
        expect(firstDifference(one, all.subarray(t * 21, (t + 1) * 21))).toBe(-1);
      }
    }
  });

  it('linearDotRef stays within the derived bound of the exact-activation result', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { w, x } = makeCase(c);
        const y = linearDotRef(w, x, c.t);
        const W = dequantize(w);
        const bound = dotErrorBound(w, W, x, c.t);
        for (let i = 0; i < c.t; i++)
          for (let j = 0; j < w.n; j++) {
            let exact = 0;
            for (let kk = 0; kk < w.k; kk++) exact += x[i * w.k + kk] * W[j * w.k + kk];
            const e = Math.abs(y[i * w.n + j] - exact);
            if (!(e <= bound[i * w.n + j]))
              throw new Error(`y[${i},${j}] = ${y[i * w.n + j]}, exact ${exact}, error ${e} > bound ${bound[i * w.n + j]}`);
          }
      }),
      { numRuns: 60 },
    );
  });

  it('the bound catches a single dropped term (it is far below one product)', () => {
    const r = rng(11);
    const w = randomWeight('int8', 4, 512, 512, 'normal', 'random', false, r) as Int8Weight;
    const x = randomX(512, 'normal', r);
    const W = dequantize(w);
    const bound = dotErrorBound(w, W, x, 1);
    for (let j = 0; j < 4; j++) {
      let typical = 0;
      for (let kk = 0; kk < 512; kk++) typical += Math.abs(x[kk] * W[j * 512 + kk]) / 512;
      expect(bound[j]).toBeLessThan(typical / 20);
    }
  });

  it('quantizes activations within absmax (2^-16 + 2^-24) per block, with exact sums', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 600 }), fc.integer(), profile, (k, g, seed, p) => {
        const r = rng(seed);
        const x = randomX(k, p, r);
        const B = dotBlocking(k, g);
        const idx = new Int32Array(B.kp).fill(-1);
        for (let c = 0; c < k; c++) idx[Math.floor(c / B.gs) * B.gp + (c % B.gs)] = c;
        const xq = new Int16Array(B.kp);
        const sx = new Float32Array(B.nb);
        const sums = new Int32Array(B.nb);
        quantizeRow(x, 0, idx, B.bs, xq, 0, sx, 0, sums, 0);
        const fail = (what: string) => {
          throw new Error(`k ${k}, group ${g}: ${what}`);
        };
        for (let b = 0; b < B.nb; b++) {
          let amax = 0;
          let s = 0;
          for (let i = b * B.bs; i < (b + 1) * B.bs; i++) {
            if (idx[i] >= 0) amax = Math.max(amax, Math.abs(x[idx[i]]));
            else if (xq[i] !== 0) fail(`pad ${i} holds ${xq[i]}`);
            s += xq[i];
            if (Math.abs(xq[i]) > 32767) fail(`xq[${i}] = ${xq[i]}`); // 32768 would have wrapped to -32768
          }
          if (sums[b] !== s) fail(`block ${b} sum ${sums[b]}, want ${s}`);
          for (let i = b * B.bs; i < (b + 1) * B.bs; i++)
            if (idx[i] >= 0 && !(Math.abs(xq[i] * sx[b] - x[idx[i]]) <= amax * (2 ** -16 + 2 ** -24)))
              fail(`x[${idx[i]}] = ${x[idx[i]]} quantized to ${xq[i]} * ${sx[b]}`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('blocks: a multiple of 32, at most 256, dividing the padded group, little padding', () => {
    for (const [k, g] of [
      [4096, 4096],
      [11008, 11008],
      [896, 896],
      [4864, 4864],
      [176, 32],
      [1072, 1072],
      [5, 128],
    ]) {
      const B = dotBlocking(k, g);
      expect(B.bs % 32).toBe(0);
      expect(B.bs).toBeLessThanOrEqual(256);
      expect(B.gp % B.bs).toBe(0);
      expect(B.gp).toBeGreaterThanOrEqual(B.gs);
      if (B.gs >= 256) expect(B.gp / B.gs).toBeLessThan(1.1);
    }
  });

  it('exact mode (option or GLASSBOX_EXACT=1) keeps the f32-activation kernels; other values are refused', () => {
    const be = trackedBackend({ threads: 1, exact: true });
    const r = rng(3);
    const w = randomWeight('int8', 8, 64, 64, 'normal', 'random', false, r) as Int8Weight;
    const x = randomX(64, 'normal', r);
    const ye = be.linear(be.uploadLinear(w), x, 1) as Float32Array;
    const yd = b1.linear(b1.uploadLinear(w), x, 1) as Float32Array;
    expect(firstDifference(yd, linearDotRef(w, x, 1))).toBe(-1);
    expect(firstDifference(ye, yd)).not.toBe(-1); // different arithmetic
    expect([be.exact, b1.exact]).toEqual([true, false]);
    expect(exactFromEnv({})).toBe(false);
    expect(exactFromEnv({ GLASSBOX_EXACT: '1' })).toBe(true);
    expect(exactFromEnv({ GLASSBOX_EXACT: '0' })).toBe(false);
    expect(() => exactFromEnv({ GLASSBOX_EXACT: 'yes' })).toThrow(/GLASSBOX_EXACT=yes/);
    expect(() => exactFromEnv({ GLASSBOX_EXACT: 'yes' })).toThrow(WasmKernelError);
  });

  it('several memories and token chunks give the same bits', () => {
    // One 200x1000 int8 weight per memory, and room for only a few of the 40 tokens at a time.
    const small = trackedBackend({ threads: 2, minThreadedWork: 0, exact: false, maxMemoryBytes: 320 * 1024 });
    const r = rng(9);
    for (const format of ['int8', 'int4'] as const) {
      const ws = [0, 1, 2].map(() => randomWeight(format, 200, 1000, 128, 'normal', 'random', true, r) as IntWeight);
      const hs = ws.map((w) => small.uploadLinear(w));
      const x = randomX(40 * 1000, 'normal', r);
      ws.forEach((w, i) => expect(firstDifference(small.linear(hs[i], x, 40) as Float32Array, linearDotRef(w, x, 40))).toBe(-1));
    }
    expect(small.memories).toBeGreaterThan(1);
  });
});
