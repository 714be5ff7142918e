/**
 * wasm-simd Linear kernels against the plain-TS reference (kernels/reference/ops.ts linearRef:
 * dequantize, f64 accumulation, one rounding to f32).
 *
 * Tolerance. The kernels form each product in f32 (one rounding, |δ| <= u = 2^-24), sum at most kp
 * (padded K) products in f32 (a sum of m terms in any order errs by <= (m - 1) u Σ|terms|, Higham §3.1),
 * apply a group scale to a partial sum (decode: one more rounding) and add the bias (one more). So
 * |y - ref| <= (kp + 4) u Σ_k |x_k W_nk| + u |ref| plus underflow (each product can lose up to 2^-149
 * when it is subnormal). We assert twice that: (kp + 8) 2^-23 Σ|x W| + 2^-23 |ref| + kp 2^-148.
 * A kernel that dropped, duplicated or mis-scaled a single term fails it, since that term's error is
 * ~|x_k W_nk| >> K 2^-23 Σ|x W| for the K used here (checked by the "detects" test below).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dequantize } from '../kernels/formats.ts';
import { linearRef } from '../kernels/reference/ops.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { packedLayout } from '../kernels/wasm/pack.ts';
import { randomWeight, randomX, rng, type Profile, type ZeroMode } from './helpers/wasm-weights.ts';
import { trackedBackend } from './helpers/wasm-weights.ts';

const backend = trackedBackend;

/** Index of the first element outside the bound, or -1. */
function firstViolation(w: LinearWeight, x: Float32Array, t: number, y: Float32Array, ref: Float32Array): number {
  const W = dequantize(w);
  const { n, k } = w;
  const kp = packedLayout(w).kp;
  for (let i = 0; i < t; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += Math.abs(x[i * k + c] * W[j * k + c]);
      const r = ref[i * n + j];
      const bound = (kp + 8) * 2 ** -23 * s + 2 ** -23 * Math.abs(r) + kp * 2 ** -148;
      const v = y[i * n + j];
      if (!(Math.abs(v - r) <= bound) && !(v === r)) return i * n + j;
    }
  return -1;
}

const shapeK = fc.oneof(
  fc.constantFrom(1, 2, 3, 5, 7, 13, 15, 16, 17, 31, 32, 33, 63, 64, 127, 128, 129, 257),
  fc.integer({ min: 1, max: 300 }),
);
const shapeN = fc.oneof(fc.constantFrom(1, 2, 3, 7, 16, 31), fc.integer({ min: 1, max: 40 }));
const tokens = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.constantFrom(16, 33, 64));
const profile = fc.constantFrom<Profile>('normal', 'normal', 'zeros', 'sparse', 'large', 'tiny');
const zeroMode = fc.constantFrom<ZeroMode>('random', 'all0', 'all15', 'alternate', 'symmetric');

const caseArb = fc.record({
  format: fc.constantFrom<LinearWeight['format']>('f32', 'bf16', 'int8', 'int4'),
  k: shapeK,
  n: shapeN,
  t: tokens,
  group: fc.oneof(fc.constant(0), fc.constantFrom(16, 32, 64, 128), fc.integer({ min: 1, max: 300 })),
  wProfile: profile,
  xProfile: profile,
  zeroMode,
  perm: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer(),
});

