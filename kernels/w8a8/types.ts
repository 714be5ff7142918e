/**
 * LLM.int8() (Dettmers et al. 2022) as a runtime weight layout: W8A8 with the mixed-precision decomposition.
 *  - the weight is int8 with one absmax scale per output row ("vector-wise"): `weight` is an Int8Weight with
 *    groupSize = K, the only copy of the weights (no f32 copy is kept);
 *  - at run time, input columns j with max_t |x[t, j]| > threshold over the rows of the call are outliers: they
 *    are multiplied in f32 with the dequantized int8 weight columns (as bitsandbytes does when its weights are
 *    stored in int8);
 *  - every other column is quantized per token (one absmax scale per row of x, "vector-wise") to int8, and the
 *    int8 × int8 products are accumulated in int32, then scaled by s_x[t] · s_w[n].
 * Rounding: x / s_x rounds half to even (torch.round), clamped to [-127, 127]; scales are f32.
 */
import type { Int8Weight } from '../types.ts';

export interface W8A8Weight {
  format: 'w8a8';
  n: number;
  k: number;
  /** Per-output-row int8 weight (groupSize = K, no permutation). */
  weight: Int8Weight;
  /** Activation magnitude above which an input column stays in f32 for that call (LLM.int8: 6). */
  threshold: number;
}
