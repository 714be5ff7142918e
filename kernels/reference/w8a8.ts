/**
 * Plain-TypeScript reference of the LLM.int8() W8A8 matmul (kernels/w8a8/types.ts defines the semantics): written
 * element by element, accumulating in float64, as the executable definition the fast kernel is tested against.
 */
import { GlassboxError } from '../../engine/errors.ts';
import type { W8A8Weight } from '../w8a8/types.ts';

/** Round half to even (torch.round), in float64. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** y [T, N] = LLM.int8(x [T, K], W) (+ bias), and the outlier columns chosen for this call. */
export function w8a8LinearRef(
  w: W8A8Weight,
  x: Float32Array,
  t: number,
  bias?: Float32Array | null,
): { y: Float32Array; outlierCols: number[] } {
  const { n, k } = w;
  const q = w.weight.q;
  const sw = w.weight.scales;
  if (w.weight.groupSize !== k || w.weight.scales.length !== n)
    throw new GlassboxError('w8a8 reference: the weight must have one scale per output row');
  const outlierCols: number[] = [];
  for (let j = 0; j < k; j++) {
    let outlier = false;
    for (let i = 0; i < t; i++) if (Math.abs(x[i * k + j]) > w.threshold) outlier = true;
    if (outlier) outlierCols.push(j);
  }
  const isOutlier = new Set(outlierCols);
  const y = new Float32Array(t * n);
  for (let i = 0; i < t; i++) {
    let amax = 0;
    for (let j = 0; j < k; j++) if (!isOutlier.has(j)) amax = Math.max(amax, Math.abs(x[i * k + j]));
    const sx = Math.fround(amax / 127);
    const xq: number[] = [];
    for (let j = 0; j < k; j++) {
      if (isOutlier.has(j) || sx === 0) xq.push(0);
      else xq.push(Math.max(-127, Math.min(127, roundHalfEven(Math.fround(x[i * k + j] / sx)))));
    }
    for (let r = 0; r < n; r++) {
      let acc = 0; // integer products: exact in float64
      let extra = 0;
      for (let j = 0; j < k; j++) {
        if (isOutlier.has(j)) extra += x[i * k + j] * (q[r * k + j] * sw[r]);
        else acc += xq[j] * q[r * k + j];
      }
      y[i * n + r] = acc * sx * sw[r] + extra + (bias ? bias[r] : 0);
    }
  }
  return { y, outlierCols };
}
