/**
 * RTN quantizers: quantize -> pack -> unpack -> dequantize stays within half a quantization step of the input,
 * and the packed layouts decode exactly as kernels/types.ts describes (checked by a scalar decoder here).
 *
 * Error bound per element: |w - deq| <= s/2 + slack. Slack: s is rounded to f32 (relative 2^-24) and enters
 * w/s with a factor of at most 15 (int4 asym: |q - z| <= 15) or 127 (int8), and deq = (q - z) * s is rounded
 * once more to f32 (relative 2^-24 of |deq|). So slack = s * 127 * 2^-23 + |w| * 2^-22 covers every format.
 * Subnormal groups (absmax below ~2^-119) lose that relative precision: s and deq are then rounded to the
 * subnormal spacing 2^-149, an absolute error of at most 128 * 2^-149 after scaling by |q - z| <= 128.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NonFiniteError } from '../engine/errors.ts';
import { checkWeight, dequantize, nGroups } from '../kernels/formats.ts';
import {
  fakeQuantizeInt4,
  fakeQuantizeInt8,
  fakeQuantizeValue,
  packInt4,
  quantizeInt4,
  quantizeInt8,
  unpackInt4,
} from '../kernels/quantize.ts';

const dims = fc.record({ n: fc.integer({ min: 1, max: 6 }), k: fc.integer({ min: 1, max: 70 }), g: fc.integer({ min: 1, max: 80 }) });

/** Weights with zeros, ties, tiny and large magnitudes mixed in. */
const weightsFor = (len: number) =>
  fc
    .array(
      fc.oneof(
        fc.float({ min: -4, max: 4, noNaN: true }),
        fc.constantFrom(0, -0, 1, -1, 0.5, 1e-30, -3e-8),
        fc.float({ min: -1e6, max: 1e6, noNaN: true }),
      ),
      { minLength: len, maxLength: len },
    )
    .map((a) => Float32Array.from(a));

const withWeights = dims.chain((d) => weightsFor(d.n * d.k).map((w) => ({ ...d, w })));

function expectWithinHalfStep(w: Float32Array, deq: Float32Array, scaleOf: (i: number) => number) {
  for (let i = 0; i < w.length; i++) {
    const s = scaleOf(i);
    const bound = s / 2 + s * 127 * 2 ** -23 + Math.abs(w[i]) * 2 ** -22 + 128 * 2 ** -149;
    if (!(Math.abs(w[i] - deq[i]) <= bound)) throw new Error(`element ${i}: w ${w[i]} deq ${deq[i]} scale ${s}`);
  }
}

describe('quantizeInt8', () => {
  it('stays within half a step, q in [-127, 127], fake-quantize agrees with dequantize', () => {
    fc.assert(
      fc.property(withWeights, ({ n, k, g, w }) => {
        const q = quantizeInt8(w, n, k, g);
        checkWeight(q);
        const deq = dequantize(q);
        const ng = nGroups(k, g);
        expectWithinHalfStep(w, deq, (i) => q.scales[Math.floor(i / k) * ng + Math.floor((i % k) / g)]);
        expect(q.q.every((v) => v >= -127 && v <= 127)).toBe(true);
        expect(Array.from(fakeQuantizeInt8(w, n, k, g))).toEqual(Array.from(deq));
      }),
      { numRuns: 150 },
    );
  });

  it('puts the group absmax exactly on +-127 and maps an all-zero row to scale 0 without NaN', () => {
    const w = Float32Array.from([0, 0, 0, 0, -2, 1, 0.5, 2, 3, 0.1]);
    const q = quantizeInt8(w, 2, 5, 2); // groups [0,1] [2,3] [4] per row: the last is partial
    expect(q.scales.length).toBe(6);
    expect(Array.from(q.scales.slice(0, 3))).toEqual([0, 0, Math.fround(2 / 127)]);
    // Row 1 groups: [1, 0.5] (0.5 * 127 = 63.5 rounds half away to 64), [2, 3], [0.1].
    expect(Array.from(q.q)).toEqual([0, 0, 0, 0, -127, 127, 64, 85, 127, 127]);
    expect(dequantize(q).every(Number.isFinite)).toBe(true);
  });

  it('rounds ties half away from zero on both signs (q = round(w / s) with Math.round mirrored)', () => {
    // Group absmax 127 gives s = 1 exactly, so w / s is w: every half-integer is a tie.
    const ties = [-126.5, -63.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 63.5, 126.5];
    const w = Float32Array.from([127, ...ties]);
    const q = quantizeInt8(w, 1, w.length);
    expect(q.scales[0]).toBe(1);
    const want = [127, ...ties.map((t) => Math.sign(t) * Math.round(Math.abs(t)))];
    expect(Array.from(q.q)).toEqual(want);
    expect(want.slice(1)).toEqual([-127, -64, -3, -2, -1, 1, 2, 3, 64, 127]);
  });

  it('refuses non-finite weights with a NonFiniteError naming the weight', () => {
    expect(() => quantizeInt8(Float32Array.from([1, NaN]), 1, 2, 2, 'layers.3.up')).toThrow(NonFiniteError);
    expect(() => quantizeInt8(Float32Array.from([1, Infinity]), 1, 2, 2, 'layers.3.up')).toThrow(
      /layers\.3\.up: non-finite value Infinity at \[0, 1\]/,
    );
  });
});

