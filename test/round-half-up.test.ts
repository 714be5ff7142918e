/** roundHalfUp (kernels/dot-quant.ts) is Math.round exactly: the integer-dot activation quantizer relies on it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundHalfUp } from '../kernels/dot-quant.ts';

const same = (v: number) => Object.is(roundHalfUp(v) + 0, Math.round(v) + 0); // ±0 alike: both store as 0

describe('roundHalfUp', () => {
  it('equals Math.round on the quantizer range, ties and their neighbours included', () => {
    fc.assert(fc.property(fc.double({ min: -40000, max: 40000, noNaN: true }), same), { numRuns: 20000 });
    const ties = fc.integer({ min: -40000, max: 40000 }).map((i) => i + 0.5);
    fc.assert(
      fc.property(ties, fc.integer({ min: -3, max: 3 }), (v, ulps) => {
        let w = v;
        for (let i = 0; i < Math.abs(ulps); i++) w = ulps > 0 ? nextUp(w) : nextDown(w);
        return same(w);
      }),
      { numRuns: 20000 },
    );
  });

  it('gets the case floor(v + 0.5) alone gets wrong: v = 0.5 - 2^-54', () => {
    const v = 0.5 - 2 ** -54;
    expect(Math.floor(v + 0.5)).toBe(1); // the double sum rounds up
    expect(roundHalfUp(v)).toBe(0);
    expect(same(-v)).toBe(true);
    for (const x of [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 32766.5, -32766.5, 32767, -32767, 1e-300, -1e-300]) expect(same(x)).toBe(true);
  });
});

function nextUp(x: number): number {
  const b = new Float64Array([x]);
  const u = new BigInt64Array(b.buffer);
  if (x === 0) return Number.MIN_VALUE;
  u[0] += x > 0 ? 1n : -1n;
  return b[0];
}
function nextDown(x: number): number {
  return -nextUp(-x);
}
