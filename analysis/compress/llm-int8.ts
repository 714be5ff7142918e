/**
 * LLM.int8()-style mixed decomposition (Dettmers et al. 2022): input features whose calibration activation
 * magnitude exceeds `threshold` stay in f32; the remaining columns are int8 per output row. The model adds both.
 */
import type { F32Weight } from '../../models/weight-formats.ts';
import type { MixedWeight } from '../../models/types.ts';
import { checkMatrix, CompressionError } from './errors.ts';
import { quantizeInt8PerChannel } from './rtn.ts';

/** `colAbsMax[j]` = max |x_j| over the calibration tokens feeding this matrix. */
export function quantizeLlmInt8(
  w: Float32Array,
  n: number,
  k: number,
  colAbsMax: Float32Array,
  threshold = 6.0,
  name = 'weight',
): MixedWeight {
  checkMatrix(name, w, n, k);
  if (colAbsMax.length !== k) throw new CompressionError(`${name}: colAbsMax has ${colAbsMax.length} values, want ${k}`);
  const cols: number[] = [];
  for (let j = 0; j < k; j++) if (colAbsMax[j] > threshold) cols.push(j);
  const outlierCols = Int32Array.from(cols);
  const outlier = new Float32Array(n * cols.length);
  const rest = Float32Array.from(w);
  for (let r = 0; r < n; r++)
    cols.forEach((j, i) => {
      outlier[r * cols.length + i] = w[r * k + j];
      rest[r * k + j] = 0; // the int8 part's scale is then set by the non-outlier columns only
    });
  const o: F32Weight = { format: 'f32', n, k: cols.length, w: outlier };
  return { format: 'mixed', n, k, main: quantizeInt8PerChannel(rest, n, k, name), outlierCols, outlier: o };
}

/** Dense f32 [n, k] of a mixed weight (reference for tests and AIRD edits). */
export function dequantizeMixed(m: MixedWeight, dequantMain: (w: MixedWeight['main']) => Float32Array): Float32Array {
  const out = dequantMain(m.main);
  const nOut = m.outlierCols.length;
  for (let r = 0; r < m.n; r++) for (let i = 0; i < nOut; i++) out[r * m.k + m.outlierCols[i]] += m.outlier.w[r * nOut + i];
  return out;
}
