/**
 * The logit lens' normalisation of one layer's residual stream, TransformerLens `apply_ln_to_stack` semantics.
 *   lensNormalize({ x, final, norm, kind, eps, d, scale }): Float32Array   — rows [T, d] in, rows [T, d] out.
 *
 * scale 'final' (TransformerLens' default, recompute_ln=False): every layer's residual at position p is divided by the
 * final residual's norm scale at p — the scale ln_final really applied there (its cached `ln_final.hook_scale`),
 * i.e. RMSNorm: x_l·w / sqrt(mean(x_final²) + eps); LayerNorm: (x_l − mean(x_l))·w / sqrt(var(x_final) + eps) + b.
 * Earlier layers (smaller norm) therefore decode to flatter distributions, as in TransformerLens.
 * scale 'own' (recompute_ln=True): each residual is normalised by its own scale, i.e. ln_final applied as-is.
 * Computed in float64, rounded to f32 once.
 */
export interface LensNormInput {
  /** The residual stream being decoded, [T, d]. */
  x: Float32Array;
  /** The final residual stream (input of ln_final), [T, d]; its per-position scale is used with scale 'final'. */
  final: Float32Array;
  norm: { w: Float32Array; b: Float32Array | null };
  kind: 'rms' | 'layer';
  eps: number;
  d: number;
  scale: 'final' | 'own';
}

export function lensNormalize(inp: LensNormInput): Float32Array {
  const { x, final, norm, kind, eps, d } = inp;
  const rows = x.length / d;
  const out = new Float32Array(x.length);
  for (let p = 0; p < rows; p++) {
    const o = p * d;
    const xMean = kind === 'layer' ? meanOf(x, o, d) : 0;
    const src = inp.scale === 'final' ? final : x;
    const sMean = kind === 'layer' ? meanOf(src, o, d) : 0;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (src[o + i] - sMean) ** 2;
    const scale = Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) out[o + i] = ((x[o + i] - xMean) / scale) * norm.w[i] + (norm.b ? norm.b[i] : 0);
  }
  return out;
}

function meanOf(a: Float32Array, o: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += a[o + i];
  return s / d;
}