describe('quantizeInt4', () => {
  for (const sym of [false, true])
    it(`${sym ? 'symmetric' : 'asymmetric'}: pack -> unpack -> dequantize within half a step`, () => {
      fc.assert(
        fc.property(withWeights, ({ n, k, g, w }) => {
          const q = quantizeInt4(w, n, k, g, { sym });
          checkWeight(q);
          expect(q.zeros === null).toBe(sym);
          const codes = unpackInt4(q.packed, n, k);
          expect(Array.from(packInt4(codes, n, k))).toEqual(Array.from(q.packed));
          const ng = nGroups(k, g);
          // Scalar decoder straight from the layout description, independent of dequantize().
          const deq = new Float32Array(n * k);
          for (let r = 0; r < n; r++)
            for (let c = 0; c < k; c++) {
              const byte = q.packed[r * Math.ceil(k / 2) + Math.floor(c / 2)];
              const code = c % 2 === 0 ? byte % 16 : Math.floor(byte / 16);
              const gi = r * ng + Math.floor(c / g);
              deq[r * k + c] = (code - (q.zeros ? q.zeros[gi] : 8)) * q.scales[gi];
            }
          expect(Array.from(dequantize(q))).toEqual(Array.from(deq));
          expect(Array.from(fakeQuantizeInt4(w, n, k, g, { sym }))).toEqual(Array.from(deq));
          expectWithinHalfStep(w, deq, (i) => q.scales[Math.floor(i / k) * ng + Math.floor((i % k) / g)]);
          if (q.zeros) expect(q.zeros.every((z) => z <= 15)).toBe(true);
          if (k % 2 === 1) for (let r = 0; r < n; r++) expect(q.packed[r * Math.ceil(k / 2) + (k >> 1)] >> 4).toBe(0);
        }),
        { numRuns: 120 },
      );
    });

  it('asymmetric grid: min -> code 0, max -> code 15, zero exact; symmetric: +-absmax on codes 1 and 15', () => {
    const w = Float32Array.from([-1, 0, 0.5, 2]);
    const a = quantizeInt4(w, 1, 4, 4, { sym: false });
    expect(a.scales[0]).toBe(Math.fround(3 / 15));
    expect(a.zeros![0]).toBe(5);
    expect(Array.from(unpackInt4(a.packed, 1, 4))).toEqual([0, 5, 7, 15]);
    expect(dequantize(a)[1]).toBe(0);
    const s = quantizeInt4(Float32Array.from([-7, 3.5, 0, 7]), 1, 4, 4, { sym: true });
    expect(s.scales[0]).toBe(1);
    expect(Array.from(unpackInt4(s.packed, 1, 4))).toEqual([1, 12, 8, 15]); // 3.5 rounds half away to 4
  });

  it('all-zero groups give scale 0 and exact zeros; positive-only groups still include 0 in the range', () => {
    const q = quantizeInt4(Float32Array.from([0, 0, 0, 1, 2, 3]), 1, 6, 3, { sym: false });
    expect(q.scales[0]).toBe(0);
    expect(Array.from(dequantize(q).slice(0, 3))).toEqual([0, 0, 0]);
    expect(q.zeros![1]).toBe(0);
    expect(Array.from(dequantize(q).slice(3))).toEqual(
      [1, 2, 3].map((v) => Math.fround(Math.fround(3 / 15) * Math.round(v / Math.fround(3 / 15)))),
    );
  });

  it('packInt4 / unpackInt4 lay out k = 2j low and k = 2j+1 high nibble, reject codes above 15', () => {
    expect(Array.from(packInt4(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([0x21, 0x03, 0x54, 0x06]);
    expect(Array.from(unpackInt4(Uint8Array.from([0x21, 0x03, 0x54, 0x06]), 2, 3))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => packInt4(Uint8Array.from([16]), 1, 1)).toThrow(/code 16/);
  });
});

describe('fakeQuantizeValue', () => {
  it('equals s * (clamp(round(x/s) + z, 0, maxq) - z)', () => {
    expect(fakeQuantizeValue(0.26, 0.1, 3, 15)).toBe(Math.fround(0.1 * 3));
    expect(fakeQuantizeValue(100, 0.1, 3, 15)).toBe(Math.fround(0.1 * 12));
    expect(fakeQuantizeValue(-100, 0.1, 3, 15)).toBe(Math.fround(0.1 * -3));
    expect(fakeQuantizeValue(5, 0, 3, 15)).toBe(0);
  });
});
