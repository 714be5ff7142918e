/**
 * The relaxed-SIMD int4 kernel (relaxed.wat i4q_mv, 8-bit activations; GLASSBOX_RELAXED_SIMD=1): gated by a
 * known-answer self-test; when it runs it must equal linearDotRef(..., bits 8) bit for bit (threads, decode and
 * prefill, perms, zero points, any group size), and the reference must stay within its derived error bound.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dotBlocking } from '../kernels/dot-quant.ts';
import { dequantize } from '../kernels/formats.ts';
import { dotErrorBound, linearDotRef } from '../kernels/reference/linear-dot.ts';
import type { Int4Weight } from '../kernels/types.ts';
import { relaxedFromEnv } from '../kernels/wasm/backend.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { checkPairDots, loadRelaxedKernels } from '../kernels/wasm/relaxed.ts';
import { randomWeight, randomX, rng, trackedBackend, type Profile, type ZeroMode } from './helpers/wasm-weights.ts';

const profile = fc.constantFrom<Profile>('normal', 'normal', 'zeros', 'sparse', 'large', 'tiny');
const caseArb = fc.record({
  k: fc.oneof(fc.constantFrom(1, 31, 32, 33, 128, 129, 300), fc.integer({ min: 1, max: 700 })),
  n: fc.oneof(fc.constantFrom(1, 7, 8, 9, 31), fc.integer({ min: 1, max: 40 })),
  t: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 })),
  group: fc.oneof(fc.constant(0), fc.constantFrom(32, 64, 128), fc.integer({ min: 1, max: 400 })),
  wProfile: profile,
  xProfile: profile,
  zeroMode: fc.constantFrom<ZeroMode>('random', 'all0', 'all15', 'alternate', 'symmetric'),
  perm: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer(),
});

function firstDifference(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('relaxed-SIMD gate', () => {
  it('the known-answer check catches a wrong instruction (e.g. V8 11.3 doubling i32x4.relaxed_dot on AMD)', () => {
    const exact = (a: Int8Array, b: Int8Array) => Array.from({ length: 8 }, (_, l) => a[2 * l] * b[2 * l] + a[2 * l + 1] * b[2 * l + 1]);
    expect(checkPairDots(exact)).toBeNull();
    expect(checkPairDots((a, b) => exact(a, b).map((v) => 2 * v))).toMatch(/relaxed_dot_i8x16_i7x16_s gave/);
    // pmaddubsw with the operands swapped treats the activation as unsigned: caught too.
    const swapped = (a: Int8Array, b: Int8Array) =>
      Array.from({ length: 8 }, (_, l) => {
        const v = (a[2 * l] & 255) * b[2 * l] + (a[2 * l + 1] & 255) * b[2 * l + 1];
        return Math.max(-32768, Math.min(32767, v));
      });
    expect(checkPairDots(swapped)).not.toBeNull();
  });

  it('a failing self-test means no relaxed module, with the reason', () => {
    const r = loadRelaxedKernels(() => 'lane 0 wrong');
    expect(r.module).toBeNull();
    expect(r.reason).toMatch(/self-test failed: lane 0 wrong/);
  });

  it('GLASSBOX_RELAXED_SIMD accepts 0/1 only, naming the variable', () => {
    expect(relaxedFromEnv({})).toBe(false);
    expect(relaxedFromEnv({ GLASSBOX_RELAXED_SIMD: '1' })).toBe(true);
    expect(() => relaxedFromEnv({ GLASSBOX_RELAXED_SIMD: 'yes' })).toThrow(WasmKernelError);
    expect(() => relaxedFromEnv({ GLASSBOX_RELAXED_SIMD: 'yes' })).toThrow(/GLASSBOX_RELAXED_SIMD=yes/);
  });

  it('the backend reports whether it runs the relaxed kernels; exact or unrequested never does', () => {
    expect(trackedBackend({ threads: 1, exact: false, relaxedSimd: false }).relaxedSimd.enabled).toBe(false);
    expect(trackedBackend({ threads: 1, exact: true, relaxedSimd: true }).relaxedSimd.enabled).toBe(false);
    const b = trackedBackend({ threads: 1, exact: false, relaxedSimd: true });
    const self = loadRelaxedKernels();
    expect(b.relaxedSimd.enabled).toBe(self.module !== null);
    if (!b.relaxedSimd.enabled) expect(b.relaxedSimd.reason).toBe(self.reason);
  });
});

const relaxed = loadRelaxedKernels();
describe.skipIf(!relaxed.module)(`relaxed-SIMD int4 kernel${relaxed.module ? '' : ` (skipped: ${relaxed.reason})`}`, () => {
  const b1 = trackedBackend({ threads: 1, exact: false, relaxedSimd: true });
  const b2 = trackedBackend({ threads: 2, minThreadedWork: 0, exact: false, relaxedSimd: true });
  const b3 = trackedBackend({ threads: 3, minThreadedWork: 0, exact: false, relaxedSimd: true });

  it('equals linearDotRef with 8-bit activations bit for bit (1, 2, 3 threads; decode and prefill)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = rng(c.seed);
        const w = randomWeight('int4', c.n, c.k, c.group === 0 ? c.k : c.group, c.wProfile, c.zeroMode, c.perm, r) as Int4Weight;
        const x = randomX(c.t * c.k, c.xProfile, r);
        const bias = c.bias ? randomX(c.n, 'normal', r) : null;
        const ref = linearDotRef(w, x, c.t, bias, 8);
        for (const b of [b1, b2, b3]) {
          const y = b.linear(b.uploadLinear(w), x, c.t, bias) as Float32Array;
          const bad = firstDifference(y, ref);
          if (bad >= 0) throw new Error(`threads ${b.threads}: y[${bad}] = ${y[bad]}, ref ${ref[bad]}`);
          // a token's prefill row is its decode row
          if (c.t > 1) {
            const one = b.linear(b.uploadLinear(w), x.subarray(0, c.k), 1, bias) as Float32Array;
            if (firstDifference(one, y.subarray(0, c.n)) >= 0) throw new Error('prefill row 0 differs from decode');
          }
        }
      }),
      { numRuns: 80 },
    );
  });

  it('8-bit blocks are at most 128 wide (the kernel sums i16 lanes over one block)', () => {
    for (const [k, g] of [
      [4096, 4096],
      [896, 128],
      [300, 300],
      [4864, 32],
      [129, 129],
    ]) {
      const B = dotBlocking(k, g, 8);
      expect(B.bs).toBeLessThanOrEqual(128);
      expect(B.gp % B.bs).toBe(0);
    }
  });
});

describe('8-bit activation reference', () => {
  it('stays within the derived bound (absmax / 254 per block) of the exact result, and is further off than 16-bit', () => {
    let worse = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = rng(c.seed);
        const w = randomWeight('int4', c.n, c.k, c.group === 0 ? c.k : c.group, c.wProfile, c.zeroMode, c.perm, r) as Int4Weight;
        const x = randomX(c.t * c.k, c.xProfile, r);
        const y8 = linearDotRef(w, x, c.t, null, 8);
        const y16 = linearDotRef(w, x, c.t, null, 16);
        const W = dequantize(w);
        const bound = dotErrorBound(w, W, x, c.t, 8);
        let e8 = 0;
        let e16 = 0;
        for (let i = 0; i < c.t; i++)
          for (let j = 0; j < w.n; j++) {
            let exact = 0;
            for (let kk = 0; kk < w.k; kk++) exact += x[i * w.k + kk] * W[j * w.k + kk];
            const e = Math.abs(y8[i * w.n + j] - exact);
            if (!(e <= bound[i * w.n + j])) throw new Error(`y[${i},${j}]: error ${e} > bound ${bound[i * w.n + j]}`);
            e8 += e;
            e16 += Math.abs(y16[i * w.n + j] - exact);
          }
        if (e8 > e16) worse++;
      }),
      { numRuns: 60 },
    );
    // the 8-bit path really quantizes coarser (a bound that could not fail would not show this)
    expect(worse).toBeGreaterThan(20);
  });
});
