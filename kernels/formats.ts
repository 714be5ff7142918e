/**
 * Weight formats — the one file every quantizer, converter and backend agrees on.
 * See kernels/types.ts for the layouts (f32 / int8 / int4 / perm). This file holds their reference
 * `dequantize` and size checks; around it:
 *  - kernels/quantize.ts: RTN quantizers into these layouts (int8 symmetric absmax/127; int4 asymmetric
 *    min/max over a range that includes 0, or symmetric absmax/7 with z = 8), fake-quantize helpers, nibble
 *    pack/unpack. Any group size; nGroups = ceil(K / G), the last group may be partial.
 *  - engine/convert/{gptq,awq,compressed-tensors}.ts: exact converters from other projects' checkpoint
 *    layouts (they read files and run no kernel, so they live on the engine side). GPTQ act-order becomes
 *    `perm` (a stable sort of the input channels by g_idx, so each group is contiguous); 8-bit GPTQ/CT
 *    becomes int8 holding q - z.
 *  - engine/glassbox-format.ts: our saved format, these layouts stored as they are:
 *      <m>.qweight I8 [N, K] (int8) or U8 [N, ceil(K/2)] (int4 nibbles), <m>.scales F32 [N, nGroups],
 *      <m>.qzeros U8 [N, nGroups] (int4 asymmetric only), <m>.qshape I32 [3] = [N, K, G],
 *      <m>.g_perm I32 [K] (only with perm); f32 modules as plain <m>.weight F32 [N, K];
 *      config.json quantization_config {quant_method: 'glassbox', bits, group_size, sym, format_version: 1}.
 *  - engine/linear-reader.ts: readLinear(folder, module) picks the right one from the tensors present.
 * The mixed int8 + f32 layout (LLM.int8()) is MixedLinearWeight in kernels/types.ts.
 * The whole path from a checkpoint file to a kernel: kernels/README.md "From checkpoint file to kernel".
 */
import type { Bf16Weight, F32Weight, Int4Weight, Int8Weight, LinearWeight } from './types.ts';

export const nGroups = (k: number, groupSize: number): number => Math.ceil(k / groupSize);

/** Throws (with the weight's name) when array sizes disagree with n, k, groupSize. */
export function checkWeight(w: LinearWeight, name = 'weight'): void {
  const fail = (what: string) => {
    throw new RangeError(`${name}: ${w.format} weight [${w.n}, ${w.k}] has ${what}`);
  };
  if (!(w.n > 0 && w.k > 0 && Number.isInteger(w.n) && Number.isInteger(w.k))) fail('non-positive dims');
  if (w.perm && w.perm.length !== w.k) fail(`perm of length ${w.perm.length}`);
  if (w.format === 'f32' || w.format === 'bf16') {
    if (w.w.length !== w.n * w.k) fail(`${w.w.length} values`);
    return;
  }
  if (!(w.groupSize > 0)) fail(`groupSize ${w.groupSize}`);
  const g = nGroups(w.k, w.groupSize);
  if (w.scales.length !== w.n * g) fail(`${w.scales.length} scales (want ${w.n * g})`);
  if (w.format === 'int8') {
    if (w.q.length !== w.n * w.k) fail(`${w.q.length} int8 values`);
  } else {
    if (w.packed.length !== w.n * Math.ceil(w.k / 2)) fail(`${w.packed.length} packed bytes`);
    if (w.zeros && w.zeros.length !== w.n * g) fail(`${w.zeros.length} zero points`);
  }
}

/** Stored bytes of a weight (what one matvec must stream). */
export function weightBytes(w: LinearWeight): number {
  if (w.format === 'f32') return w.w.length * 4;
  if (w.format === 'bf16') return w.w.length * 2;
  const extra = w.scales.length * 4 + (w.format === 'int4' && w.zeros ? w.zeros.length : 0);
  return (w.format === 'int8' ? w.q.length : w.packed.length) + extra;
}

/** Reference dequantization to a dense f32 [N, K] in the original input-channel order (perm undone). */
export function dequantize(w: LinearWeight): Float32Array {
  const { n, k } = w;
  const out = new Float32Array(n * k);
  if (w.format === 'f32') out.set(w.w);
  else if (w.format === 'bf16') bf16Widen(w.w, out);
  else if (w.format === 'int8') {
    const g = nGroups(k, w.groupSize);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) out[r * k + c] = w.q[r * k + c] * w.scales[r * g + Math.floor(c / w.groupSize)];
  } else {
    const g = nGroups(k, w.groupSize);
    const rowBytes = Math.ceil(k / 2);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < k; c++) {
        const byte = w.packed[r * rowBytes + (c >> 1)];
        const q = c & 1 ? byte >> 4 : byte & 15;
        const gi = r * g + Math.floor(c / w.groupSize);
        const z = w.zeros ? w.zeros[gi] : 8;
        out[r * k + c] = (q - z) * w.scales[gi];
      }
  }
  if (!w.perm) return out;
  // Column j of the stored matrix multiplies x[perm[j]]: scatter back to original order.
  const orig = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) orig[r * k + w.perm[j]] = out[r * k + j];
  return orig;
}

/** bf16 bit patterns -> f32 (exact: the bf16 bits are the f32's top 16 bits). */
export function bf16Widen(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return out;
}

/** f32 -> bf16 bit patterns, round to nearest even (NaN stays NaN). The dense weight a `bf16` run uses. */
export function bf16Narrow(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const s = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < s.length; i++) {
    const x = s[i];
    // NaN: keep sign and top payload, force the quiet bit so truncation cannot turn it into an infinity.
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40;
    // RNE: add 0x7fff plus the lowest kept bit; a carry into the exponent is the correct round-up (to Inf too).
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** A bf16 weight as the f32 weight it stands for (exact). */
export const widenBf16Weight = (w: Bf16Weight): F32Weight => ({ format: 'f32', n: w.n, k: w.k, w: bf16Widen(w.w), perm: w.perm });

export type { Bf16Weight, F32Weight, Int4Weight, Int8Weight, LinearWeight };
