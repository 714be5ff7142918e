/**
 * The wasm backend's fused gated-MLP call (linearGated: the gate|up matmul, then silu(gate)·up in the pool's threads,
 * kernels/wasm/activation.wat) against its definition: siluGateRef on the two halves of the same backend's linear.
 * Bit for bit, for every weight format and kernel path (integer-dot and exact f32-activation), 1-3 threads, decode
 * and prefill, with and without a bias; and the threaded result transpose behind linear itself stays equal to the
 * one-thread result (the integer-dot suite holds it to the reference).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { siluGateRef } from '../kernels/reference/ops.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { randomWeight, randomX, rng, trackedBackend, type Profile } from './helpers/wasm-weights.ts';

const profile = fc.constantFrom<Profile>('normal', 'normal', 'zeros', 'sparse', 'large', 'tiny');
const caseArb = fc.record({
  format: fc.constantFrom<LinearWeight['format']>('f32', 'bf16', 'int8', 'int4'),
  k: fc.oneof(fc.constantFrom(1, 16, 33, 128, 300), fc.integer({ min: 1, max: 400 })),
  half: fc.oneof(fc.constantFrom(1, 4, 8, 17), fc.integer({ min: 1, max: 40 })),
  t: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.constantFrom(16, 33)),
  group: fc.constantFrom(0, 16, 32, 128),
  wProfile: profile,
  xProfile: profile,
  bias: fc.boolean(),
  exact: fc.boolean(),
  seed: fc.integer(),
});

describe('linearGated', () => {
  const backends = [false, true].map((exact) => [
    trackedBackend({ threads: 1, exact }),
    trackedBackend({ threads: 2, minThreadedWork: 0, exact }),
    trackedBackend({ threads: 3, minThreadedWork: 0, exact }),
  ]);

  it('equals siluGateRef on the halves of linear, bit for bit, on 1-3 threads', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = rng(c.seed);
        const n = 2 * c.half;
        const w = randomWeight(c.format, n, c.k, c.group || c.k, c.wProfile, 'random', false, r);
        const x = randomX(c.t * c.k, c.xProfile, r);
        const bias = c.bias ? randomX(n, 'normal', r) : null;
        const [b1, ...more] = backends[c.exact ? 1 : 0];
        const h1 = b1.uploadLinear(w);
        const y = b1.linear(h1, x, c.t, bias);
        const gate = new Float32Array(c.t * c.half);
        const up = new Float32Array(c.t * c.half);
        for (let i = 0; i < c.t; i++) {
          gate.set(y.subarray(i * n, i * n + c.half), i * c.half);
          up.set(y.subarray(i * n + c.half, (i + 1) * n), i * c.half);
        }
        const want = siluGateRef(gate, up);
        expect(b1.linearGated(h1, x, c.t, bias)).toEqual(want);
        for (const b of more) {
          const h = b.uploadLinear(w);
          expect(b.linear(h, x, c.t, bias)).toEqual(y);
          expect(b.linearGated(h, x, c.t, bias)).toEqual(want);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('writes into a given destination of the right length, and refuses an odd N', () => {
    const [b] = backends[0];
    const r = rng(5);
    const w = randomWeight('int8', 6, 40, 40, 'normal', 'random', false, r);
    const h = b.uploadLinear(w);
    const x = randomX(3 * 40, 'normal', r);
    const out = new Float32Array(9).fill(NaN);
    expect(b.linearGated(h, x, 3, null, out)).toBe(out);
    expect(out).toEqual(b.linearGated(h, x, 3, null));
    const odd = b.uploadLinear(randomWeight('f32', 5, 8, 8, 'normal', 'random', false, r));
    expect(() => b.linearGated(odd, randomX(8, 'normal', r), 1)).toThrow(WasmKernelError);
    expect(() => b.linearGated(odd, randomX(8, 'normal', r), 1)).toThrow(/N must be even/);
  });
});
