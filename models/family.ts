/**
 * What a model family is, in one object: each family file (llama.ts, gpt2.ts) exports one FamilyDescriptor and
 * families.ts keys them by config.json `model_type` (as mlx-lm keeps one file per architecture). The forward
 * loop (decoder-model.ts) asks the descriptor how to embed, which block to run and where the context ends;
 * code outside models/ tests `config.capabilities` (engine/types.ts) instead. Nothing branches on the name.
 */
import type { Family, ModelConfig } from '../engine/types.ts';
import type { ForwardCtx, LayerParams } from './forward-context.ts';
import type { LinearRole } from './types.ts';

/** The input tables: token embedding [vocab, d_model] and, for learned positions, [maxPositions, d_model]. */
export interface EmbeddingTables {
  tokens: Float32Array;
  positions: Float32Array | null;
}

/** ids [batch·t] -> x [batch·t, d_model] (the residual stream entering block 0). */
export type EmbedFn = (ctx: ForwardCtx, tables: EmbeddingTables, ids: Int32Array) => Promise<Float32Array>;

/** One decoder block: resid [batch·t, d_model] -> resid [batch·t, d_model], appending layer l's keys/values to ctx.kv. */
export type BlockFn = (ctx: ForwardCtx, layer: number, params: LayerParams, resid: Float32Array) => Promise<Float32Array>;

/** The family-specific fields of a synthetic (seeded random-weight) config: see synthetic.ts. */
export type SyntheticFamilyFields = Pick<ModelConfig, 'nKvHeads' | 'norm' | 'normEps' | 'act' | 'qkvBias' | 'outBias' | 'mlpBias' | 'rope'>;

export interface FamilyDescriptor {
  /** config.json `model_type` values this descriptor serves (the registry's keys). */
  readonly modelTypes: readonly Family[];
  /** Input embedding: the token table alone, or token + learned position tables added. */
  readonly embedding: 'token' | 'token+learned-positions';
  /** Where position enters: RoPE on q and k inside attention, or the learned table at the input. */
  readonly positions: 'rope' | 'learned';
  /** The block, in order (both families so far are pre-norm residual blocks). */
  readonly blockLayout: string;
  /** Block and final norm (config.norm carries the same value). */
  readonly norm: 'rms' | 'layer';
  /** MLP kind: down(silu(gate) * up) or down(gelu_new(up)). */
  readonly mlp: 'gated-silu' | 'gelu';
  /**
   * What bounds the context: 'max-positions' = config.maxPositions is a hard limit (a learned table has no row
   * past it); 'sliding-window-only' = RoPE extrapolates, only an enabled sliding window (not implemented) stops a run.
   */
  readonly contextLimit: 'max-positions' | 'sliding-window-only';
  /** The Linears of one block, in load order. */
  readonly linearRoles: readonly LinearRole[];
  /** The HF module of each role, relative to the layer prefix (engine/names.ts is the table the loader reads). */
  readonly linearNames: Readonly<Partial<Record<LinearRole, string>>>;
  /** The Linears that write into the residual stream (weight orthogonalization and AIRD edit these). */
  readonly residualWriters: readonly LinearRole[];
  /** transformers' default of tie_word_embeddings for this family (config.json may override it). */
  readonly tiedEmbeddingsDefault: boolean;
  readonly embed: EmbedFn;
  readonly block: BlockFn;
  /** Family-specific fields of a synthetic config for `modelType` (tests, benchmarks). */
  syntheticFields(modelType: Family, shape: { nHeads: number; nKvHeads: number; headDim: number }): SyntheticFamilyFields;
}
