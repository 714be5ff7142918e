/**
 * Weight orthogonalization math (docs/method-notes.md §2.6): remove r̂ from everything that writes into the residual
 * stream. Always the rank-1 form (one f64 vector of dot products, then an outer-product update), never a
 * d x d projector. Inputs are f32; dots accumulate in f64.
 */

/** Rows that live in the residual stream ([rows, d]: embeddings, wpe, GPT-2 Conv1D [in, d_out]): m <- m - (m·r̂) r̂. */
export function orthogonalizeRows(m: Float32Array, rhat: ArrayLike<number>): Float32Array {
  const d = rhat.length;
  if (m.length % d !== 0) throw new RangeError(`orthogonalizeRows: ${m.length} values are not rows of ${d}`);
  const out = new Float32Array(m.length);
  for (let o = 0; o < m.length; o += d) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += m[o + i] * rhat[i];
    for (let i = 0; i < d; i++) out[o + i] = m[o + i] - dot * rhat[i];
  }
  return out;
}

/** HF Linear weight [d, dIn] whose output is the residual: W <- W - r̂ (r̂ᵀ W). */
export function orthogonalizeColumns(w: Float32Array, rhat: ArrayLike<number>): Float32Array {
  const d = rhat.length;
  if (w.length % d !== 0) throw new RangeError(`orthogonalizeColumns: ${w.length} values are not ${d} rows`);
  const dIn = w.length / d;
  const v = new Float64Array(dIn); // r̂ᵀ W
  for (let i = 0; i < d; i++) {
    const ri = rhat[i];
    const row = i * dIn;
    for (let j = 0; j < dIn; j++) v[j] += ri * w[row + j];
  }
  const out = new Float32Array(w.length);
  for (let i = 0; i < d; i++) {
    const ri = rhat[i];
    const row = i * dIn;
    for (let j = 0; j < dIn; j++) out[row + j] = w[row + j] - ri * v[j];
  }
  return out;
}

/** Output bias: b <- b - (b·r̂) r̂. */
export function orthogonalizeVector(b: Float32Array, rhat: ArrayLike<number>): Float32Array {
  return orthogonalizeRows(b, rhat);
}
