/**
 * Converters on hand-built tensors: logical integers (q, z, scales, g_idx) are packed here by a packer
 * written from the layout descriptions in ../shared/docs/quant-formats.md, and the expected weight is the
 * scalar formula applied to the logical values, so nothing shares code with the converters' unpacking.
 * Comparisons are exact: every value is (small integer) * (f32 scale), exact in f32.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelFolderError } from '../engine/errors.ts';
import { convertAwq } from '../engine/convert/awq.ts';
import { convertCtInt8, convertCtPacked } from '../engine/convert/compressed-tensors.ts';
import { convertGptq } from '../engine/convert/gptq.ts';
import { dequantize } from '../kernels/formats.ts';

/** Deterministic PRNG so each property run builds reproducible tensors from one seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (m: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % m;
  };
}

/** Packs `vals` (each < 2^bits) LSB first, `32/bits` per int32 word. */
function packWords(vals: number[], bits: number): number[] {
  const per = 32 / bits;
  const out: number[] = [];
  for (let i = 0; i < vals.length; i += per) {
    let w = 0;
    for (let j = 0; j < per && i + j < vals.length; j++) w += vals[i + j] * 2 ** (bits * j);
    out.push(w | 0);
  }
  return out;
}

/** f16-like scales: small integers / 64 keep products exact and scales distinct. */
const scaleOf = (r: (m: number) => number) => (1 + r(200)) / 64;

interface GptqCase {
  n: number;
  k: number;
  g: number;
  bits: number;
  actOrder: boolean;
  v2: boolean;
  seed: number;
}

