/**
 * RoPE inverse frequencies rounded exactly as transformers computes them in float32
 * (modeling_rope_utils): every tensor op is one f32 rounding, and `scalar / tensor` is
 * `tensor.reciprocal() * scalar`. Matching bit for bit matters: at position p the angle error is
 * p * Δinv_freq, and the llama3 fixture's golden stores the expected f32 values.
 */
import type { RopeConfig } from '../engine/types.ts';

const f = Math.fround;

export function hfInvFreq(rope: RopeConfig): Float32Array {
  const { dim, theta, scaling } = rope;
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(theta, f(f(2 * i) / dim))));
  if (scaling.type === 'linear') for (let i = 0; i < half; i++) inv[i] = f(inv[i] / scaling.factor);
  if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositionEmbeddings: old } = scaling;
    const lowWl = old / lo;
    const highWl = old / hi;
    for (let i = 0; i < half; i++) {
      const wl = f(f(1 / inv[i]) * f(2 * Math.PI));
      const scaled = wl > lowWl ? f(inv[i] / factor) : inv[i];
      if (wl < highWl || wl > lowWl) {
        inv[i] = scaled;
        continue;
      }
      const smooth = f(f(f(f(f(1 / wl) * old) - lo)) / f(hi - lo));
      inv[i] = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
    }
  }
  return inv;
}
