/**
 * The one norm / cosine / unit (analysis/vector-math.ts) replaced three normalizers and two cosines; these pin the
 * conventions the old ones had, bit for bit, against plain re-statements of the old formulas.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ablationDirection } from '../analysis/interventions.ts';
import { cosine, norm, unit } from '../analysis/vector-math.ts';

const vec = fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 16 });
const f32 = (a: number[]) => Float32Array.from(a);

describe('vector math', () => {
  it('ablationDirection is d / (|d| + 1e-8) in f32, exactly as Arditi hook_utils normalizes', () => {
    fc.assert(
      fc.property(vec, (a) => {
        const r = f32(a);
        let s = 0;
        for (const x of r) s += x * x;
        const n = Math.sqrt(s) + 1e-8;
        expect(ablationDirection(r)).toEqual(Float32Array.from(r, (x) => x / n));
      }),
      { numRuns: 200 },
    );
  });

  it('unit is r / |r| in f64 and refuses a zero or non-finite norm, naming the vector', () => {
    fc.assert(
      fc.property(vec, (a) => {
        const n = norm(a);
        fc.pre(n > 0);
        expect(unit(a)).toEqual(Float64Array.from(a, (x) => x / n));
      }),
      { numRuns: 200 },
    );
    expect(() => unit([0, 0], { name: 'AIRD: direction' })).toThrow('AIRD: direction has zero or non-finite norm');
    expect(() => unit([Infinity, 1])).toThrow(/non-finite/);
  });

  it('cosine is a·b / sqrt(|a|²|b|²), null when either vector is zero', () => {
    fc.assert(
      fc.property(vec, vec, (a, b) => {
        const m = Math.min(a.length, b.length);
        const x = a.slice(0, m);
        const y = b.slice(0, m);
        let ab = 0,
          aa = 0,
          bb = 0;
        for (let i = 0; i < m; i++) {
          ab += x[i] * y[i];
          aa += x[i] * x[i];
          bb += y[i] * y[i];
        }
        expect(cosine(x, y)).toBe(aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : null);
      }),
      { numRuns: 200 },
    );
    expect(cosine([0, 0], [1, 0])).toBeNull();
    expect(cosine([2, 0], [3, 0])).toBe(1);
  });
});
