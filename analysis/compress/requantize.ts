/**
 * Re-quantizing an edited dense matrix into the format a Linear already had (AIRD on quantized models:
 * edit in f32, store in the model's own format). GPTQ's act-order permutation is not kept: the edited
 * matrix is rounded to nearest on the same grid type and group size.
 */
import type { LayerWeight } from '../../models/types.ts';
import { bf16Narrow, quantizeInt4, quantizeInt8 } from '../../models/weight-formats.ts';
import { quantizeLlmInt8 } from './llm-int8.ts';

export function requantizeLike(like: LayerWeight, dense: Float32Array, name = 'weight'): LayerWeight {
  const { n, k } = like;
  switch (like.format) {
    case 'f32':
      return { format: 'f32', n, k, w: dense };
    case 'bf16':
      return { format: 'bf16', n, k, w: bf16Narrow(dense) };
    case 'int8':
      return quantizeInt8(dense, n, k, like.groupSize, name);
    case 'int4':
      return quantizeInt4(dense, n, k, like.groupSize, { sym: like.zeros === null }, name);
    case 'w8a8':
      return { ...like, weight: quantizeInt8(dense, n, k, k, name) };
    case 'mixed': {
      // Same outlier columns: mark exactly those as above threshold.
      const amax = new Float32Array(k);
      for (const j of like.outlierCols) amax[j] = 2;
      const m = quantizeLlmInt8(dense, n, k, amax, 1, name);
      return m.outlierCols.length ? m : m.main;
    }
  }
}
