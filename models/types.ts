/**
 * The public model API: forward passes with TransformerLens-named hook points, activation caching, and
 * KV-cached generation. analysis/ uses only this (never kernels/).
 *
 * Hook points, in the order they fire for each forward call:
 *   hook_embed, hook_pos_embed (gpt2 only),
 *   for l in 0..L-1:
 *     blocks.{l}.hook_resid_pre, blocks.{l}.ln1.hook_normalized (input of q/k/v),
 *     blocks.{l}.attn.hook_pattern (only computed when requested), blocks.{l}.attn.hook_z (input of o_proj),
 *     blocks.{l}.hook_attn_out, blocks.{l}.hook_resid_mid, blocks.{l}.ln2.hook_normalized (input of gate/up),
 *     blocks.{l}.mlp.hook_post (input of down_proj), blocks.{l}.hook_mlp_out, blocks.{l}.hook_resid_post,
 *   ln_final.hook_normalized.
 * Activations are [batch, pos, width] row-major Float32Array: width = d_model for resid/attn_out/mlp_out/ln,
 * n_heads*d_head for attn.hook_z, d_mlp for mlp.hook_post; hook_pattern is [batch, n_heads, q_pos, k_pos].
 * The ln/z/post points are the inputs of the Linear layers: compression calibration reads them.
 */
import type { ModelConfig, Tokenizer } from '../engine/types.ts';
import type { LinearWeight, MixedLinearWeight } from '../kernels/types.ts';
import type { W8A8Weight } from '../kernels/w8a8/types.ts';
import type { SharedPrefixCache } from './shared-prefix.ts';

/** The seven Linear roles of a decoder block (gpt2's fused c_attn is split into q, k, v at load). */
export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';

/**
 * LLM.int8()-style mixed decomposition: input columns `outlierCols` run in f32 (`outlier` is [N, nOut]),
 * the rest on the int8 kernel (`main` has those columns zeroed); the two results are added. Defined with the
 * other runtime layouts in kernels/types.ts; engine/glassbox-format.ts stores it on disk.
 */
export type MixedWeight = MixedLinearWeight;

/** LLM.int8() W8A8 with run-time outlier columns (kernels/w8a8/types.ts). */
export type { W8A8Weight } from '../kernels/w8a8/types.ts';

/** Weight of one Linear as the model runs it, HF orientation [out, in]. */
export type LayerWeight = LinearWeight | MixedWeight | W8A8Weight;

export interface ModelLinear {
  weight: LayerWeight;
  bias: Float32Array | null;
}

export interface HookContext {
  /** Full hook point name, e.g. `blocks.3.hook_resid_pre`. */
  name: string;
  /** Layer index, or null for hook_embed / hook_pos_embed / ln_final.hook_normalized. */
  layer: number | null;
  batch: number;
  /** Number of positions in this call (the new tokens only during cached generation). */
  pos: number;
  /** Width of the last dimension (d_model, or k_pos for hook_pattern). */
  width: number;
  /** Absolute position of each (batch, pos) row [batch * pos]; -1 at left padding. */
  positions: Int32Array;
  /** 0 for the prompt forward, 1.. for each generated token during generate(). */
  step: number;
}

/**
 * Reads or replaces an activation. Return nothing to leave it unchanged (mutating `act` in place is also
 * allowed), or return a new array of the same length to replace it.
 */
export type HookFn = (act: Float32Array, ctx: HookContext) => Float32Array | void;

/**
 * What a hook computes, declared so that a device backend can run it as a kernel without reading the
 * activation back (webgpu). `fn` must compute the same thing; CPU backends always call `fn`.
 *  - projectOut: every row x becomes x - (x·direction) direction (direction a unit vector).
 *  - addVector: every row x becomes x + coeff·vector; promptOnly: only at the prompt forward (step 0).
 *  - patch: rows (or column ranges) copied in from a cached run (PatchOp).
 */
export type HookOp =
  | { kind: 'projectOut'; direction: Float32Array }
  | { kind: 'addVector'; vector: Float32Array; coeff: number; promptOnly: boolean }
  | PatchOp;

/**
 * Activation patching from a cached run: at the prompt forward (step 0) only, for each target quadruple
 * (row, pos, srcRow, col) of `targets`, act[(row·t + pos)·width + col, + cols) = source[srcRow·width + col, + cols).
 * `source` is [srcRows, width] (a cached run's activation at the same hook point, e.g. [1, T, width]); `cols`
 * null means the whole row (col must then be 0). A device backend keeps `source` on the device across calls.
 */
export interface PatchOp {
  kind: 'patch';
  source: Float32Array;
  targets: Int32Array;
  cols: number | null;
}

export interface Hook {
  /** Hook point name or glob (`*` matches within a dot-separated segment run, e.g. `blocks.*.hook_resid_pre`). */
  name: string;
  fn: HookFn;
  /**
   * The same computation as `fn`, declared (optional): lets webgpu run it on the device. A hook with an op keeps
   * no reference to the array it is shown, so the CPU path may reuse that memory (models/step-buffers.ts); a hook
   * without one may keep it, and its forward uses fresh arrays. Being row-wise, such a hook's `fn` may also be shown
   * a call's rows in two parts (a prefix every prompt shares, as one row, then the rest: models/shared-prefix.ts) and
   * padding rows the MLP skipped as zeros (models/pad-rows.ts), where the caller sees the same results either way.
   */
  op?: HookOp;
}

