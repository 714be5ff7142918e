/**
 * readLinear on in-memory checkpoints: dense dtypes and gpt2 Conv1D orientation, not-converted module
 * matching, errors that name the tensor, and the glassbox saved format round trip (bit-exact).
 * The pre-quantized fixtures are covered in convert-fixtures.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f32ToBf16, f32ToF16 } from '../engine/dtype.ts';
import { ModelFolderError } from '../engine/errors.ts';
import { glassboxQuantizationConfig, linearToTensors } from '../engine/glassbox-format.ts';
import { isNotConverted, readLinear } from '../engine/linear-reader.ts';
import type { QuantizationConfig } from '../engine/types.ts';
import { dequantize } from '../kernels/formats.ts';
import { quantizeInt4, quantizeInt8 } from '../kernels/quantize.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { memorySource, type MemTensor } from './helpers/formats-weights.ts';

const quant = (method: QuantizationConfig['method'], notConverted: string[] = [], groupSize = 32): QuantizationConfig => ({
  method,
  bits: 4,
  groupSize,
  sym: true,
  descAct: false,
  notConverted,
  raw: {},
});

const source = (tensors: Record<string, MemTensor>, q: QuantizationConfig | null = null, conv1d = false) => ({
  weights: memorySource(new Map(Object.entries(tensors)), 'ckpt'),
  config: { quantization: q },
  names: { conv1d },
});

describe('dense weights', () => {
  const w = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
  it('reads F32 / F16 / BF16 [N, K] exactly and the bias', () => {
    for (const [dtype, data] of [
      ['F32', w],
      ['F16', f32ToF16(w)],
      ['BF16', f32ToBf16(w)],
    ] as const) {
      const r = readLinear(
        source({ 'm.weight': { dtype, shape: [2, 3], data }, 'm.bias': { dtype: 'F32', shape: [2], data: Float32Array.from([7, 8]) } }),
        'm',
      );
      expect(r.weight).toMatchObject({ format: 'f32', n: 2, k: 3 });
      expect(Array.from(dequantize(r.weight))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(Array.from(r.bias!)).toEqual([7, 8]);
    }
  });

  it('transposes gpt2 Conv1D [in, out] to [out, in] unless told not to', () => {
    const t = { 'h.0.mlp.c_fc.weight': { dtype: 'F32' as const, shape: [2, 3], data: w } };
    const r = readLinear(source(t, null, true), 'h.0.mlp.c_fc');
    expect([r.weight.n, r.weight.k]).toEqual([3, 2]);
    expect(Array.from(dequantize(r.weight))).toEqual([1, 4, 2, 5, 3, 6]);
    const plain = readLinear(source(t, null, true), 'h.0.mlp.c_fc', { transposeConv1d: false });
    expect([plain.weight.n, plain.weight.k]).toEqual([2, 3]);
  });

  it('names the tensor on a missing weight, a wrong dtype, a bad shape or bias', () => {
    expect(() => readLinear(source({}), 'a.b')).toThrow(/ckpt: missing tensor a\.b\.weight/);
    expect(() => readLinear(source({ 'a.b.weight': { dtype: 'I32', shape: [2, 3], data: new Int32Array(6) } }), 'a.b')).toThrow(
      /tensor a\.b\.weight has dtype I32, expected F32 or F16 or BF16/,
    );
    expect(() => readLinear(source({ 'a.b.weight': { dtype: 'F32', shape: [6], data: w } }), 'a.b')).toThrow(ModelFolderError);
    expect(() =>
      readLinear(
        source({ 'a.b.weight': { dtype: 'F32', shape: [2, 3], data: w }, 'a.b.bias': { dtype: 'F32', shape: [3], data: w.slice(0, 3) } }),
        'a.b',
      ),
    ).toThrow(/tensor a\.b\.bias has shape \[3\], expected \[2\]/);
  });
});

describe('not-converted modules', () => {
  it('AWQ / GPTQ match by substring, compressed-tensors by exact name or re: regex', () => {
    expect(isNotConverted(quant('awq', ['down_proj']), 'model.layers.0.mlp.down_proj')).toBe(true);
    expect(isNotConverted(quant('awq', ['down_proj']), 'model.layers.0.mlp.up_proj')).toBe(false);
    const ct = quant('compressed-tensors', ['lm_head', 're:.*self_attn\\.o_proj$']);
    expect(isNotConverted(ct, 'lm_head')).toBe(true);
    expect(isNotConverted(ct, 'model.lm_head')).toBe(false);
    expect(isNotConverted(ct, 'model.layers.3.self_attn.o_proj')).toBe(true);
    expect(isNotConverted(ct, 'model.layers.3.self_attn.q_proj')).toBe(false);
    expect(isNotConverted(null, 'lm_head')).toBe(false);
  });

  it('a listed module must be a dense .weight, even if quantized tensors exist', () => {
    const q = { dtype: 'I32' as const, shape: [1, 1], data: new Int32Array(1) };
    expect(() => readLinear(source({ 'x.down_proj.qweight': q }, quant('awq', ['down_proj'])), 'x.down_proj')).toThrow(
      /missing tensor x\.down_proj\.weight/,
    );
  });
});

const asSource = (module: string, w: LinearWeight, q: QuantizationConfig | null = quant('glassbox')) =>
  source(Object.fromEntries(linearToTensors(module, w).map((t) => [t.name, t])), q);

describe('glassbox saved format', () => {
  it('round-trips int8 / int4 sym / int4 asym / f32, odd K, partial groups and perm, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 5 }),
          k: fc.integer({ min: 1, max: 41 }),
          g: fc.integer({ min: 1, max: 45 }),
          kind: fc.constantFrom('int8', 'int4s', 'int4a', 'f32'),
          withPerm: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ n, k, g, kind, withPerm, seed }) => {
          let s = seed;
          const w = Float32Array.from({ length: n * k }, () => ((s = (s * 1103515245 + 12345) | 0) % 1000) / 300);
          let weight: LinearWeight =
            kind === 'int8'
              ? quantizeInt8(w, n, k, g)
              : kind === 'f32'
                ? { format: 'f32', n, k, w }
                : quantizeInt4(w, n, k, g, { sym: kind === 'int4s' });
          if (withPerm) weight = { ...weight, perm: Int32Array.from({ length: k }, (_, i) => k - 1 - i) };
          const back = readLinear(asSource('m', weight), 'm').weight;
          expect(back.format).toBe(weight.format);
          const a = dequantize(weight);
          const b = dequantize(back);
          expect(Array.from(new Uint32Array(b.buffer))).toEqual(Array.from(new Uint32Array(a.buffer)));
          if (back.format !== 'f32') expect(Boolean(back.perm)).toBe(withPerm);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('writes the documented tensors and config', () => {
    const w = quantizeInt4(
      new Float32Array(2 * 5).map((_, i) => i - 4),
      2,
      5,
      2,
      { sym: false },
    );
    const t = linearToTensors('m', w);
    expect(t.map((x) => [x.name, x.dtype, x.shape])).toEqual([
      ['m.qweight', 'U8', [2, 3]],
      ['m.scales', 'F32', [2, 3]],
      ['m.qzeros', 'U8', [2, 3]],
      ['m.qshape', 'I32', [3]],
    ]);
    expect(glassboxQuantizationConfig(4, 128, true)).toEqual({
      quant_method: 'glassbox',
      bits: 4,
      group_size: 128,
      sym: true,
      format_version: 1,
    });
  });

  it('without qshape: K from the qweight columns and the group size from config', () => {
    const w = quantizeInt8(
      new Float32Array(3 * 8).map((_, i) => Math.sin(i)),
      3,
      8,
      4,
    );
    const tensors = Object.fromEntries(
      linearToTensors('m', w)
        .filter((x) => x.name !== 'm.qshape')
        .map((x) => [x.name, x]),
    );
    const back = readLinear(source(tensors, quant('glassbox', [], 4)), 'm').weight;
    expect(Array.from(dequantize(back))).toEqual(Array.from(dequantize(w)));
    expect(() => readLinear(source(tensors, quant('glassbox', [], 3)), 'm')).toThrow(/tensor m\.scales has shape \[3, 2\]/);
  });

  it('rejects a broken perm, out-of-range zeros and wrong dtypes, naming the tensor', () => {
    const w = { ...quantizeInt4(Float32Array.from([1, -2, 3, 4]), 1, 4, 2, { sym: false }), perm: Int32Array.from([0, 1, 2, 3]) };
    const base = Object.fromEntries(linearToTensors('m', w).map((x) => [x.name, x]));
    const perm = { ...base, 'm.g_perm': { dtype: 'I32' as const, shape: [4], data: Int32Array.from([0, 0, 1, 2]) } };
    expect(() => readLinear(source(perm, quant('glassbox')), 'm')).toThrow(/tensor m\.g_perm is not a permutation/);
    const zeros = { ...base, 'm.qzeros': { dtype: 'U8' as const, shape: [1, 2], data: Uint8Array.from([3, 16]) } };
    expect(() => readLinear(source(zeros, quant('glassbox')), 'm')).toThrow(/tensor m\.qzeros holds 16/);
    const scales = { ...base, 'm.scales': { dtype: 'F16' as const, shape: [1, 2], data: new Uint16Array(2) } };
    expect(() => readLinear(source(scales, quant('glassbox')), 'm')).toThrow(/tensor m\.scales has dtype F16, expected F32/);
  });
});
