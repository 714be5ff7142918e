/**
 * bf16 weights at run time (wasm-simd bf16_mv / bf16_mm): half of f32's bytes, results bit-identical to the same
 * weights widened to f32 at load (the widening is exact and the kernels run f32's operations in f32's order),
 * for decode and prefill, any K, perms, biases and thread counts; the layout is 2 bytes per weight.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bf16Narrow, bf16Widen, dequantize, weightBytes, widenBf16Weight } from '../kernels/formats.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import type { Bf16Weight } from '../kernels/types.ts';
import { randomWeight, randomX, rng, trackedBackend, type Profile } from './helpers/wasm-weights.ts';

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('bf16 weights', () => {
  const backends = [
    trackedBackend({ threads: 1 }),
    trackedBackend({ threads: 2, minThreadedWork: 0 }),
    trackedBackend({ threads: 3, minThreadedWork: 0, exact: false }),
  ];

  it('give the same bits as their f32 widening (decode, prefill, perms, biases, 1-3 threads)', () => {
    fc.assert(
      fc.property(
        fc.record({
          k: fc.oneof(fc.constantFrom(1, 15, 16, 17, 33, 64, 300), fc.integer({ min: 1, max: 400 })),
          n: fc.integer({ min: 1, max: 40 }),
          t: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.constant(17)),
          profile: fc.constantFrom<Profile>('normal', 'sparse', 'large', 'tiny'),
          perm: fc.boolean(),
          bias: fc.boolean(),
          seed: fc.integer(),
        }),
        (c) => {
          const r = rng(c.seed);
          const w = randomWeight('bf16', c.n, c.k, c.k, c.profile, 'random', c.perm, r) as Bf16Weight;
          const x = randomX(c.t * c.k, c.profile, r);
          const bias = c.bias ? randomX(c.n, 'normal', r) : null;
          const wide = widenBf16Weight(w);
          for (const b of backends) {
            const y16 = b.linear(b.uploadLinear(w), x, c.t, bias) as Float32Array;
            const y32 = b.linear(b.uploadLinear(wide), x, c.t, bias) as Float32Array;
            if (!same(y16, y32)) throw new Error(`threads ${b.threads}: bf16 and widened f32 differ`);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('store 2 bytes per weight; widening and narrowing are exact / round to nearest even', () => {
    const w: Bf16Weight = { format: 'bf16', n: 2, k: 3, w: Uint16Array.from([0x3f80, 0xbf80, 0x4000, 0x0000, 0x8000, 0x7f80]) };
    expect(weightBytes(w)).toBe(12);
    expect(Array.from(dequantize(w))).toEqual([1, -1, 2, 0, -0, Infinity]);
    expect(trackedBackend({ threads: 1 }).uploadLinear(w).bytes).toBe(2 * 16 * 2); // rows padded to 16
    // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even (1); 1 + 3 * 2^-8 rounds up.
    expect(Array.from(bf16Narrow(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN])))).toEqual([0x3f80, 0x3f82, 0x7fc0]);
    const v = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 20) - 10));
    expect(same(bf16Widen(bf16Narrow(bf16Widen(bf16Narrow(v)))), bf16Widen(bf16Narrow(v)))).toBe(true);
  });

  it('the reference and gpu.js-facing helpers treat bf16 as its widening', () => {
    const r = rng(4);
    const w = randomWeight('bf16', 5, 37, 37, 'normal', 'random', true, r) as Bf16Weight;
    const x = randomX(2 * 37, 'normal', r);
    const ref = createReferenceBackend();
    expect(
      same(ref.linear(ref.uploadLinear(w), x, 2) as Float32Array, ref.linear(ref.uploadLinear(widenBf16Weight(w)), x, 2) as Float32Array),
    ).toBe(true);
  });
});
