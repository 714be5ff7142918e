import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dequantize, checkWeight } from '../kernels/formats.ts';
import { quantizeInt4Group, quantizeInt8PerChannel } from '../analysis/compress/rtn.ts';
import { dequantizeMixed, quantizeLlmInt8 } from '../analysis/compress/llm-int8.ts';
import { CompressionError } from '../analysis/compress/errors.ts';

const matrix = fc.record({ n: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 70 }) }).chain(({ n, k }) =>
  fc.record({
    n: fc.constant(n),
    k: fc.constant(k),
    w: fc.float32Array({ minLength: n * k, maxLength: n * k, noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }),
  }),
);

describe('int8 per-channel RTN', () => {
  it('rounds every weight to within half a step of its row scale absmax/127', () => {
    fc.assert(
      fc.property(matrix, ({ n, k, w }) => {
        const q = quantizeInt8PerChannel(w, n, k);
        checkWeight(q);
        const d = dequantize(q);
        for (let r = 0; r < n; r++) {
          let m = 0;
          for (let c = 0; c < k; c++) m = Math.max(m, Math.abs(w[r * k + c]));
          if (m > 0) expect(q.scales[r]).toBeCloseTo(m / 127, 6);
          // f32 products add ~1e-7 relative on top of the half-step rounding bound.
          for (let c = 0; c < k; c++)
            expect(Math.abs(d[r * k + c] - w[r * k + c])).toBeLessThanOrEqual(q.scales[r] * 0.5 + 1e-6 * m + 1e-30);
        }
      }),
      { numRuns: 100 },
    );
  });
  it('names the matrix on a size mismatch', () => {
    expect(() => quantizeInt8PerChannel(new Float32Array(5), 2, 3, 'blocks.0.o')).toThrow(CompressionError);
    expect(() => quantizeInt8PerChannel(new Float32Array(5), 2, 3, 'blocks.0.o')).toThrow(/blocks\.0\.o/);
  });
});

describe('int4 group-wise asymmetric RTN', () => {
  for (const g of [32, 64, 128, 7])
    it(`group ${g}: every weight within half a step of its group's grid, zero exactly representable`, () => {
      fc.assert(
        fc.property(matrix, ({ n, k, w }) => {
          const q = quantizeInt4Group(w, n, k, g);
          checkWeight(q);
          const d = dequantize(q);
          const ng = Math.ceil(k / g);
          for (let r = 0; r < n; r++)
            for (let c = 0; c < k; c++) {
              const s = q.scales[r * ng + Math.floor(c / g)];
              expect(Math.abs(d[r * k + c] - w[r * k + c])).toBeLessThanOrEqual(s * 0.5 * (1 + 1e-5) + 1e-30);
              if (w[r * k + c] === 0) expect(d[r * k + c]).toBe(0);
            }
        }),
        { numRuns: 60 },
      );
    });
});

describe('LLM.int8() mixed decomposition', () => {
  it('keeps outlier columns exact in f32 and quantizes the rest per row', () => {
    fc.assert(
      fc.property(matrix, fc.integer({ min: 0, max: 1000 }), ({ n, k, w }, seed) => {
        const amax = Float32Array.from({ length: k }, (_, j) => (j * 7919 + seed) % 13);
        const m = quantizeLlmInt8(w, n, k, amax, 6);
        const cols = [...m.outlierCols];
        expect(cols).toEqual([...Array(k).keys()].filter((j) => amax[j] > 6));
        for (let r = 0; r < n; r++) cols.forEach((j, i) => expect(m.outlier.w[r * cols.length + i]).toBe(w[r * k + j]));
        const main = dequantize(m.main);
        for (let r = 0; r < n; r++) for (const j of cols) expect(main[r * k + j]).toBe(0);
        const d = dequantizeMixed(m, dequantize);
        for (let r = 0; r < n; r++)
          for (let c = 0; c < k; c++) expect(Math.abs(d[r * k + c] - w[r * k + c])).toBeLessThanOrEqual(m.main.scales[r] * 0.5 + 1e-4);
      }),
      { numRuns: 60 },
    );
  });
});
