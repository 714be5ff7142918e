/**
 * The abstract source of a model's parameters. The model constructor pulls one tensor at a time from it,
 * converts/quantizes and uploads it, and drops the source array, so at most one f32 matrix is held
 * beyond the run-time weights. Implemented by the model folder loader (load.ts) and by synthetic
 * generators (synthetic.ts) for tests and benchmarks.
 */
import type { ModelConfig, Tokenizer } from '../engine/types.ts';
import type { LayerWeight, ModelLinear, LinearRole } from './types.ts';

export interface NormWeights {
  w: Float32Array;
  /** LayerNorm bias (gpt2), null for RMSNorm. */
  b: Float32Array | null;
}

export interface WeightProvider {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  /** Token embedding [vocab, d_model] f32. */
  embedding(): Float32Array;
  /** Learned positions [maxPositions, d_model] (gpt2), else null. */
  posEmbedding(): Float32Array | null;
  norm(layer: number, which: 'attn' | 'mlp'): NormWeights;
  finalNorm(): NormWeights;
  /** One Linear in HF orientation [out, in], any stored format. Roles absent from the family (gpt2 gate) are never asked. */
  linear(layer: number, role: LinearRole): ModelLinear;
  /** Untied unembedding [vocab, d_model], or null when tied to the embedding. */
  unembedding(): LayerWeight | null;
  /** Releases files. */
  close(): void;
}