function buildGptq(c: GptqCase) {
  const r = rng(c.seed);
  const mask = 2 ** c.bits - 1;
  const groups = Math.ceil(c.k / c.g);
  // Act-order: a random permutation `order` and channel order[j] in group floor(j / G).
  const order = Array.from({ length: c.k }, (_, i) => i);
  if (c.actOrder)
    for (let i = c.k - 1; i > 0; i--) {
      const j = r(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  const gIdx = new Int32Array(c.k);
  order.forEach((ch, j) => (gIdx[ch] = Math.floor(j / c.g)));
  const q = Array.from({ length: c.k * c.n }, () => r(mask + 1)); // [K, N]
  const z = Array.from({ length: groups * c.n }, () => r(mask + 1)); // [G, N]
  const s = Array.from({ length: groups * c.n }, () => scaleOf(r));
  const qweight: number[] = [];
  const per = 32 / c.bits;
  for (let row = 0; row < Math.ceil(c.k / per); row++)
    for (let n = 0; n < c.n; n++) {
      const col = Array.from({ length: per }, (_, i) => (row * per + i < c.k ? q[(row * per + i) * c.n + n] : 0));
      qweight.push(packWords(col, c.bits)[0]);
    }
  const stored = z.map((v) => (c.v2 ? v : (v - 1) & mask)); // v1 stores z - 1
  const qzeros: number[] = [];
  for (let g = 0; g < groups; g++) qzeros.push(...packWords(stored.slice(g * c.n, (g + 1) * c.n), c.bits));
  const want = new Float32Array(c.n * c.k);
  for (let n = 0; n < c.n; n++)
    for (let k = 0; k < c.k; k++) want[n * c.k + k] = s[gIdx[k] * c.n + n] * (q[k * c.n + n] - z[gIdx[k] * c.n + n]);
  return {
    tensors: {
      qweight: { data: Int32Array.from(qweight), shape: [Math.ceil(c.k / per), c.n] },
      qzeros: { data: Int32Array.from(qzeros), shape: [groups, Math.ceil(c.n / per)] },
      scales: { data: Float32Array.from(s), shape: [groups, c.n] },
      gIdx: { data: gIdx, shape: [c.k] },
    },
    want,
  };
}

describe('GPTQ converter', () => {
  it('decodes one literal word: 0x76543210 holds k = 0..7 in nibbles LSB first', () => {
    const w = convertGptq(
      'm',
      {
        qweight: { data: Int32Array.from([0x76543210]), shape: [1, 1] },
        qzeros: { data: Int32Array.from([0x00000002]), shape: [1, 1] }, // v1: z = 2 + 1 = 3
        scales: { data: Float32Array.from([0.5]), shape: [1, 1] },
      },
      { bits: 4, groupSize: -1 },
    );
    expect(Array.from(dequantize(w))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((q) => (q - 3) * 0.5));
  });

  it('matches the scalar formula (bits 2/4/8, v1/v2, act-order, partial last group)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.constantFrom(8, 16, 24),
          k: fc.constantFrom(32, 48, 176),
          g: fc.constantFrom(16, 32, 176),
          bits: fc.constantFrom(2, 4, 8),
          actOrder: fc.boolean(),
          v2: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        (c) => {
          const { tensors, want } = buildGptq(c);
          if (c.bits === 8) {
            // Asymmetric 8-bit q - z may exceed int8: the converter must then refuse, never wrap.
            try {
              const w = convertGptq('m', tensors, { bits: 8, groupSize: c.g, checkpointFormat: c.v2 ? 'gptq_v2' : 'gptq' });
              expect(Array.from(dequantize(w))).toEqual(Array.from(want));
            } catch (e) {
              expect(e).toBeInstanceOf(ModelFolderError);
              expect((e as Error).message).toMatch(/does not fit int8/);
            }
            return;
          }
          const w = convertGptq('m', tensors, { bits: c.bits, groupSize: c.g, checkpointFormat: c.v2 ? 'gptq_v2' : 'gptq' });
          expect(w.format).toBe('int4');
          expect(Boolean(w.perm)).toBe(c.actOrder && c.g < c.k);
          expect(Array.from(dequantize(w))).toEqual(Array.from(want));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('8-bit symmetric (z = 128, stored 127) becomes int8 q - 128 exactly', () => {
    const c = { n: 8, k: 64, g: 64, bits: 8, actOrder: false, v2: false, seed: 7 };
    const { tensors, want } = buildGptq(c);
    tensors.qzeros.data.fill(0x7f7f7f7f);
    const s = tensors.scales.data;
    for (let n = 0; n < c.n; n++)
      for (let k = 0; k < c.k; k++) {
        const q = (tensors.qweight.data[Math.floor(k / 4) * c.n + n] >>> (8 * (k % 4))) & 255;
        want[n * c.k + k] = s[n] * (q - 128);
      }
    const w = convertGptq('m', tensors, { bits: 8, groupSize: -1 });
    expect(w.format).toBe('int8');
    expect(Array.from(dequantize(w))).toEqual(Array.from(want));
  });

  it('rejects bad shapes and uneven act-order groups with the tensor named', () => {
    const { tensors } = buildGptq({ n: 8, k: 64, g: 32, bits: 4, actOrder: false, v2: false, seed: 3 });
    expect(() => convertGptq('layer.q', { ...tensors, scales: { ...tensors.scales, shape: [3, 8] } }, { bits: 4, groupSize: 32 })).toThrow(
      /layer\.q\.scales: shape \[3, 8\]/,
    );
    const gIdx = { data: Int32Array.from({ length: 64 }, (_, c) => (c < 40 ? 0 : 1)), shape: [64] };
    expect(() => convertGptq('layer.q', { ...tensors, gIdx }, { bits: 4, groupSize: 32 })).toThrow(ModelFolderError);
    expect(() => convertGptq('layer.q', tensors, { bits: 3, groupSize: 32 })).toThrow(/layer\.q\.qweight: GPTQ 3-bit/);
  });
});

describe('AWQ GEMM converter', () => {
  it('decodes one literal word in AWQ order: slot i holds column [0,2,4,6,1,3,5,7][i]', () => {
    const w = convertAwq(
      'm',
      {
        qweight: { data: Int32Array.from([0x76543210]), shape: [1, 1] },
        qzeros: { data: Int32Array.from([0]), shape: [1, 1] },
        scales: { data: new Float32Array(8).fill(1), shape: [1, 8] },
      },
      { bits: 4, groupSize: 1 },
    );
    // Column c is in slot rev[c] = [0,4,1,5,2,6,3,7][c], whose nibble value equals the slot index.
    expect(Array.from(dequantize(w))).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
  });

  it('matches the scalar formula on random tensors', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.constantFrom(8, 16, 200),
          k: fc.constantFrom(32, 64, 96),
          g: fc.constantFrom(16, 32),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        ({ n, k, g, seed }) => {
          const r = rng(seed);
          const groups = Math.ceil(k / g);
          const order = [0, 2, 4, 6, 1, 3, 5, 7];
          const q = Array.from({ length: k * n }, () => r(16));
          const z = Array.from({ length: groups * n }, () => r(16));
          const s = Array.from({ length: groups * n }, () => scaleOf(r));
          const pack = (vals: number[], rows: number) => {
            const out: number[] = [];
            for (let row = 0; row < rows; row++)
              for (let c = 0; c < n / 8; c++)
                out.push(
                  packWords(
                    order.map((o) => vals[row * n + 8 * c + o]),
                    4,
                  )[0],
                );
            return Int32Array.from(out);
          };
          const w = convertAwq(
            'm',
            {
              qweight: { data: pack(q, k), shape: [k, n / 8] },
              qzeros: { data: pack(z, groups), shape: [groups, n / 8] },
              scales: { data: Float32Array.from(s), shape: [groups, n] },
            },
            { bits: 4, groupSize: g },
          );
          const want = new Float32Array(n * k);
          for (let c = 0; c < n; c++)
            for (let kk = 0; kk < k; kk++) {
              const gi = Math.floor(kk / g) * n + c;
              want[c * k + kk] = (q[kk * n + c] - z[gi]) * s[gi];
            }
          expect(Array.from(dequantize(w))).toEqual(Array.from(want));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('compressed-tensors converters', () => {
  it('pack-quantized: stored = q + 8, symmetric or with packed zero points, I64 or I32 weight_shape, g_idx', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.constantFrom(8, 12, 16),
          k: fc.constantFrom(32, 40, 64),
          g: fc.constantFrom(8, 16, -1),
          sym: fc.boolean(),
          i64: fc.boolean(),
          actOrder: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        ({ n, k, g, sym, i64, actOrder, seed }) => {
          const r = rng(seed);
          const gs = g === -1 ? k : g;
          const groups = Math.ceil(k / gs);
          const q = Array.from({ length: n * k }, () => r(16) - 8); // signed [-8, 7], [N, K]
          const zp = Array.from({ length: n * groups }, () => (sym ? 0 : r(16) - 8)); // [N, G]
          const s = Array.from({ length: n * groups }, () => scaleOf(r));
          const order = Array.from({ length: k }, (_, i) => i);
          if (actOrder)
            for (let i = k - 1; i > 0; i--) {
              const j = r(i + 1);
              [order[i], order[j]] = [order[j], order[i]];
            }
          const gIdx = new Int32Array(k);
          order.forEach((ch, j) => (gIdx[ch] = Math.floor(j / gs)));
          const packed: number[] = [];
          for (let row = 0; row < n; row++)
            packed.push(
              ...packWords(
                q.slice(row * k, (row + 1) * k).map((v) => v + 8),
                4,
              ),
            );
          const zpPacked: number[] = new Array(Math.ceil(n / 8) * groups).fill(0);
          for (let row = 0; row < n; row++)
            for (let gi = 0; gi < groups; gi++) zpPacked[(row >> 3) * groups + gi] += (zp[row * groups + gi] + 8) * 2 ** (4 * (row & 7));
          const w = convertCtPacked(
            'm',
            {
              weightPacked: { data: Int32Array.from(packed), shape: [n, Math.ceil(k / 8)] },
              weightScale: { data: Float32Array.from(s), shape: [n, groups] },
              weightShape: i64
                ? { data: BigInt64Array.from([BigInt(n), BigInt(k)]), shape: [2] }
                : { data: Int32Array.from([n, k]), shape: [2] },
              weightZeroPoint: sym ? null : { data: Int32Array.from(zpPacked.map((v) => v | 0)), shape: [Math.ceil(n / 8), groups] },
              weightGIdx: actOrder ? { data: gIdx, shape: [k] } : null,
            },
            { bits: 4, groupSize: g },
          );
          const want = new Float32Array(n * k);
          for (let row = 0; row < n; row++)
            for (let kk = 0; kk < k; kk++) {
              const gi = row * groups + (actOrder ? gIdx[kk] : Math.floor(kk / gs));
              want[row * k + kk] = (q[row * k + kk] - zp[gi]) * s[gi];
            }
          expect(w.zeros === null).toBe(sym);
          expect(Array.from(dequantize(w))).toEqual(Array.from(want));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('int-quantized int8: weight [N, K] * weight_scale [N, 1]; asymmetric zero points that overflow are refused', () => {
    const n = 3;
    const k = 5;
    const q = Int8Array.from([-128, -1, 0, 1, 127, 5, 6, 7, 8, 9, -5, -6, -7, -8, -9]);
    const s = Float32Array.from([0.25, 2, 0.125]);
    const w = convertCtInt8(
      'm',
      { weight: { data: q, shape: [n, k] }, weightScale: { data: s, shape: [n, 1] } },
      { bits: 8, groupSize: -1 },
    );
    expect(w.groupSize).toBe(k);
    expect(Array.from(dequantize(w))).toEqual(Array.from(q, (v, i) => v * s[Math.floor(i / k)]));
    const zp = { data: Int8Array.from([1, 0, 0]), shape: [n, 1] };
    expect(() =>
      convertCtInt8(
        'm',
        { weight: { data: q, shape: [n, k] }, weightScale: { data: s, shape: [n, 1] }, weightZeroPoint: zp },
        { bits: 8, groupSize: -1 },
      ),
    ).toThrow(/m\.weight_zero_point: q - zp = -129/);
    const zpOk = { data: Int8Array.from([0, 3, -2]), shape: [n, 1] };
    const wz = convertCtInt8(
      'm',
      { weight: { data: q, shape: [n, k] }, weightScale: { data: s, shape: [n, 1] }, weightZeroPoint: zpOk },
      { bits: 8, groupSize: -1 },
    );
    expect(Array.from(dequantize(wz))).toEqual(Array.from(q, (v, i) => (v - zpOk.data[Math.floor(i / k)]) * s[Math.floor(i / k)]));
  });

  it('names the tensor on bad shapes', () => {
    expect(() =>
      convertCtPacked(
        'a.b',
        {
          weightPacked: { data: new Int32Array(8), shape: [4, 2] },
          weightScale: { data: new Float32Array(4), shape: [4, 1] },
          weightShape: { data: Int32Array.from([4, 24]), shape: [2] },
        },
        { bits: 4, groupSize: -1 },
      ),
    ).toThrow(/a\.b\.weight_packed: shape \[4, 2\], expected \[4, 3\]/);
    expect(() =>
      convertCtPacked(
        'a.b',
        {
          weightPacked: { data: new Int32Array(8), shape: [4, 2] },
          weightScale: { data: new Float32Array(8), shape: [4, 2] },
          weightShape: { data: Int32Array.from([4, 16]), shape: [2] },
        },
        { bits: 4, groupSize: 32 },
      ),
    ).toThrow(/a\.b\.weight_scale: 2 columns/);
  });
});
