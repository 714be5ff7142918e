/**
 * AutoAWQ GEMM (`quant_method: "awq"`, `version: "gemm"`, 4-bit) -> our Int4Weight, exactly.
 *
 * File layout: qweight I32 [K, N/8] packed along N (the output dim); nibble slot i (bits 4i..4i+3) of word c
 * holds column 8c + [0,2,4,6,1,3,5,7][i]; qzeros I32 [K/G, N/8] packed the same way, zeros stored as is
 * (0..15); scales [K/G, N]. w[n,k] = (q[k,n] - z[k/G,n]) * s[k/G,n]. Other AWQ versions (gemv, exllama,
 * marlin) use other layouts and are rejected by the caller.
 */
import { nGroups } from '../../kernels/formats.ts';
import { packInt4 } from '../../kernels/quantize.ts';
import type { Int4Weight } from '../../kernels/types.ts';
import { bitField, expectShape, formatError, type RawTensor } from './common.ts';

/** Nibble slot that holds column j (mod 8) of a word: AutoAWQ's AWQ_REVERSE_ORDER. */
export const AWQ_SLOT_OF_COLUMN = [0, 4, 1, 5, 2, 6, 3, 7] as const;

export interface AwqTensors {
  qweight: RawTensor<Int32Array>;
  qzeros: RawTensor<Int32Array>;
  /** f16 scales widened to f32. */
  scales: RawTensor<Float32Array>;
}

export function convertAwq(module: string, t: AwqTensors, opts: { bits: number; groupSize: number }): Int4Weight {
  if (opts.bits !== 4) throw formatError(module, 'qweight', `AWQ ${opts.bits}-bit is not supported (4 only)`);
  const [k, words] = expectShape(module, 'qweight', t.qweight, [null, null]);
  const [, n] = expectShape(module, 'scales', t.scales, [null, null]);
  if (words !== Math.ceil(n / 8)) throw formatError(module, 'qweight', `${words} words per row for N = ${n}`);
  const groupSize = opts.groupSize === -1 ? k : opts.groupSize;
  if (!(Number.isInteger(groupSize) && groupSize > 0)) throw formatError(module, 'qweight', `bad group size ${opts.groupSize}`);
  const g = nGroups(k, groupSize);
  expectShape(module, 'scales', t.scales, [g, n]);
  expectShape(module, 'qzeros', t.qzeros, [g, words]);

  const nibble = (data: Int32Array, row: number, c: number) => bitField(data[row * words + (c >> 3)], 4, AWQ_SLOT_OF_COLUMN[c & 7]);
  const codes = new Uint8Array(n * k);
  for (let kk = 0; kk < k; kk++) for (let c = 0; c < n; c++) codes[c * k + kk] = nibble(t.qweight.data, kk, c);
  const zeros = new Uint8Array(n * g);
  const scales = new Float32Array(n * g);
  for (let gi = 0; gi < g; gi++)
    for (let c = 0; c < n; c++) {
      zeros[c * g + gi] = nibble(t.qzeros.data, gi, c);
      scales[c * g + gi] = t.scales.data[gi * n + c];
    }
  return { format: 'int4', n, k, groupSize, packed: packInt4(codes, n, k), scales, zeros };
}
