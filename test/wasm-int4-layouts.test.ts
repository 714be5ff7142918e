/**
 * The two int4 layouts of the wasm-simd backend (kernels/wasm/pack.ts): with zero points (nibbles hold q,
 * run by i4_mv) and symmetric (nibbles hold q ^ 8, run by i4s_mv without zero points).
 *
 * Independent checks: (1) the packed bytes, decoded here from the documented layout, hold the canonical
 * nibbles; (2) symmetric weights give bit-identical results to the same weights with explicit zero points
 * 8 (the other kernel and layout; the two kernels do the same f32 operations, scaled by the exact powers
 * 2^28 vs 2^24); (3) integer-valued data, where every f32 operation is exact, equals linearRef exactly,
 * including the extreme nibbles 0 and 15 and zero points 0 and 15.
 */
import { describe, expect, it } from 'vitest';
import { linearRef } from '../kernels/reference/ops.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { lanePosition, packedLayout, writePacked } from '../kernels/wasm/pack.ts';
import { randomWeight, randomX, rng } from './helpers/wasm-weights.ts';
import { trackedBackend } from './helpers/wasm-weights.ts';

type Int4 = Extract<LinearWeight, { format: 'int4' }>;

const backend = trackedBackend;

const nibble = (w: Int4, r: number, c: number) => {
  const byte = w.packed[r * Math.ceil(w.k / 2) + (c >> 1)];
  return c & 1 ? byte >> 4 : byte & 15;
};
const same = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('int4 packing', () => {
  it('stores q (pads z) with zero points and q ^ 8 (pads 0) when symmetric, in the documented block order', () => {
    const r = rng(31);
    for (const zeroMode of ['random', 'symmetric'] as const) {
      // K = 70, G = 48: a partial last group (22 of 48) and gp = 64, so both nibble halves hold pads.
      const w = randomWeight('int4', 3, 70, 48, 'normal', zeroMode, false, r) as Int4;
      const L = packedLayout(w);
      const buf = new ArrayBuffer(L.weightBytes + L.scaleBytes + L.zeroBytes + 64);
      writePacked(w, L, buf, 0, L.weightBytes, L.weightBytes + L.scaleBytes);
      const bytes = new Uint8Array(buf, 0, L.weightBytes);
      for (let row = 0; row < w.n; row++)
        for (let g = 0; g < L.nG; g++)
          for (let e = 0; e < L.gp; e++) {
            // Element e of a group: block e >> 5, byte e & 15, high nibble when (e & 16).
            const byte = bytes[(row * L.kp + g * L.gp) / 2 + (e >> 5) * 16 + (e & 15)];
            const got = e & 16 ? byte >> 4 : byte & 15;
            const c = g * w.groupSize + e;
            const inGroup = e < Math.min(w.groupSize, w.k - g * w.groupSize);
            const z = w.zeros ? w.zeros[row * L.nG + g] : null;
            const want = inGroup ? (z === null ? nibble(w, row, c) ^ 8 : nibble(w, row, c)) : (z ?? 0);
            expect(got, `row ${row} group ${g} element ${e}`).toBe(want);
          }
    }
    // lanePosition is the same transpose for every int layout (the gathered x does not change).
    expect(lanePosition('int4', 17)).toBe(lanePosition('int8', 17));
  });
});

describe('symmetric int4 kernels', () => {
  const one = backend({ threads: 1 });
  const three = backend({ threads: 3, minThreadedWork: 0 });

  it('equal the zero-point kernels with z = 8 bit for bit (odd K, partial groups, perm, decode and prefill, threads)', () => {
    const r = rng(41);
    const shapes: [number, number, number][] = [
      [5, 1, 32],
      [7, 3, 32],
      [13, 33, 16],
      [9, 257, 64],
      [31, 300, 128],
      [6, 70, 48],
      [4, 129, 129],
      [45, 96, 32],
    ];
    for (const [n, k, g] of shapes)
      for (const perm of [false, true]) {
        const sym = randomWeight('int4', n, k, g, 'normal', 'symmetric', perm, r) as Int4;
        const withZeros: Int4 = { ...sym, zeros: new Uint8Array(sym.scales.length).fill(8) };
        for (const t of [1, 5]) {
          const x = randomX(t * k, 'normal', r);
          const ys = one.linear(one.uploadLinear(sym), x, t) as Float32Array;
          const yz = one.linear(one.uploadLinear(withZeros), x, t) as Float32Array;
          const y3 = three.linear(three.uploadLinear(sym), x, t) as Float32Array;
          expect(same(ys, yz), `[${n}, ${k}] G ${g} perm ${perm} T ${t}: symmetric vs z = 8`).toBe(true);
          expect(same(y3, ys), `[${n}, ${k}] G ${g} perm ${perm} T ${t}: 3 threads vs 1`).toBe(true);
        }
      }
  });

  it('are exact on integer data with the extreme nibbles, and so are zero points 0 and 15', () => {
    // |x| <= 4, |q - z| <= 15, K = 77: every product and partial sum is an integer below 2^24, scales are
    // powers of two, so the kernels and linearRef must agree exactly.
    const n = 10,
      k = 77,
      g = 32,
      t = 3;
    const nG = Math.ceil(k / g);
    const r = rng(43);
    const x = Float32Array.from({ length: t * k }, () => Math.floor(r() * 9) - 4);
    const scales = Float32Array.from({ length: n * nG }, (_, i) => 2 ** ((i % 5) - 2) * (i & 1 ? -1 : 1));
    const fills = [0x00, 0xff, 0x0f, 0xf0];
    for (const fill of fills)
      for (const zeros of [
        null,
        new Uint8Array(n * nG).fill(0),
        new Uint8Array(n * nG).fill(15),
        Uint8Array.from({ length: n * nG }, (_, i) => (i & 1) * 15),
      ]) {
        const packed = new Uint8Array(n * Math.ceil(k / 2)).fill(fill);
        // Row 0 random, so a constant row cannot hide a lane-order bug.
        for (let i = 0; i < Math.ceil(k / 2); i++) packed[i] = Math.floor(r() * 256);
        const w: LinearWeight = { format: 'int4', n, k, groupSize: g, packed, scales, zeros };
        const ref = linearRef(w, x, t);
        for (const tt of [1, t]) {
          const y = three.linear(three.uploadLinear(w), x.subarray(0, tt * k), tt) as Float32Array;
          expect(Array.from(y), `fill ${fill} zeros ${zeros ? zeros[1] : 'symmetric'} T ${tt}`).toEqual(
            Array.from(ref.subarray(0, tt * n)),
          );
        }
      }
  });
});
