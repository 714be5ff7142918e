/**
 * Parameter count of a checkpoint from its tensor headers, counting what an unquantized copy of the model
 * would hold (transformers' num_parameters() on the dequantized model):
 *  - a dense tensor counts its elements;
 *  - a packed quantized weight counts its LOGICAL weights N*K: GPTQ `qweight` I32 [K*b/32, N] and AWQ
 *    `qweight` I32 [K, N*b/32] hold 32/b weights per element; compressed-tensors `weight_packed` counts
 *    `weight_shape` (N*K) when stored, else 32/b per element; glassbox `qweight` counts `qshape`'s N*K
 *    (int4 U8 holds 2 per byte, int8 I8 one);
 *  - quantization metadata (scales, zero points, g_idx, shapes, permutations) is not a parameter;
 *  - buffers are not parameters (gpt2 `attn.bias` / `attn.masked_bias` causal masks, `rotary_emb.inv_freq`);
 *  - a tied model counts the embedding once, even if a duplicate `lm_head.weight` is stored.
 */
import type { ModelConfig, WeightSource } from './types.ts';

const QUANT_METADATA = [
  '.scales',
  '.qzeros',
  '.g_idx',
  '.qshape',
  '.g_perm',
  '.weight_scale',
  '.weight_zero_point',
  '.weight_shape',
  '.weight_g_idx',
];
const BUFFERS = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /\.rotary_emb\.inv_freq$/];

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function isQuantMetadata(name: string): boolean {
  return QUANT_METADATA.some((s) => name.endsWith(s));
}

export function isBuffer(name: string): boolean {
  return BUFFERS.some((re) => re.test(name));
}

/** Logical parameter count of one stored tensor (0 for metadata and buffers). */
export function tensorParameters(config: ModelConfig, weights: WeightSource, name: string): number {
  if (isQuantMetadata(name) || isBuffer(name)) return 0;
  if (config.tiedEmbeddings && /(^|\.)lm_head\.weight$/.test(name)) return 0;
  const info = weights.info(name);
  const module = name.replace(/\.(qweight|weight_packed)$/, '');
  const bits = config.quantization?.bits ?? 4;
  if (name.endsWith('.weight_packed')) {
    const shapeName = `${module}.weight_shape`;
    if (weights.has(shapeName)) return productOf(weights, shapeName, 2);
    return numel(info.shape) * (32 / bits);
  }
  if (name.endsWith('.qweight')) {
    if (info.dtype === 'I32') return numel(info.shape) * (32 / bits);
    const shapeName = `${module}.qshape`; // glassbox: [N, K, groupSize]
    if (weights.has(shapeName)) return productOf(weights, shapeName, 2);
    return numel(info.shape) * (info.dtype === 'U8' ? 2 : 1);
  }
  return numel(info.shape);
}

/** Product of the first `count` entries of a small integer tensor (I32 or I64). */
function productOf(weights: WeightSource, name: string, count: number): number {
  const raw = weights.readRaw(name);
  let p = 1;
  for (let i = 0; i < count; i++) p *= Number(raw[i]);
  return p;
}

export function countParameters(config: ModelConfig, weights: WeightSource): number {
  let total = 0;
  for (const name of weights.names()) total += tensorParameters(config, weights, name);
  return total;
}
