/**
 * GPTQ (Frantar et al. 2022) 4-bit, following reference `gptq.py: fasterquant`: columns in blocks of 128,
 * each column rounded to the asymmetric group grid, its error (w - q)/[H⁻¹]_ii spread over the later columns
 * with the upper Cholesky factor of the damped inverse Hessian. Group (scale, zero) are found when a column
 * starts a group, from that group's current (error-compensated) weights. With act-order, columns are processed
 * in decreasing diag(H) order and stored permuted (`perm`) so that each group stays contiguous.
 * One difference from the reference: it reads group parameters from the partly updated in-block weights,
 * where the reference reads the block-start copy; the two coincide when groupSize is a multiple of blockSize.
 */
import type { Int4Weight } from '../../models/weight-formats.ts';
import { checkMatrix, CompressionError } from './errors.ts';
import { permuteSym, prepareHessian, propagateBlockError, workingCopies } from './linalg.ts';
import { int4Code, int4Params, packInt4, type Int4GroupParams } from './rtn.ts';

export interface GptqOptions {
  groupSize?: number; // default 128; -1 = one group per row
  blockSize?: number; // default 128
  percdamp?: number; // default 0.01
  actOrder?: boolean; // default false
}

/** Quantizes W [n, k] given the calibration Hessian H [k, k] (float64, 2/n·XᵀX). */
export function gptqQuantize(w: Float32Array, n: number, k: number, h: Float64Array, opts: GptqOptions = {}, name = 'weight'): Int4Weight {
  checkMatrix(name, w, n, k);
  if (h.length !== k * k) throw new CompressionError(`${name}: Hessian has ${h.length} values, want ${k}x${k}`);
  const groupSize = opts.groupSize === undefined || opts.groupSize === -1 ? (opts.groupSize === -1 ? k : 128) : opts.groupSize;
  if (!(groupSize > 0 && Number.isInteger(groupSize)))
    throw new CompressionError(`${name}: groupSize ${opts.groupSize} must be a positive integer or -1`);
  const blockSize = opts.blockSize ?? 128;
  const { W, H } = workingCopies(w, h, n, k);
  let perm: Int32Array | null = null;
  let Wp: Float64Array = W;
  let Hp: Float64Array = H;
  if (opts.actOrder) {
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => H[b * k + b] - H[a * k + a] || a - b);
    perm = Int32Array.from(order);
    Hp = permuteSym(H, k, perm);
    Wp = new Float64Array(n * k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) Wp[r * k + j] = W[r * k + perm[j]];
  }
  const { hinv } = prepareHessian(Hp, k, opts.percdamp ?? 0.01, name);
  const g = Math.ceil(k / groupSize);
  const codes = new Uint8Array(n * k);
  const scales = new Float32Array(n * g);
  const zeros = new Uint8Array(n * g);
  const params: Int4GroupParams[] = new Array(n);
  const col = new Float64Array(n);
  for (let i1 = 0; i1 < k; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, k);
    const err = new Float64Array(n * (i2 - i1)); // Err1 [n, count]
    for (let i = i1; i < i2; i++) {
      if (i % groupSize === 0) {
        const gi = i / groupSize;
        const end = Math.min(k, i + groupSize);
        for (let r = 0; r < n; r++) {
          const p = int4Params(Wp, r * k + i, r * k + end);
          p.scale = Math.fround(p.scale);
          params[r] = p;
          scales[r * g + gi] = p.scale;
          zeros[r * g + gi] = p.zero;
        }
      }
      const d = hinv[i * k + i];
      for (let r = 0; r < n; r++) {
        const x = Wp[r * k + i];
        const c = int4Code(x, params[r]);
        codes[r * k + i] = c;
        col[r] = (x - (c - params[r].zero) * params[r].scale) / d;
        err[r * (i2 - i1) + (i - i1)] = col[r];
      }
      // Compensate the rest of this block now; later blocks get the block's errors at once below.
      for (let r = 0; r < n; r++) {
        const e = col[r];
        if (e === 0) continue;
        const ro = r * k;
        for (let j = i + 1; j < i2; j++) Wp[ro + j] -= e * hinv[i * k + j];
      }
    }
    propagateBlockError(Wp, err, hinv, n, k, i1, i2);
  }
  return { format: 'int4', n, k, groupSize, packed: packInt4(codes, n, k), scales, zeros, perm };
}
