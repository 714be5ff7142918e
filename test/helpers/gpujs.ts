/** Shared pieces of the gpu.js kernel tests: backends to run, f32 unit roundoff, bounded comparison. */
import { expect } from 'vitest';

/** Unit roundoff of f32 (round-to-nearest): every f32 operation is exact to a relative 2^-24. */
export const U = 2 ** -24;

/** The gpu.js modes that run on a machine without a GPU (webgpu has its own, skipping, test file). */
export const CPU_MODES = ['cpu', 'webasm'] as const;

/**
 * Asserts |actual[i] - expected[i]| <= bound(i) for all i, reporting the worst offender. Bounds are
 * error bounds derived per op in the tests, never a blanket epsilon.
 */
export function expectWithin(actual: Float32Array, expected: ArrayLike<number>, bound: (i: number) => number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const b = bound(i);
    if (!(err <= b) && (worst < 0 || err / b > worstRatio || Number.isNaN(err))) {
      worst = i;
      worstRatio = err / b;
    }
  }
  if (worst >= 0)
    expect.fail(
      `${what}: [${worst}] = ${actual[worst]}, expected ${expected[worst]} (bound ${bound(worst)}, ${worstRatio.toFixed(1)}x over)`,
    );
}

/** Deterministic pseudo-random floats in [-1, 1) (fast-check supplies the seed). */
export function randoms(seed: number, n: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}
