/**
 * AIRD weight edits (docs/method-notes.md §1.7; a labelled reconstruction: the paper's formula is not known).
 * W is an HF Linear [d_model, d_in] writing into the residual stream; r̂ a unit vector in d_model.
 * Float64 accumulation, one f32 rounding.
 */
import { CompressionError } from '../compress/errors.ts';

export const AIRD_LABEL = 'AIRD (reconstruction)';

function rowDot(w: ArrayLike<number>, r: ArrayLike<number>, d: number, dIn: number): Float64Array {
  const v = new Float64Array(dIn);
  for (let i = 0; i < d; i++) {
    const ri = r[i];
    if (ri === 0) continue;
    for (let j = 0; j < dIn; j++) v[j] += ri * w[i * dIn + j];
  }
  return v;
}

function check(what: string, w: Float32Array, d: number): number {
  if (w.length % d !== 0) throw new CompressionError(`${what}: ${w.length} values are not ${d} rows`);
  return w.length / d;
}

/** Variant A: W_c + r̂ (r̂ᵀ (W_o − W_c)) — the compressed weights with the original's component along r̂. */
export function airdProjectionRestore(wc: Float32Array, wo: Float32Array, rhat: ArrayLike<number>, what = 'AIRD'): Float32Array {
  const d = rhat.length;
  const dIn = check(what, wc, d);
  if (wo.length !== wc.length) throw new CompressionError(`${what}: original has ${wo.length} values, compressed ${wc.length}`);
  const vo = rowDot(wo, rhat, d, dIn);
  const vc = rowDot(wc, rhat, d, dIn);
  const out = new Float32Array(wc.length);
  for (let i = 0; i < d; i++) for (let j = 0; j < dIn; j++) out[i * dIn + j] = wc[i * dIn + j] + rhat[i] * (vo[j] - vc[j]);
  return out;
}

/** Variant B: (I − r̂_c r̂_cᵀ) W_c + r̂ r̂ᵀ W_o — drop the compressed model's own direction, insert the original's. */
export function airdDirectionSwap(
  wc: Float32Array,
  wo: Float32Array,
  rhat: ArrayLike<number>,
  rhatC: ArrayLike<number>,
  what = 'AIRD',
): Float32Array {
  const d = rhat.length;
  const dIn = check(what, wc, d);
  if (rhatC.length !== d) throw new CompressionError(`${what}: compressed direction has ${rhatC.length} values, want ${d}`);
  const vo = rowDot(wo, rhat, d, dIn);
  const vc = rowDot(wc, rhatC, d, dIn);
  const out = new Float32Array(wc.length);
  for (let i = 0; i < d; i++) for (let j = 0; j < dIn; j++) out[i * dIn + j] = wc[i * dIn + j] - rhatC[i] * vc[j] + rhat[i] * vo[j];
  return out;
}
