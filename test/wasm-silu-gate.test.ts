/**
 * The wasm-simd backend's siluGate: above MIN_POOLED_SILU elements every thread runs a chunk (activation.wat, in the
 * workers and the caller); the result must equal siluGateRef bit for bit, whatever the split, for normal, large and
 * non-finite inputs, and the backend must keep working for matmuls afterwards (the copies go above the weights).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { siluGateRef } from '../kernels/reference/ops.ts';
import { rng, trackedBackend } from './helpers/wasm-weights.ts';

describe('wasm-simd siluGate', () => {
  const b1 = trackedBackend({ threads: 1, exact: false });
  const b3 = trackedBackend({ threads: 3, exact: false });
  // A weight makes the first memory exist (the pooled path uses the room above it).
  const w = {
    format: 'int8' as const,
    n: 16,
    k: 32,
    groupSize: 32,
    q: new Int8Array(16 * 32).fill(3),
    scales: new Float32Array(16).fill(0.5),
  };
  const h1 = b1.uploadLinear(w);
  const h3 = b3.uploadLinear(w);
  const special = [NaN, Infinity, -Infinity, 0, -0, 3e38, -3e38, 1e-40, 800, -800];

  it('equals siluGateRef bit for bit on 1 and 3 threads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30000 }), fc.constantFrom(1, 20, 1e30), fc.integer(), async (n, m, seed) => {
        const r = rng(seed);
        const gate = Float32Array.from({ length: n }, () => (r() * 2 - 1) * m);
        const up = Float32Array.from({ length: n }, () => (r() * 2 - 1) * m);
        for (let i = 0; i < 4; i++) gate[Math.floor(r() * n)] = special[Math.floor(r() * special.length)];
        const want = siluGateRef(gate, up);
        for (const b of [b1, b3]) {
          const got = await b.siluGate(gate, up);
          expect(got.length).toBe(n);
          expect(got.every((v, i) => Object.is(v, want[i]))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
    const x = new Float32Array(32).fill(1);
    expect(Array.from(await b3.linear(h3, x, 1))).toEqual(Array.from(await b1.linear(h1, x, 1)));
  });
});
