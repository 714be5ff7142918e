/**
 * Public engine types: the normalized model config, weight access, tokenizer. Everything above engine/
 * (models/, analysis/, cli/) talks to checkpoints only through these.
 */

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte length of the tensor's data. */
  byteLength: number;
  /** File that holds it (absolute path). */
  file: string;
}

/** A typed array holding a tensor's raw elements (F16/BF16 as Uint16Array, BOOL/U8 as Uint8Array, I64 as BigInt64Array). */
export type RawArray = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/**
 * Lazy read access to the tensors of one checkpoint (single file or sharded). Opening reads headers only;
 * each read is a positioned read of exactly that tensor's bytes.
 */
export interface WeightSource {
  /** Folder or file it was opened from. */
  readonly path: string;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo; // throws ModelFolderError naming the tensor if absent
  /** Raw elements, no conversion. */
  readRaw(name: string): RawArray;
  /** Any float or integer dtype widened exactly to f32 (bf16/f16 exact; integers converted). */
  readF32(name: string): Float32Array;
  /** Safetensors `__metadata__` of the (first) file. */
  metadata(): Record<string, string>;
  close(): void;
}

export type Family = 'llama' | 'mistral' | 'qwen2' | 'gpt2';

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface RopeConfig {
  theta: number;
  scaling: RopeScaling;
  /** Rotary dims per head (= headDim for all supported families). */
  dim: number;
}

/** Quantization recorded in config.json / quantize_config.json (pre-quantized checkpoints). */
export interface QuantizationConfig {
  method: 'gptq' | 'awq' | 'compressed-tensors' | 'glassbox';
  bits: number;
  groupSize: number; // -1 = one group spanning K
  sym: boolean;
  descAct: boolean;
  /** 'gptq' (v1, zeros stored minus one) or 'gptq_v2' (zeros stored as is). */
  checkpointFormat?: string;
  /** Module name substrings / exact names left unquantized. */
  notConverted: string[];
  raw: Record<string, unknown>;
}

/**
 * Capability flags of a model family. Code outside the family files (models/llama.ts, models/gpt2.ts) and the
 * config/name tables (engine/config.ts, engine/names.ts) branches on these, never on `family`.
 */
export interface ModelCapabilities {
  /** MLP is down(silu(gate(x)) * up(x)) with a `gate` Linear (llama family); false: down(gelu(up(x))) (gpt2). */
  gatedMlp: boolean;
  /**
   * Positions are a learned table added to the token embedding (gpt2 wpe): the model has a position-embedding
   * tensor and cannot run past `maxPositions`. False: RoPE inside attention, no position tensor.
   */
  learnedPositions: boolean;
  /** q, k and v are stored as one fused module (gpt2 c_attn), split at load: they cannot be written back one by one. */
  fusedQkv: boolean;
}

/** One config for every supported family (HF field names normalized). */
export interface ModelConfig {
  family: Family;
  modelType: string;
  architectures: string[];
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  dMlp: number;
  vocabSize: number;
  maxPositions: number;
  norm: 'rms' | 'layer';
  normEps: number;
  act: 'silu' | 'gelu_new';
  tiedEmbeddings: boolean;
  /** q/k/v projections carry biases (qwen2; gpt2 all linears). */
  qkvBias: boolean;
  /** o_proj (gpt2 attn.c_proj) carries a bias. */
  outBias: boolean;
  /** gate/up/down (gpt2 mlp.c_fc, mlp.c_proj) carry biases. */
  mlpBias: boolean;
  rope: RopeConfig | null; // null: learned absolute positions (gpt2)
  /** Effective sliding window (null when unused). */
  slidingWindow: number | null;
  /** What the family's network does, as flags (set by the family's entry in config.ts): test these, never the family name. */
  capabilities: ModelCapabilities;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  torchDtype: string | null;
  quantization: QuantizationConfig | null;
  /** The parsed config.json as given. */
  raw: Record<string, unknown>;
}

/**
 * HF module prefixes for one decoder layer. Append `.weight`, `.bias`, or a quantized format's suffixes
 * (`.qweight`, `.scales`, `.weight_packed`, ...).
 */
export interface LayerModuleNames {
  attnNorm: string;
  mlpNorm: string;
  /** Separate q/k/v modules, or null when fused (gpt2 `c_attn`, see `qkv`). */
  q: string | null;
  k: string | null;
  v: string | null;
  /** Fused q|k|v module (gpt2), else null. */
  qkv: string | null;
  o: string;
  gate: string | null; // null for gpt2 (no gated MLP)
  up: string; // gpt2: c_fc
  down: string; // gpt2: mlp.c_proj
}

export interface ModuleNames {
  embed: string;
  posEmbed: string | null; // gpt2 wpe
  finalNorm: string;
  /** null when tied to the embedding (no lm_head stored). */
  lmHead: string | null;
  layers: LayerModuleNames[];
  /** Linear weights are stored [in, out] (gpt2 Conv1D) instead of [out, in]. */
  conv1d: boolean;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  /** Encode text as HF does (adds BOS iff the tokenizer config says so, unless addSpecialTokens is false). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** True when tokenizer_config.json has a chat_template. */
  readonly hasChatTemplate: boolean;
  /** Render the chat template (messages + add_generation_prompt) to text. */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
  /** Chat-formatted prompt ids for one user instruction, no system prompt, with the generation prompt. */
  encodeChat(instruction: string): number[];
  /**
   * The post-instruction ("end of instruction", EOI) tokens of the chat template: the tokens that follow
   * the user's text, e.g. `<|end|>\n<|assistant|>\n`. Refusal directions are read at these positions.
   */
  postInstructionIds(): number[];
  /** Id of a token string, or null. */
  tokenToId(token: string): number | null;
}

/** An opened HF model folder. */
export interface ModelFolder {
  dir: string;
  config: ModelConfig;
  names: ModuleNames;
  weights: WeightSource;
  /** null when the folder has no tokenizer.json (ids-only use). */
  tokenizer: Tokenizer | null;
  close(): void;
}
