/**
 * Round-to-nearest quantizers (kernels/quantize.ts grids): int8 symmetric per output channel (absmax) and int4
 * asymmetric group-wise; plus the per-group grid helpers GPTQ and AWQ round against. The int4 grid (range forced to include 0, scale = range/15, integer zero point) is the one reference GPTQ's
 * `Quantizer.find_params` uses, so RTN, GPTQ and AWQ differ only in which weights they round, not how.
 */
import type { Int4Weight, Int8Weight } from '../../models/weight-formats.ts';
import { quantizeInt4, quantizeInt8 } from '../../models/weight-formats.ts';
import { checkMatrix, CompressionError } from './errors.ts';

export interface Int4GroupParams {
  scale: number;
  zero: number;
}

/** Asymmetric 4-bit grid for the values v[start..end) (stride 1). */
export function int4Params(v: ArrayLike<number>, start: number, end: number): Int4GroupParams {
  let lo = 0;
  let hi = 0;
  for (let i = start; i < end; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  // An all-zero group gets GPTQ's [-1, 1] range so the scale is never 0.
  if (lo === 0 && hi === 0) {
    lo = -1;
    hi = 1;
  }
  const scale = (hi - lo) / 15;
  return { scale, zero: Math.round(-lo / scale) };
}

export const int4Code = (x: number, p: Int4GroupParams): number => Math.min(15, Math.max(0, Math.round(x / p.scale) + p.zero));

export { packInt4 } from '../../models/weight-formats.ts';

/** int8 symmetric, one absmax scale per output row (scale = absmax/127): the kernels' RTN quantizer. */
export function quantizeInt8PerChannel(w: Float32Array, n: number, k: number, name = 'weight'): Int8Weight {
  checkMatrix(name, w, n, k);
  return quantizeInt8(w, n, k, k, name);
}

/** int4 asymmetric RTN with one (scale, zero) per `groupSize` consecutive input columns of each row. */
export function quantizeInt4Group(w: Float32Array, n: number, k: number, groupSize: number, name = 'weight'): Int4Weight {
  checkMatrix(name, w, n, k);
  if (!(Number.isInteger(groupSize) && groupSize > 0))
    throw new CompressionError(`${name}: groupSize ${groupSize} must be a positive integer`);
  return quantizeInt4(w, n, k, groupSize, { sym: false }, name);
}
