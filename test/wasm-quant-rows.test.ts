/**
 * matmul.wat quant_rows (the prefill activation quantizer the pool runs) against its definition, dot-quant.ts
 * quantizeRow, bit for bit: values and scales in the token-quad layout, for any row range, gather index (act-order
 * permutations, padding), block size, 16- and 8-bit activations, rows past t (zero), and blocks holding zeros only,
 * NaN, ±Infinity, subnormals or the largest floats.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activationMax, dotBlocking, dotGatherIndex, quantizeRow, type ActivationBits } from '../kernels/dot-quant.ts';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { rng } from './helpers/wasm-weights.ts';

const memory = new WebAssembly.Memory({ initial: 256, maximum: 256, shared: true });
const kernels = new WebAssembly.Instance(loadKernelModule(), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -3e-39, 3.4028234663852886e38, -3.4028234663852886e38];

describe('quant_rows', () => {
  it('equals quantizeRow bit for bit in the token-quad layout', () => {
    fc.assert(
      fc.property(
        fc.record({
          k: fc.oneof(fc.constantFrom(1, 31, 32, 33, 128, 300), fc.integer({ min: 1, max: 400 })),
          group: fc.constantFrom(0, 32, 64, 128),
          perm: fc.boolean(),
          bits: fc.constantFrom<ActivationBits>(16, 8),
          t: fc.integer({ min: 1, max: 9 }),
          special: fc.constantFrom(0, 0.02, 0.3),
          scale: fc.constantFrom(1, 1e-30, 1e30),
          seed: fc.integer(),
        }),
        ({ k, group, perm, bits, t, special, scale, seed }) => {
          const r = rng(seed);
          const gs = group || k;
          const order = perm ? Array.from({ length: k }, (_, i) => i).sort(() => r() - 0.5) : null;
          const idx = dotGatherIndex(k, gs, order ? Int32Array.from(order) : null, bits);
          const B = dotBlocking(k, gs, bits);
          const t4 = Math.ceil(t / 4) * 4;
          const x = new Float32Array(t4 * k);
          for (let i = 0; i < t * k; i++) x[i] = r() < special ? SPECIAL[Math.floor(r() * SPECIAL.length)] : (r() - 0.5) * scale;
          // a row of zeros, now and then
          if (r() < 0.3) x.fill(0, 0, k);
          const [X, G, XQ, SX] = [0, t4 * k * 4 + 64, t4 * k * 4 + B.kp * 4 + 128, t4 * k * 4 + B.kp * 4 + t4 * B.kp * 2 + 192];
          new Float32Array(memory.buffer, X, x.length).set(x);
          new Int32Array(memory.buffer, G, B.kp).set(idx);
          const xq = new Int16Array(memory.buffer, XQ, t4 * B.kp).fill(-7);
          const sx = new Float32Array(memory.buffer, SX, t4 * B.nb).fill(-7);
          const r0 = Math.floor(r() * t4);
          kernels.quant_rows(X, k, G, B.kp, B.bs, activationMax(bits), XQ, SX, t, r0, t4, 0);
          for (let row = 0; row < t4; row++) {
            const wantQ = new Int16Array(B.kp);
            const wantS = new Float32Array(B.nb);
            // rows t.. are zero rows (the caller zeroes them; the kernel does not read them)
            quantizeRow(row < t ? x : new Float32Array(k), row < t ? row * k : 0, idx, B.bs, wantQ, 0, wantS, 0, null, 0, bits);
            for (let i = 0; i < B.kp; i++) {
              const at = (row >> 2) * B.kp * 4 + (row & 3) * 8 + (i & ~7) * 4 + (i & 7);
              expect(xq[at], `row ${row} element ${i}`).toBe(row >= r0 ? wantQ[i] : -7);
            }
            for (let b = 0; b < B.nb; b++) {
              const got = sx[(row >> 2) * B.nb * 4 + (row & 3) + 4 * b];
              expect(Object.is(got, row >= r0 ? wantS[b] : -7), `row ${row} block ${b}: ${got} vs ${wantS[b]}`).toBe(true);
            }
          }
        },
      ),
      { numRuns: 250 },
    );
  });
});
