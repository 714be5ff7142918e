/**
 * The LLM.int8() W8A8 matmul on the CPU in JavaScript (semantics: ./types.ts; executable definition:
 * kernels/reference/w8a8.ts). Integer dot products run on Int8Array rows into an int32 accumulator (exact for
 * K < 2^31 / 127², i.e. K < 133,000); only the per-call outlier columns touch f32. No wasm path yet: this is
 * the documented JS path the quantized model runs on, from its int8 weights alone.
 */
import { GlassboxError } from '../../engine/errors.ts';
import type { W8A8Weight } from './types.ts';

const MAX_K = Math.floor(2 ** 31 / (127 * 127)) - 1;

/** Round half to even of a float (torch.round); |v| ≤ 127.5 here. */
function rne(v: number): number {
  const r = Math.round(v); // half up
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

export function checkW8A8(w: W8A8Weight, where = 'w8a8'): void {
  const { n, k, weight } = w;
  if (
    weight.format !== 'int8' ||
    weight.n !== n ||
    weight.k !== k ||
    weight.groupSize !== k ||
    weight.scales.length !== n ||
    weight.q.length !== n * k ||
    weight.perm
  )
    throw new GlassboxError(`${where}: expected an int8 [${n}, ${k}] weight with one scale per output row and no permutation`);
  if (!(w.threshold > 0)) throw new GlassboxError(`${where}: outlier threshold ${w.threshold} must be > 0`);
  if (k > MAX_K) throw new GlassboxError(`${where}: K = ${k} would overflow the int32 accumulator (max ${MAX_K})`);
}

/** y [T, N] = LLM.int8(x [T, K], W) (+ bias). `outlierCols` is how many input columns ran in f32 in this call. */
export function w8a8Linear(
  w: W8A8Weight,
  x: Float32Array,
  t: number,
  bias?: Float32Array | null,
): { y: Float32Array; outlierCols: number } {
  const { n, k, threshold } = w;
  const q = w.weight.q;
  const sw = w.weight.scales;
  if (x.length !== t * k) throw new GlassboxError(`w8a8: input has ${x.length} values, want ${t}x${k}`);
  // 1. Outlier input columns of this call.
  const outlier = new Uint8Array(k);
  for (let i = 0; i < t; i++) {
    const o = i * k;
    for (let j = 0; j < k; j++) if (x[o + j] > threshold || x[o + j] < -threshold) outlier[j] = 1;
  }
  const cols: number[] = [];
  for (let j = 0; j < k; j++) if (outlier[j]) cols.push(j);
  // 2. Per-token int8 activations over the other columns.
  const xq = new Int8Array(t * k);
  const sx = new Float32Array(t);
  for (let i = 0; i < t; i++) {
    const o = i * k;
    let amax = 0;
    for (let j = 0; j < k; j++) {
      const a = Math.abs(x[o + j]);
      if (!outlier[j] && a > amax) amax = a;
    }
    const s = Math.fround(amax / 127);
    sx[i] = s;
    if (s === 0) continue;
    for (let j = 0; j < k; j++) {
      if (outlier[j]) continue;
      const v = rne(Math.fround(x[o + j] / s));
      xq[o + j] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  // 3. int8 × int8 → int32, scaled; 4. outlier columns in f32 against the dequantized int8 columns.
  const y = new Float32Array(t * n);
  const xo = new Float32Array(cols.length);
  for (let i = 0; i < t; i++) {
    const xb = i * k;
    for (let c = 0; c < cols.length; c++) xo[c] = x[xb + cols[c]];
    const si = sx[i];
    for (let r = 0; r < n; r++) {
      const wb = r * k;
      let acc = 0;
      for (let j = 0; j < k; j++) acc = (acc + xq[xb + j] * q[wb + j]) | 0;
      let extra = 0;
      for (let c = 0; c < cols.length; c++) extra += xo[c] * q[wb + cols[c]];
      y[i * n + r] = acc * si * sw[r] + extra * sw[r] + (bias ? bias[r] : 0);
    }
  }
  return { y, outlierCols: cols.length };
}
