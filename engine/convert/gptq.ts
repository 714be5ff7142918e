/**
 * GPTQ (AutoGPTQ / GPTQModel, `quant_method: "gptq"`) -> our int4 / int8 layouts, exactly.
 *
 * File layout (b bits, G group size, -1 = one group): qweight I32 [K*b/32, N] packed along K, word [r, n]
 * holds k = r*(32/b) + i in bits [b*i, b*i+b); qzeros I32 [ceil(K/G), N*b/32] packed along N the same way;
 * scales [ceil(K/G), N]; g_idx I32 [K]. w[n,k] = s[g,n] * (q[k,n] - z[g,n]) with g = g_idx[k] and
 * z = (field + 1) & (2^b - 1) for checkpoint_format "gptq" (v1 stores z - 1), z = field for "gptq_v2".
 *
 * 4-bit (and 2-bit, whose codes and zeros fit a nibble unchanged) -> Int4Weight (zeros null when every zero is 8, i.e. symmetric). 8-bit -> Int8Weight holding q - z,
 * exact when every q - z fits in int8 (always for symmetric, z = 128); otherwise a ModelFolderError.
 * Act-order (non-monotonic g_idx) -> columns reordered so groups are contiguous, with `perm` set.
 */
import { nGroups } from '../../kernels/formats.ts';
import { packInt4 } from '../../kernels/quantize.ts';
import type { Int4Weight, Int8Weight } from '../../kernels/types.ts';
import { bitField, expectShape, formatError, groupPermutation, type RawTensor } from './common.ts';

export interface GptqTensors {
  qweight: RawTensor<Int32Array>;
  qzeros: RawTensor<Int32Array>;
  /** f16 scales widened to f32. */
  scales: RawTensor<Float32Array>;
  /** Absent in some old checkpoints: then g = floor(k / G). */
  gIdx?: RawTensor<Int32Array> | null;
}

export interface GptqOptions {
  bits: number;
  /** -1 = one group spanning K. */
  groupSize: number;
  /** 'gptq' (v1, default) or 'gptq_v2'. */
  checkpointFormat?: string;
}

export function convertGptq(module: string, t: GptqTensors, opts: GptqOptions): Int4Weight | Int8Weight {
  const b = opts.bits;
  if (b !== 2 && b !== 4 && b !== 8) throw formatError(module, 'qweight', `GPTQ ${b}-bit is not supported (2, 4 or 8)`);
  const fmt = opts.checkpointFormat ?? 'gptq';
  if (fmt !== 'gptq' && fmt !== 'gptq_v2') throw formatError(module, 'qweight', `GPTQ checkpoint_format "${fmt}" is not supported`);
  const perWord = 32 / b;
  const mask = (1 << b) - 1;
  const [rows, n] = expectShape(module, 'qweight', t.qweight, [null, null]);
  const k = t.gIdx ? t.gIdx.data.length : rows * perWord;
  if (Math.ceil(k / perWord) !== rows) throw formatError(module, 'qweight', `${rows} rows for K = ${k} at ${b} bits`);
  const groupSize = opts.groupSize === -1 ? k : opts.groupSize;
  if (!(Number.isInteger(groupSize) && groupSize > 0)) throw formatError(module, 'qweight', `bad group size ${opts.groupSize}`);
  const g = nGroups(k, groupSize);
  const zCols = Math.ceil(n / perWord);
  expectShape(module, 'qzeros', t.qzeros, [g, zCols]);
  expectShape(module, 'scales', t.scales, [g, n]);
  const gIdx = t.gIdx ? (expectShape(module, 'g_idx', t.gIdx, [k]), t.gIdx.data) : null;
  const perm = gIdx ? groupPermutation(module, 'g_idx', gIdx, groupSize, g) : null;
  // Stored column of each input channel.
  const col = new Int32Array(k);
  for (let j = 0; j < k; j++) col[perm ? perm[j] : j] = j;

  // Zero points and scales to our [N, groups] order.
  const zeros = new Int32Array(n * g);
  const scales = new Float32Array(n * g);
  const offset = fmt === 'gptq' ? 1 : 0;
  for (let gi = 0; gi < g; gi++)
    for (let c = 0; c < n; c++) {
      const field = bitField(t.qzeros.data[gi * zCols + Math.floor(c / perWord)], b, c % perWord);
      zeros[c * g + gi] = (field + offset) & mask;
      scales[c * g + gi] = t.scales.data[gi * n + c];
    }

  const qw = t.qweight.data;
  if (b <= 4) {
    const codes = new Uint8Array(n * k);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < n; c++) {
        const word = qw[r * n + c];
        for (let i = 0; i < perWord; i++) {
          const kk = r * perWord + i;
          if (kk < k) codes[c * k + col[kk]] = bitField(word, b, i);
        }
      }
    const symmetric = zeros.every((z) => z === 8);
    return {
      format: 'int4',
      n,
      k,
      groupSize,
      packed: packInt4(codes, n, k),
      scales,
      zeros: symmetric ? null : Uint8Array.from(zeros),
      perm,
    };
  }
  const q = new Int8Array(n * k);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      const word = qw[r * n + c];
      for (let i = 0; i < perWord; i++) {
        const kk = r * perWord + i;
        if (kk >= k) break;
        const j = col[kk];
        const v = bitField(word, 8, i) - zeros[c * g + Math.floor(j / groupSize)];
        if (v < -128 || v > 127)
          throw formatError(module, 'qzeros', `asymmetric 8-bit value q - z = ${v} at [${c}, ${kk}] does not fit int8`);
        q[c * k + j] = v;
      }
    }
  return { format: 'int8', n, k, groupSize, q, scales, perm };
}
