/**
 * The wasm-simd backend's attention (kernels/wasm/attention.ts: scores and value mix in matmul.wat's f64x2 lanes)
 * equals the scalar float64 JS attention (js-ops.ts) bit for bit — outputs and patterns, masks, GQA, several query
 * rows, head sizes with and without tails, and non-finite inputs — so attentionRef's bound for the JS version
 * (test/wasm-js-ops.test.ts) holds for it unchanged. Also through the backend, which now runs it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { createWasmAttention } from '../kernels/wasm/attention.ts';
import { attention as jsAttention } from '../kernels/wasm/js-ops.ts';
import type { AttentionArgs } from '../kernels/types.ts';
import { randomAttention } from './helpers/attention-cases.ts';
import { rng, trackedBackend } from './helpers/wasm-weights.ts';

const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** One decode query over s keys at the Qwen2.5-0.5B attention shape (14 heads, 2 KV heads, 64 wide), every key real. */
function decodeArgs(s: number, r: () => number): AttentionArgs {
  const rand = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const keyValid = new Uint8Array(s).fill(1);
  return { q: rand(14 * 64), k: rand(s * 128), v: rand(s * 128), t: 1, s, nHeads: 14, nKvHeads: 2, headDim: 64, keyValid, scale: 0.125 };
}

describe('wasm attention', () => {
  const attention = createWasmAttention(loadKernelModule(), true);
  const special = [NaN, Infinity, -Infinity, 0, -0, 3e38, 1e-40];

  it('equals the float64 JS attention bit for bit (outputs and patterns)', () => {
    fc.assert(
      fc.property(
        fc.record({
          t: fc.integer({ min: 1, max: 5 }),
          past: fc.integer({ min: 0, max: 40 }),
          nKv: fc.integer({ min: 1, max: 3 }),
          group: fc.integer({ min: 1, max: 4 }),
          d: fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 64),
          pad: fc.integer({ min: 0, max: 6 }),
          big: fc.constantFrom(1, 30, 1e18),
          nSpecial: fc.integer({ min: 0, max: 2 }),
          seed: fc.integer(),
        }),
        ({ t, past, nKv, group, d, pad, big, nSpecial, seed }) => {
          const r = rng(seed);
          const args = randomAttention({ t, past, nKv, group, d, pad, m: big, dropRate: 0.1 }, r);
          const { s, nHeads } = args;
          for (let i = 0; i < nSpecial; i++) {
            const arr = [args.q, args.k, args.v][Math.floor(r() * 3)];
            arr[Math.floor(r() * arr.length)] = special[Math.floor(r() * special.length)];
          }
          const pa = new Float32Array(nHeads * t * s);
          const pb = new Float32Array(nHeads * t * s);
          const want = jsAttention({ ...args, patternOut: pa });
          const got = attention({ ...args, patternOut: pb });
          expect(same(got, want)).toBe(true);
          expect(same(pb, pa)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles a memory grown between calls and a context larger than the first one (decode shape, 14/2 heads x 64)', () => {
    const r = rng(7);
    for (const s of [3, 700, 5]) {
      const args = decodeArgs(s, r);
      expect(same(attention(args), jsAttention(args))).toBe(true);
    }
  });

  it('split over two threads (the backend pool, chunks as they come) gives the same bits, patterns included', async () => {
    const b = trackedBackend({ threads: 2, minThreadedWork: 0 });
    // Weights first, so attention runs above them in the same memory: a linear after it must read them unchanged.
    const w = { format: 'f32' as const, n: 8, k: 16, w: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)) };
    const h = b.uploadLinear(w);
    const x = Float32Array.from({ length: 3 * 16 }, (_, i) => Math.cos(i));
    const y0 = (await b.linear(h, x, 3)).slice();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          t: fc.integer({ min: 1, max: 9 }),
          past: fc.integer({ min: 0, max: 30 }),
          nKv: fc.integer({ min: 1, max: 3 }),
          group: fc.integer({ min: 1, max: 4 }),
          d: fc.constantFrom(1, 3, 4, 8, 9, 16, 64),
          pad: fc.integer({ min: 0, max: 6 }),
          withPattern: fc.boolean(),
          nSpecial: fc.integer({ min: 0, max: 2 }),
          seed: fc.integer(),
        }),
        async ({ t, past, nKv, group, d, pad, withPattern, nSpecial, seed }) => {
          const r = rng(seed);
          const args = randomAttention({ t, past, nKv, group, d, pad, m: 30, dropRate: 0.2 }, r);
          for (let i = 0; i < nSpecial; i++) {
            const arr = [args.q, args.k, args.v][Math.floor(r() * 3)];
            arr[Math.floor(r() * arr.length)] = special[Math.floor(r() * special.length)];
          }
          const { s, nHeads } = args;
          const pa = withPattern ? new Float32Array(nHeads * t * s) : null;
          const pb = withPattern ? new Float32Array(nHeads * t * s).fill(7) : null;
          const want = jsAttention({ ...args, patternOut: pa });
          // A reused destination holding old values: every element must be written (rows with no key as zeros).
          const got = await b.attention({ ...args, patternOut: pb, out: new Float32Array(t * nHeads * d).fill(5) });
          expect(same(got, want)).toBe(true);
          if (pa && pb) expect(same(pb, pa)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    // Prefill-sized calls, so that the worker takes chunks while the caller runs its own (a shared scratch row fails).
    for (let seed = 0; seed < 6; seed++) {
      const args = randomAttention({ t: 48, past: 40 * seed, nKv: 2, group: 4, d: 64, pad: 3, m: 3, dropRate: 0.05 }, rng(seed));
      expect(same(await b.attention(args), jsAttention(args))).toBe(true);
    }
    expect(same(await b.linear(h, x, 3), y0)).toBe(true);
  });

  it('runs before any weight is uploaded, and refuses a context no memory holds with an error naming it', async () => {
    const b = trackedBackend({ threads: 2, minThreadedWork: 0, maxMemoryBytes: 256 * 1024 });
    const r = rng(11);
    const small = randomAttention({ t: 3, past: 4, nKv: 2, group: 2, d: 8, pad: 1, m: 1, dropRate: 0 }, r);
    expect(same(await b.attention(small), jsAttention(small))).toBe(true);
    const big = decodeArgs(2000, r);
    expect(() => b.attention(big)).toThrow(/attention over 2000 keys \(14 heads x 64\): needs \d+ bytes/);
  });

  it('is what the wasm-simd backend runs', async () => {
    const b = trackedBackend({ threads: 1 });
    const r = rng(3);
    const rand = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
    const args: AttentionArgs = {
      q: rand(2 * 4 * 8),
      k: rand(6 * 2 * 8),
      v: rand(6 * 2 * 8),
      t: 2,
      s: 6,
      nHeads: 4,
      nKvHeads: 2,
      headDim: 8,
      keyValid: Uint8Array.of(0, 1, 1, 1, 1, 1),
      scale: 0.3,
      patternOut: null,
    };
    expect(same(await b.attention(args), jsAttention(args))).toBe(true);
  });
});