describe('wasm-simd linear vs reference', () => {
  const b1 = backend({ threads: 1 });
  const b2 = backend({ threads: 2, minThreadedWork: 0 });

  it('matches linearRef within the f32 summation bound for random shapes, formats, groups, perms, biases', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = rng(c.seed);
        const gs = c.group === 0 ? c.k : c.group; // 0 = per-channel
        const w = randomWeight(c.format, c.n, c.k, gs, c.wProfile, c.zeroMode, c.perm, r);
        const x = randomX(c.t * c.k, c.xProfile, r);
        const bias = c.bias ? randomX(c.n, 'normal', r) : null;
        const ref = linearRef(w, x, c.t, bias);
        for (const b of [b1, b2]) {
          const y = b.linear(b.uploadLinear(w), x, c.t, bias) as Float32Array;
          expect(y.length).toBe(c.t * c.n);
          const bad = firstViolation(w, x, c.t, y, ref);
          if (bad >= 0) throw new Error(`threads ${b.threads}: y[${bad}] = ${y[bad]}, ref ${ref[bad]}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('detects a single wrong term (the bound is tight enough to fail)', () => {
    const r = rng(7);
    const w = randomWeight('int8', 5, 200, 32, 'normal', 'random', false, r) as Extract<LinearWeight, { format: 'int8' }>;
    const x = randomX(200, 'normal', r);
    const ref = linearRef(w, x, 1);
    const broken = { ...w, q: w.q.slice() };
    broken.q[3 * 200 + 77] = broken.q[3 * 200 + 77] === 0 ? 1 : 0;
    const y = b1.linear(b1.uploadLinear(broken), x, 1) as Float32Array;
    expect(firstViolation(w, x, 1, y, ref)).toBe(3);
  });

  it('is exact for integer-valued data (no rounding anywhere)', () => {
    // Products and partial sums stay below 2^24, so every f32 operation is exact: equality, not a bound.
    const n = 9,
      k = 77,
      t = 5;
    const r = rng(3);
    const q = Int8Array.from({ length: n * k }, () => Math.floor(r() * 21) - 10);
    const w: LinearWeight = { format: 'int8', n, k, groupSize: 16, q, scales: new Float32Array(n * 5).fill(2) };
    const x = Float32Array.from({ length: t * k }, () => Math.floor(r() * 9) - 4);
    const ref = linearRef(w, x, t);
    for (const tt of [1, t]) {
      const y = b2.linear(b2.uploadLinear(w), x.subarray(0, tt * k), tt) as Float32Array;
      expect(Array.from(y)).toEqual(Array.from(ref.subarray(0, tt * n)));
    }
  });

  it('honours perm: W with perm equals the dequantized (perm-undone) f32 weight', () => {
    const r = rng(11);
    const k = 70,
      n = 6;
    const w = randomWeight('int4', n, k, 32, 'normal', 'random', true, r);
    const x = randomX(3 * k, 'normal', r);
    const dense: LinearWeight = { format: 'f32', n, k, w: dequantize(w) };
    const y = b1.linear(b1.uploadLinear(w), x, 3) as Float32Array;
    const yd = b1.linear(b1.uploadLinear(dense), x, 3) as Float32Array;
    const noPerm = b1.linear(b1.uploadLinear({ ...w, perm: null }), x, 3) as Float32Array;
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - yd[i])).toBeLessThan(1e-4 * (1 + Math.abs(yd[i])));
    expect(Array.from(noPerm)).not.toEqual(Array.from(y));
  });
});

describe('wasm-simd threads', () => {
  it('threaded results equal single-threaded results bit for bit', () => {
    const one = backend({ threads: 1 });
    const many = backend({ threads: 3, minThreadedWork: 0 }); // thread every call, however small
    const r = rng(5);
    for (const format of ['f32', 'int8', 'int4'] as const)
      for (const [n, k] of [
        [301, 333],
        [1000, 130],
        [97, 1024],
        [5, 17],
        [19, 64],
      ])
        for (const t of [1, 6]) {
          const w = randomWeight(format, n, k, format === 'int8' ? k : 64, 'normal', 'random', true, r);
          const x = randomX(t * k, 'normal', r);
          const a = one.linear(one.uploadLinear(w), x, t) as Float32Array;
          const b = many.linear(many.uploadLinear(w), x, t) as Float32Array;
          expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
        }
  });
  it('a prefill token result does not depend on T or on its position in a token quad', () => {
    const b = backend({ threads: 2 });
    const r = rng(13);
    for (const format of ['f32', 'int8', 'int4'] as const) {
      const w = randomWeight(format, 37, 150, 32, 'normal', 'random', false, r);
      const h = b.uploadLinear(w);
      const x = randomX(9 * 150, 'normal', r);
      const all = b.linear(h, x, 9) as Float32Array;
      const head = b.linear(h, x.subarray(0, 2 * 150), 2) as Float32Array;
      const tail = b.linear(h, x.subarray(2 * 150), 7) as Float32Array;
      expect(Buffer.from(all.buffer).equals(Buffer.concat([Buffer.from(head.buffer), Buffer.from(tail.buffer)]))).toBe(true);
    }
  });
});

describe('wasm-simd memories', () => {
  it('spreads weights over several memories when one is full, and chunks tokens that do not fit', () => {
    // 512 KiB memories: each f32 [200, 400] (320 KB) needs a memory of its own; T = 200 tokens of I/O
    // (~480 KB) cannot sit above it, so the call runs in token chunks.
    const b = backend({ threads: 2, maxMemoryBytes: 512 * 1024 });
    const r = rng(9);
    const formats = ['f32', 'int8', 'f32', 'int4', 'f32'] as const;
    const cases = formats.map((f) => {
      const w = randomWeight(f, 200, 400, f === 'int4' ? 64 : 400, 'normal', 'random', f === 'int4', r);
      return { w, h: b.uploadLinear(w) };
    });
    expect(b.memories).toBeGreaterThanOrEqual(3);
    for (const { w, h } of cases)
      for (const t of [1, 5, 200]) {
        const x = randomX(t * 400, 'normal', r);
        const y = b.linear(h, x, t) as Float32Array;
        expect(firstViolation(w, x, t, y, linearRef(w, x, t))).toBe(-1);
      }
  });

  it('handles weights and activations above 2 GiB (unsigned pointers)', () => {
    // Pages below the first offset are never touched, so this costs address space, not RAM.
    const b = backend({ threads: 2, minThreadedWork: 0, firstOffset: 2 ** 31 + 4096 });
    const r = rng(21);
    for (const format of ['f32', 'int8', 'int4'] as const) {
      const w = randomWeight(format, 37, 150, 32, 'normal', 'random', true, r);
      const h = b.uploadLinear(w);
      for (const t of [1, 6]) {
        const x = randomX(t * 150, 'normal', r);
        expect(firstViolation(w, x, t, b.linear(h, x, t) as Float32Array, linearRef(w, x, t))).toBe(-1);
      }
    }
  });

  it('rejects a weight larger than one memory with a typed error naming it', () => {
    const b = backend({ threads: 1, maxMemoryBytes: 128 * 1024 });
    const w: LinearWeight = { format: 'f32', n: 100, k: 400, w: new Float32Array(40000) };
    expect(() => b.uploadLinear(w)).toThrow(WasmKernelError);
    expect(() => b.uploadLinear(w)).toThrow(/f32 \[100, 400\]/);
  });
});

describe('wasm-simd input errors', () => {
  const b = backend({ threads: 1 });
  const w: LinearWeight = { format: 'int8', n: 4, k: 10, groupSize: 5, q: new Int8Array(40), scales: new Float32Array(8) };
  const h = b.uploadLinear(w);

  it('names the weight for inconsistent sizes', () => {
    expect(() => b.uploadLinear({ ...w, scales: new Float32Array(3) })).toThrow(/int8 \[4, 10\].*3 scales/);
    expect(() => b.uploadLinear({ ...w, scales: new Float32Array(3) })).toThrow(WasmKernelError);
    expect(() => b.uploadLinear({ ...w, perm: Int32Array.from({ length: 10 }, (_, i) => (i === 4 ? 10 : i)) })).toThrow(/perm\[4\] = 10/);
  });
  it('rejects wrong x / bias lengths and foreign handles', () => {
    expect(() => b.linear(h, new Float32Array(11), 1)).toThrow(WasmKernelError);
    expect(() => b.linear(h, new Float32Array(20), 2, new Float32Array(3))).toThrow(/bias/);
    const other = backend({ threads: 1 });
    expect(() => other.linear(h, new Float32Array(10), 1)).toThrow(/not uploaded/);
  });
});
