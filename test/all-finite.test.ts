/** The branch-free finite check every hook point runs (models/hook-runner.ts allFinite) against its definition. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NonFiniteError } from '../engine/errors.ts';
import { allFinite, assertFinite } from '../models/hook-runner.ts';

const finite = fc.float({ noNaN: true, noDefaultInfinity: true });
const anyFloat = fc.oneof(finite, fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4028234663852886e38, -3.4028234663852886e38));

describe('allFinite', () => {
  it('is true exactly when every element is finite (any length, any place of the bad value)', () => {
    fc.assert(
      fc.property(fc.array(anyFloat, { maxLength: 23 }), (xs) => {
        expect(allFinite(Float32Array.from(xs))).toBe(xs.every(Number.isFinite));
      }),
      { numRuns: 2000 },
    );
  });

  it('catches one bad value at every index of every tail length, among the largest finite values', () => {
    for (let n = 1; n <= 9; n++)
      for (let i = 0; i < n; i++)
        for (const bad of [NaN, Infinity, -Infinity]) {
          const a = new Float32Array(n).fill(3.4028234663852886e38);
          expect(allFinite(a)).toBe(true);
          a[i] = bad;
          expect(allFinite(a)).toBe(false);
          expect(() => assertFinite(a, 'site')).toThrow(new NonFiniteError(`non-finite value ${bad} in site at flat index ${i}`));
        }
  });
});