export interface ForwardOptions {
  /** Hook point names/globs whose activations to return in `cache`. */
  cache?: string[];
  /**
   * Positions to keep in cached activations (default: all). Negative values count from the end of the
   * (left-padded) sequence: -1 is the last position.
   */
  cachePositions?: number[];
  hooks?: Hook[];
  /** Which logits to return: every position (default) or only the last one ([batch, 1, vocab]). */
  logits?: 'all' | 'last' | 'none';
  /** Throw NonFiniteError on NaN/Inf in any activation (default true). */
  checkFinite?: boolean;
  /**
   * Start at block `layer` from a given residual instead of the embedding (default: layer 0 from the embedding,
   * the ordinary forward). See StartResidual.
   */
  start?: StartResidual;
  /**
   * Run only the blocks below this layer (TransformerLens's `stop_at_layer`): blocks `stopAtLayer` and up, the final
   * norm and the unembedding do not run, so `logits` must be 'none' and no hook or cache may name a point there.
   * Read what the run reached through `cache` (`blocks.{stopAtLayer - 1}.hook_resid_post` is the residual entering
   * block `stopAtLayer`). With `start`, the two bound the blocks that run. Default: every block.
   */
  stopAtLayer?: number;
  /**
   * Keeps the keys and values of the prefix every prompt shares (models/shared-prefix.ts) for the next forwards that
   * pass the same cache: a pass over many batches runs the prefix once. Reused only where the result is the same
   * bits (same model weights, prefix, hooks and their numbers, start rows, stop layer). Default: none.
   */
  prefixCache?: SharedPrefixCache;
}

/**
 * The residual stream entering block `layer`, i.e. blocks.{layer}.hook_resid_pre before its hooks run:
 * [batch, T, d_model] for the same prompts, left-padded as forward pads them (T = the longest prompt), exactly the
 * layout forward's cache returns for that point (all positions). With a causal model, layer `layer` and above need
 * nothing else from below (their attention reads only keys and values they compute themselves), so a forward from
 * it gives the full run's results: runs that differ only at layers >= `layer` share everything below it.
 * The array is copied (hooks cannot edit it). Points below `layer` do not run: no hook or cache glob may name one.
 */
export interface StartResidual {
  layer: number;
  residual: Float32Array;
}

export interface CachedActivation {
  /** [batch, nPositions, width] */
  data: Float32Array;
  shape: number[];
}

export interface ForwardResult {
  /** [batch, T or 1, vocab]; empty when logits = 'none'. */
  logits: Float32Array;
  logitsShape: number[];
  /** Requested activations by hook name. */
  cache: Map<string, CachedActivation>;
  /** Left-padding length per batch row. */
  padding: number[];
}

export interface GenerateOptions {
  maxNewTokens?: number; // default 64
  /** 0 = greedy (default). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Stop tokens (default: the model's eos ids). */
  stopTokens?: number[];
  hooks?: Hook[];
  /** Called after each decoding step with the new token of every row (-1 for finished rows). */
  onToken?: (tokens: number[], step: number) => void;
  checkFinite?: boolean;
  /** Aborts generation (between steps) when it fires. */
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** Generated ids per prompt, stop token excluded. */
  tokens: number[][];
  /** Per prompt: 'stop' (hit a stop token) or 'length'. */
  finish: ('stop' | 'length')[];
  tokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
}

export type WeightPrecision = 'f32' | 'bf16' | 'int8' | 'int4';

/** What a loader is asked for: a run-time precision, or 'auto' = the checkpoint's own dtype (bf16 stays bf16). */
export type LoadPrecision = WeightPrecision | 'auto';

/** Which of a block's two norms: before attention (input of q/k/v) or before the MLP (input of gate/up). */
export type NormWhich = 'attn' | 'mlp';

/** A block norm's parameters [d_model]: RMSNorm weight (b null) or LayerNorm weight + bias (gpt2). */
export interface ModelNorm {
  w: Float32Array;
  b: Float32Array | null;
}

export interface Model {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  /** Run-time weight precision of the matmuls. */
  readonly precision: WeightPrecision;
  /** Backend that runs the kernels (wasm-simd, webasm, cpu, webgpu, reference). */
  readonly backendName: string;
  /** Every hook point name in firing order (hook_pattern included). */
  hookNames(): string[];
  /** One forward pass over prompts of possibly different lengths (left-padded internally). */
  forward(prompts: number[][], opts?: ForwardOptions): Promise<ForwardResult>;
  /** Batched KV-cached generation; hooks stay active on every generated token. */
  generate(prompts: number[][], opts?: GenerateOptions): Promise<GenerateResult>;
  /** The weight of one Linear as the model holds it (no copy: do not mutate). */
  getLinear(layer: number, role: LinearRole): ModelLinear;
  /** Replace one Linear's weight (uploaded to the backend once, here). */
  setLinear(layer: number, role: LinearRole, w: ModelLinear): void;
  /** A block norm's parameters as the model holds them (no copy: do not mutate). */
  getNorm(layer: number, which: NormWhich): ModelNorm;
  /** Replace a block norm's parameters (same shapes; b must be given exactly when the family's norm has a bias). */
  setNorm(layer: number, which: NormWhich, norm: ModelNorm): void;
  /**
   * The final norm's parameters (ln_final / model.norm; no copy: do not mutate). Available on inference-only
   * models too: the logit lens applies it to every layer's residual stream.
   */
  getFinalNorm(): ModelNorm;
  /** Token embedding [vocab, d_model] f32 (no copy). */
  getEmbedding(): Float32Array;
  setEmbedding(table: Float32Array): void;
  /** Unembedding [vocab, d_model] (the embedding itself when tied). */
  getUnembedding(): LayerWeight;
  setUnembedding(w: LayerWeight): void;
  /** A model with the same config/tokenizer sharing no mutable state (weights copied), for editing. */
  clone(): Model;
  dispose(): void;
}
