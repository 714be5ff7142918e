/**
 * compressed-tensors (llm-compressor / vLLM, `quant_method: "compressed-tensors"`) -> our layouts, exactly.
 *
 * `pack-quantized` (4-bit): weight_packed I32 [N, ceil(K/8)] packed along K, LSB first (k = 8c + i in bits
 * 4i..4i+3 of word c), stored = q + 8; weight_scale [N, groups] (group strategy) or [N, 1] (channel);
 * weight_zero_point I32 [ceil(N/8), groups] packed along N (dim 0), stored = zp + 8, only when asymmetric;
 * weight_shape I64 or I32 [2] = [N, K]; weight_g_idx I32 [K] only with actorder "group".
 * w = (stored - 8 - (stored_zp - 8)) * s: the stored nibble is directly our unsigned code, and our zero
 * point is the stored zp nibble (8 when symmetric, i.e. zeros null).
 *
 * `int-quantized` / `naive-quantized` (8-bit): weight I8 [N, K]; weight_scale [N, groups]; optional
 * weight_zero_point I8/I32 [N, groups] (asymmetric: q - zp must fit int8, else a ModelFolderError).
 */
import { nGroups } from '../../kernels/formats.ts';
import { packInt4 } from '../../kernels/quantize.ts';
import type { Int4Weight, Int8Weight } from '../../kernels/types.ts';
import { bitField, expectShape, formatError, groupPermutation, intVector, type RawTensor } from './common.ts';

export interface CtPackedTensors {
  weightPacked: RawTensor<Int32Array>;
  /** bf16/f16 scales widened to f32. */
  weightScale: RawTensor<Float32Array>;
  weightShape: RawTensor<BigInt64Array | Int32Array>;
  weightZeroPoint?: RawTensor<Int32Array> | null;
  weightGIdx?: RawTensor<Int32Array> | null;
}

export interface CtInt8Tensors {
  weight: RawTensor<Int8Array>;
  weightScale: RawTensor<Float32Array>;
  weightZeroPoint?: RawTensor<Int8Array | Int32Array> | null;
  weightGIdx?: RawTensor<Int32Array> | null;
}

export interface CtOptions {
  bits: number;
  /** Group size of the `group` strategy; null / -1 for `channel` (one group spanning K). */
  groupSize: number | null;
}

/** Group size from the scale's column count: channel strategy (1 column) spans K. */
function resolveGroupSize(module: string, k: number, scaleCols: number, groupSize: number | null): number {
  if (scaleCols === 1 && (groupSize === null || groupSize === -1 || groupSize >= k)) return k;
  const gs = groupSize ?? -1;
  if (!(Number.isInteger(gs) && gs > 0)) throw formatError(module, 'weight_scale', `${scaleCols} scale columns but no group size`);
  if (nGroups(k, gs) !== scaleCols)
    throw formatError(module, 'weight_scale', `${scaleCols} columns, expected ceil(${k}/${gs}) = ${nGroups(k, gs)}`);
  return gs;
}

export function convertCtPacked(module: string, t: CtPackedTensors, opts: CtOptions): Int4Weight {
  if (opts.bits !== 4) throw formatError(module, 'weight_packed', `pack-quantized ${opts.bits}-bit is not supported (4 only)`);
  const dims = intVector(module, 'weight_shape', t.weightShape);
  if (dims.length !== 2 || !dims.every((d) => Number.isInteger(d) && d > 0))
    throw formatError(module, 'weight_shape', `[${dims.join(', ')}] is not a 2-D shape`);
  const [n, k] = dims;
  const words = Math.ceil(k / 8);
  expectShape(module, 'weight_packed', t.weightPacked, [n, words]);
  const [, scaleCols] = expectShape(module, 'weight_scale', t.weightScale, [n, null]);
  const groupSize = resolveGroupSize(module, k, scaleCols, opts.groupSize);
  const g = scaleCols;
  const perm = t.weightGIdx
    ? groupPermutation(module, 'weight_g_idx', (expectShape(module, 'weight_g_idx', t.weightGIdx, [k]), t.weightGIdx.data), groupSize, g)
    : null;
  const col = new Int32Array(k);
  for (let j = 0; j < k; j++) col[perm ? perm[j] : j] = j;

  const codes = new Uint8Array(n * k);
  const wp = t.weightPacked.data;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < words; c++) {
      const word = wp[r * words + c];
      for (let i = 0; i < 8 && c * 8 + i < k; i++) codes[r * k + col[c * 8 + i]] = bitField(word, 4, i);
    }
  let zeros: Uint8Array | null = null;
  if (t.weightZeroPoint) {
    expectShape(module, 'weight_zero_point', t.weightZeroPoint, [Math.ceil(n / 8), g]);
    zeros = new Uint8Array(n * g);
    for (let r = 0; r < n; r++)
      for (let gi = 0; gi < g; gi++) zeros[r * g + gi] = bitField(t.weightZeroPoint.data[(r >> 3) * g + gi], 4, r & 7);
  }
  return { format: 'int4', n, k, groupSize, packed: packInt4(codes, n, k), scales: t.weightScale.data.slice(), zeros, perm };
}

export function convertCtInt8(module: string, t: CtInt8Tensors, opts: CtOptions): Int8Weight {
  if (opts.bits !== 8) throw formatError(module, 'weight', `int-quantized ${opts.bits}-bit is not supported (8 only)`);
  const [n, k] = expectShape(module, 'weight', t.weight, [null, null]);
  const [, g] = expectShape(module, 'weight_scale', t.weightScale, [n, null]);
  const groupSize = resolveGroupSize(module, k, g, opts.groupSize);
  const perm = t.weightGIdx
    ? groupPermutation(module, 'weight_g_idx', (expectShape(module, 'weight_g_idx', t.weightGIdx, [k]), t.weightGIdx.data), groupSize, g)
    : null;
  const zp = t.weightZeroPoint ? (expectShape(module, 'weight_zero_point', t.weightZeroPoint, [n, g]), t.weightZeroPoint.data) : null;
  const q = new Int8Array(n * k);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const src = perm ? perm[j] : j;
      const v = t.weight.data[r * k + src] - (zp ? zp[r * g + Math.floor(j / groupSize)] : 0);
      if (v < -128 || v > 127) throw formatError(module, 'weight_zero_point', `q - zp = ${v} at [${r}, ${src}] does not fit int8`);
      q[r * k + j] = v;
    }
  return { format: 'int8', n, k, groupSize, q, scales: t.weightScale.data.slice(), perm };
}
