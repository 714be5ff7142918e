/**
 * wandaPrune's selection against its definition, written out as a stable sort of (score, column): the same zeros,
 * exactly, on weights and norms drawn from a few values so that ties are common (fast-check), unstructured and N:M.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompressionError } from '../analysis/compress/errors.ts';
import { kthSmallest, wandaPrune, type PruneSpec } from '../analysis/compress/prune.ts';

/** The definition: per row (or per group of m), indices sorted by score then index; the first `cut` are zeroed. */
function oracle(w: Float32Array, n: number, k: number, normSq: Float64Array, spec: PruneSpec): Float32Array {
  const out = Float32Array.from(w);
  const score = (r: number, j: number) => Math.abs(w[r * k + j]) * Math.sqrt(normSq[j]);
  for (let r = 0; r < n; r++) {
    const groups: [number, number, number][] =
      spec.kind === 'unstructured'
        ? [[0, k, Math.floor(spec.sparsity * k)]]
        : Array.from({ length: Math.ceil(k / spec.m) }, (_, g) => [g * spec.m, Math.min(k, (g + 1) * spec.m), spec.n]);
    for (const [lo, hi, cut] of groups) {
      const idx = Array.from({ length: hi - lo }, (_, i) => lo + i).sort((a, b) => score(r, a) - score(r, b) || a - b);
      for (const j of idx.slice(0, cut)) out[r * k + j] = 0;
    }
  }
  return out;
}

describe('wandaPrune', () => {
  it('zeroes exactly the lowest scores, ties to the lower column', () => {
    const levels = [0, -0.5, 0.5, 1, -1, 2, Infinity];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.oneof(
          fc.double({ min: 0, max: 0.99, noNaN: true }).map((s): PruneSpec => ({ kind: 'unstructured', sparsity: s })),
          fc.constantFrom<PruneSpec>({ kind: 'nm', n: 2, m: 4 }, { kind: 'nm', n: 4, m: 8 }, { kind: 'nm', n: 1, m: 3 }),
        ),
        (n, k, seed, spec) => {
          let s = seed;
          const rnd = (m: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % m;
          const w = Float32Array.from({ length: n * k }, () => levels[rnd(6)] * (1 + rnd(2)));
          // Norms from a few values; an infinite one only where no weight of its column is 0 (0·∞ is NaN).
          const normSq = Float64Array.from({ length: k }, () => [1, 4, 0.25, 0][rnd(4)]);
          if (k > 2 && [...Array(n).keys()].every((r) => w[r * k + 1] !== 0)) normSq[1] = levels[6];
          expect([...wandaPrune(w, n, k, normSq, spec)]).toEqual([...oracle(w, n, k, normSq, spec)]);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('kthSmallest is the sorted array at i, on any doubles but NaN, duplicates and infinities included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, 1, -1, 2)), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        (xs, i0) => {
          const i = i0 % xs.length;
          const want = Float64Array.from(xs).sort()[i];
          expect(Object.is(kthSmallest(Float64Array.from(xs), i), want) || kthSmallest(Float64Array.from(xs), i) === want).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses a NaN score, naming the row and column', () => {
    const w = Float32Array.from([1, 2, Number.NaN, 4]);
    expect(() => wandaPrune(w, 2, 2, Float64Array.from([1, 1]), { kind: 'unstructured', sparsity: 0.5 }, 'blocks.3.up')).toThrow(
      CompressionError,
    );
    expect(() => wandaPrune(w, 2, 2, Float64Array.from([1, 1]), { kind: 'unstructured', sparsity: 0.5 }, 'blocks.3.up')).toThrow(
      /blocks\.3\.up: Wanda score of row 1, column 0 is NaN/,
    );
  });
});
