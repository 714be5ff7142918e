/**
 * The decode activation writer (pack-dot.ts writeDotDecodeX) takes a direct path when the gather is the identity
 * (no perm, pads only at the end); it must equal the shared definition (dot-quant.ts quantizeRow) bit for bit:
 * values, block scales and block sums, for 16- and 8-bit activations, zeros, NaN and infinities.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotBlocking, dotGatherIndex, quantizeRow, type ActivationBits } from '../kernels/dot-quant.ts';
import { identityLength, writeDotDecodeX } from '../kernels/wasm/pack-dot.ts';
import { rng } from './helpers/wasm-weights.ts';

describe('writeDotDecodeX', () => {
  it('equals quantizeRow bit for bit (direct and gathered paths)', () => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 3e38, 1e-40];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }),
        fc.constantFrom(32, 64, 100, 128, 896, 100000),
        fc.constantFrom<ActivationBits>(16, 8),
        fc.boolean(),
        fc.constantFrom('normal', 'zeros', 'special', 'halves'),
        fc.integer(),
        (k, groupSize, bits, permute, kind, seed) => {
          const r = rng(seed);
          const perm = permute ? Int32Array.from({ length: k }, (_, i) => i).sort(() => r() - 0.5) : null;
          const x = Float32Array.from({ length: k }, () => (kind === 'zeros' ? 0 : (r() * 2 - 1) * 10));
          // halves: amax = 32767 makes x * 32767 / amax = x, so x = n + 0.5 (and its neighbours) are exact ties of the
          // rounding (the multiply-by-reciprocal path must fall back to the quotient there).
          if (kind === 'halves') {
            for (let i = 0; i < k; i++) x[i] = Math.floor(r() * 200) - 100 + 0.5 + [0, 2 ** -16, -(2 ** -16)][Math.floor(r() * 3)];
            x[Math.floor(r() * k)] = r() < 0.5 ? 32767 : -32767;
          }
          if (kind === 'special') for (let i = 0; i < 3; i++) x[Math.floor(r() * k)] = special[Math.floor(r() * special.length)];
          const B = dotBlocking(k, groupSize, bits);
          const idx = dotGatherIndex(k, groupSize, perm, bits);
          const mk = () => ({
            xq: bits === 16 ? new Int16Array(B.kp).fill(7) : new Int8Array(B.kp).fill(7),
            sx: new Float32Array(B.nb).fill(7),
            sums: new Int32Array(B.nb).fill(7),
          });
          const a = mk();
          const b = mk();
          quantizeRow(x, 0, idx, B.bs, a.xq, 0, a.sx, 0, a.sums, 0, bits);
          writeDotDecodeX(x, idx, B, b.xq, b.sx, b.sums, bits);
          expect(Array.from(b.xq)).toEqual(Array.from(a.xq));
          expect(Array.from(b.sx).every((v, i) => Object.is(v, a.sx[i]))).toBe(true);
          expect(Array.from(b.sums)).toEqual(Array.from(a.sums));
          if (!perm && B.gp === B.gs) expect(identityLength(idx)).toBe(k); // the direct path was taken
        },
      ),
      { numRuns: 400 },
    );
  });
});
