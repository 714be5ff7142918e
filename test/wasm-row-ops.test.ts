/**
 * The wasm-simd backend's RMSNorm and residual add (activation.wat `rms_norm`, `add_f32`, kernels/wasm/row-ops.ts)
 * against the references they replace, bit for bit: rmsNormRef (each row's Σx² in column order in double, then
 * (x · inv) · g rounded to f32) and addRef. Run on two threads with chunks small enough that both threads take rows,
 * and on one; odd row counts, widths that are not a multiple of 4, -0 weights, addOne, values across the float range,
 * a reused destination, and calls below the size that leaves JavaScript.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addRef, rmsNormRef } from '../kernels/reference/ops.ts';
import { MIN_WASM_ROW_ELEMENTS } from '../kernels/wasm/row-ops.ts';
import { rng, trackedBackend } from './helpers/wasm-weights.ts';

const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** n floats: mostly unit-scale, some scaled by `m`, a few zeros, -0s, subnormals and values near the f32 limit. */
function values(n: number, m: number, r: () => number): Float32Array {
  const special = [0, -0, 1e-40, -3e-39, 1e30, -2e30];
  return Float32Array.from({ length: n }, () => {
    const u = r();
    if (u < 0.03) return special[Math.floor(r() * special.length)];
    return (r() * 2 - 1) * (u < 0.3 ? m : 1);
  });
}

describe.each([
  ['2 threads', { threads: 2, minThreadedWork: 1 }],
  ['1 thread', { threads: 1 }],
] as const)('wasm-simd row ops on %s', (_name, opts) => {
  const backend = trackedBackend(opts);

  it('RMSNorm equals rmsNormRef bit for bit', () => {
    fc.assert(
      fc.property(
        fc.record({
          t: fc.integer({ min: 1, max: 41 }),
          d: fc.constantFrom(32, 33, 35, 64, 67, 96, 130, 896),
          m: fc.constantFrom(1, 1e-3, 1e6),
          eps: fc.constantFrom(1e-6, 1e-5, 0),
          addOne: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ t, d, m, eps, addOne, seed }) => {
          const r = rng(seed);
          const x = values(t * d, m, r);
          const w = values(d, 1, r);
          const want = rmsNormRef(x, w, t, d, eps, addOne);
          const out = new Float32Array(t * d).fill(5);
          const got = backend.rmsNorm(x, w, t, d, eps, addOne, out);
          expect(got).toBe(out);
          expect(same(got, want)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the residual add equals addRef bit for bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9000 }), fc.constantFrom(1, 1e-38, 1e38), fc.integer(), (n, m, seed) => {
        const r = rng(seed);
        const a = values(n, m, r);
        const b = values(n, m, r);
        const out = new Float32Array(n).fill(5);
        expect(same(backend.add(a, b, out), addRef(a, b))).toBe(true);
      }),
      { numRuns: 120 },
    );
  });

  it(`runs in wasm from ${MIN_WASM_ROW_ELEMENTS} elements, in JavaScript below (so the checks above test the kernels)`, () => {
    // A fresh backend has no wasm memory until a call needs one: the first wasm-sized call makes it.
    const fresh = trackedBackend(opts);
    const w = values(32, 1, rng(2));
    fresh.rmsNorm(values(31 * 32, 1, rng(3)), w, 31, 32, 1e-6);
    fresh.add(values(1000, 1, rng(4)), values(1000, 1, rng(5)));
    expect(fresh.memories).toBe(0);
    const x = values(32 * 32, 1, rng(6));
    const copy = x.slice();
    expect(same(fresh.rmsNorm(x, w, 32, 32, 1e-6), rmsNormRef(x, w, 32, 32, 1e-6))).toBe(true);
    expect(same(x, copy), 'the input is left as it was').toBe(true);
    expect(fresh.memories).toBe(1);
  });
});

describe('wasm-simd row ops without room in wasm memory', () => {
  it('run in JavaScript, with the same bits, where no memory can hold the call', () => {
    const small = trackedBackend({ threads: 1, maxMemoryBytes: 256 * 1024 });
    const t = 64;
    const d = 896; // 2 x 229 KiB: more than one 256 KiB memory holds
    const x = values(t * d, 1, rng(7));
    const w = values(d, 1, rng(8));
    expect(same(small.rmsNorm(x, w, t, d, 1e-6), rmsNormRef(x, w, t, d, 1e-6))).toBe(true);
    expect(same(small.add(x, x), addRef(x, x))).toBe(true);
    expect(small.memories).toBe(0);
  });
});
