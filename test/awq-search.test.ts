/**
 * awqSearchScales' loss against its definition, one calibration token at a time (the loop before tokens went four
 * at a time): the same losses, alpha and scales, bit for bit, for any number of tokens (tails of 0–3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awqScaledWeight, awqSearchScales, scalesFor } from '../analysis/compress/awq.ts';
import { quantizeInt4Group } from '../analysis/compress/rtn.ts';
import { dequantize } from '../models/weight-formats.ts';

function searchDef(
  ws: { w: Float32Array; n: number }[],
  k: number,
  x: Float32Array,
  t: number,
  meanAbs: Float32Array,
  g: number,
  nGrid: number,
) {
  let best: { alpha: number; loss: number; scales: Float32Array } | null = null;
  let rtnLoss = NaN;
  for (let gi = 0; gi < nGrid; gi++) {
    const alpha = gi / nGrid;
    const s = scalesFor(meanAbs, alpha);
    let loss = 0;
    let count = 0;
    for (const m of ws) {
      const q = dequantize(quantizeInt4Group(awqScaledWeight(m.w, m.n, k, s), m.n, k, g, 'w'));
      for (let r = 0; r < m.n; r++) {
        const dw = new Float64Array(k);
        for (let j = 0; j < k; j++) dw[j] = q[r * k + j] / s[j] - m.w[r * k + j];
        for (let tt = 0; tt < t; tt++) {
          let e = 0;
          for (let j = 0; j < k; j++) e += dw[j] * x[tt * k + j];
          loss += e * e;
        }
      }
      count += m.n * t;
    }
    loss /= Math.max(1, count);
    if (gi === 0) rtnLoss = loss;
    if (!best || loss < best.loss) best = { scales: s, alpha, loss };
  }
  return { ...best!, rtnLoss };
}

describe('awqSearchScales', () => {
  it('equals the one-token-at-a-time search bit for bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 11 }), fc.integer(), (nMat, t, seed) => {
        let s = seed >>> 0;
        const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        const k = 16;
        const ws = Array.from({ length: nMat }, (_, i) => ({
          n: 2 + i,
          w: Float32Array.from({ length: (2 + i) * k }, () => rnd() * 10 ** Math.floor(rnd() * 2)),
        }));
        const x = Float32Array.from({ length: t * k }, () => rnd() * 10 ** Math.floor(rnd() * 3));
        const meanAbs = Float32Array.from({ length: k }, () => Math.abs(rnd()) + 0.01);
        const got = awqSearchScales(ws, k, x, t, meanAbs, 8, 6, 'w');
        const want = searchDef(ws, k, x, t, meanAbs, 8, 6);
        expect(Object.is(got.loss, want.loss)).toBe(true);
        expect(Object.is(got.rtnLoss, want.rtnLoss)).toBe(true);
        expect(got.alpha).toBe(want.alpha);
        expect([...got.scales]).toEqual([...want.scales]);
      }),
      { numRuns: 200 },
    );
  });
});
