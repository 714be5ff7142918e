/** Dense f32 views of whatever weight a Linear holds (the compressors and AIRD edit in f32). */
import { dequantize } from '../../models/weight-formats.ts';
import { weightBytes } from '../../models/weight-formats.ts';
import type { LayerWeight } from '../../models/types.ts';
import { dequantizeMixed } from './llm-int8.ts';

export function denseOf(w: LayerWeight): Float32Array {
  if (w.format === 'mixed') return dequantizeMixed(w, dequantize);
  if (w.format === 'w8a8') return dequantize(w.weight);
  return dequantize(w);
}

/** denseOf without the copy where the weight is dense f32 already: for reading only. */
export function denseForReading(w: LayerWeight): Float32Array {
  return w.format === 'f32' ? w.w : denseOf(w);
}

/** Bytes the weight occupies as stored (scales, zeros and outlier columns included). */
export function storedBytes(w: LayerWeight): number {
  if (w.format === 'mixed') return weightBytes(w.main) + weightBytes(w.outlier) + w.outlierCols.length * 4;
  if (w.format === 'w8a8') return weightBytes(w.weight);
  return weightBytes(w);
}
