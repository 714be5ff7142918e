/**
 * config.json -> ModelConfig: one normalized config for every supported family (llama, mistral, qwen2, gpt2).
 * Defaults follow the transformers config classes (LlamaConfig, MistralConfig, Qwen2Config, GPT2Config) for
 * fields a saved config.json may omit; fields that define the network's shape are required, because a
 * silently defaulted hidden_size would load the wrong model.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import type { Family, ModelCapabilities, ModelConfig, RopeConfig } from './types.ts';
import { parseQuantization } from './config-quant.ts';
import { fieldReader, type FieldReader } from './config-fields.ts';

/**
 * The config table, keyed by model_type: how each family's config.json reads into the normalized shape, and
 * the family's capability flags. Adding a family adds a row here (plus its name map in names.ts and its
 * descriptor file in models/); nothing else branches on the family name.
 */
interface FamilyConfigEntry {
  shape: (f: FieldReader) => Shape;
  capabilities: ModelCapabilities;
}

const LLAMA_CAPABILITIES: ModelCapabilities = { gatedMlp: true, learnedPositions: false, fusedQkv: false };
const GPT2_CAPABILITIES: ModelCapabilities = { gatedMlp: false, learnedPositions: true, fusedQkv: true };

const FAMILY_CONFIGS: Record<Family, FamilyConfigEntry> = {
  llama: { shape: (f) => llamaShape(f, 'llama'), capabilities: LLAMA_CAPABILITIES },
  mistral: { shape: (f) => llamaShape(f, 'mistral'), capabilities: LLAMA_CAPABILITIES },
  qwen2: { shape: (f) => llamaShape(f, 'qwen2'), capabilities: LLAMA_CAPABILITIES },
  gpt2: { shape: gpt2Shape, capabilities: GPT2_CAPABILITIES },
};

export const SUPPORTED_MODEL_TYPES: readonly Family[] = Object.keys(FAMILY_CONFIGS) as Family[];

/** The capability flags of a supported model_type (a fresh copy). */
export function familyCapabilities(family: Family): ModelCapabilities {
  return { ...FAMILY_CONFIGS[family].capabilities };
}

/** Normalize a parsed config.json. `file` names the source in error messages. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file}: expected a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const f = fieldReader(obj, file);
  const modelType = f.str('model_type', null);
  if (modelType === null) {
    throw new ConfigError(`${file}: missing field model_type (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${file}: unsupported model_type "${modelType}" (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const family = modelType as Family;
  const shape = FAMILY_CONFIGS[family].shape(f);
  const quantization = obj.quantization_config == null ? null : parseQuantization(obj.quantization_config, file);
  const torchDtype = f.str('torch_dtype', null) ?? f.str('dtype', null);
  return {
    family,
    modelType,
    architectures: f.strList('architectures'),
    ...shape,
    capabilities: familyCapabilities(family),
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: f.intList('eos_token_id'),
    padTokenId: f.optInt('pad_token_id'),
    torchDtype,
    quantization,
    raw: obj,
  };
}

type Shape = Omit<
  ModelConfig,
  | 'family'
  | 'modelType'
  | 'architectures'
  | 'capabilities'
  | 'bosTokenId'
  | 'eosTokenIds'
  | 'padTokenId'
  | 'torchDtype'
  | 'quantization'
  | 'raw'
>;

function headGeometry(f: FieldReader, dModel: number, nHeads: number, nKvHeads: number, explicitHeadDim: number | null) {
  const file = f.file;
  if (explicitHeadDim === null && dModel % nHeads !== 0) {
    throw new ConfigError(`${file}: hidden size ${dModel} is not divisible by num_attention_heads ${nHeads} (and no head_dim is given)`);
  }
  if (nHeads % nKvHeads !== 0) {
    throw new ConfigError(`${file}: num_key_value_heads ${nKvHeads} does not divide num_attention_heads ${nHeads}`);
  }
  return explicitHeadDim ?? dModel / nHeads;
}

function llamaShape(f: FieldReader, family: Family): Shape {
  const file = f.file;
  const dModel = f.posInt('hidden_size');
  const nHeads = f.posInt('num_attention_heads');
  const nKvHeads = f.posInt('num_key_value_heads', nHeads);
  const headDim = headGeometry(f, dModel, nHeads, nKvHeads, f.optPosInt('head_dim'));
  const act = f.str('hidden_act', 'silu');
  if (act !== 'silu' && act !== 'swish') {
    throw new ConfigError(`${file}: unsupported hidden_act "${act}" for ${family} (supported: silu)`);
  }
  const isQwen = family === 'qwen2';
  const isLlama = family === 'llama';
  // transformers defaults: Llama/Mistral rms_norm_eps 1e-6, Qwen2 1e-6; max positions 2048 / 4096*32 / 32768.
  const defaultMaxPos = isLlama ? 2048 : family === 'mistral' ? 4096 * 32 : 32768;
  const attentionBias = isLlama ? f.bool('attention_bias', false) : false;
  const mlpBias = isLlama ? f.bool('mlp_bias', false) : false;
  return {
    nLayers: f.posInt('num_hidden_layers'),
    dModel,
    nHeads,
    nKvHeads,
    headDim,
    dMlp: f.posInt('intermediate_size'),
    vocabSize: f.posInt('vocab_size'),
    maxPositions: f.posInt('max_position_embeddings', defaultMaxPos),
    norm: 'rms',
    normEps: f.posNum('rms_norm_eps', 1e-6),
    act: 'silu',
    // LlamaConfig, MistralConfig and Qwen2Config all default tie_word_embeddings to false.
    tiedEmbeddings: f.bool('tie_word_embeddings', false),
    // Qwen2 hard-codes bias=True on q/k/v and False on o; Llama's attention_bias covers q/k/v and o alike.
    qkvBias: isQwen || attentionBias,
    outBias: attentionBias,
    mlpBias,
    rope: llamaRope(f, headDim),
    slidingWindow: slidingWindow(f, family),
  };
}

function llamaRope(f: FieldReader, headDim: number): RopeConfig {
  const file = f.file;
  const theta = f.posNum('rope_theta', 10000);
  const partial = f.posNum('partial_rotary_factor', 1);
  if (partial !== 1) throw new ConfigError(`${file}: unsupported partial_rotary_factor ${partial}`);
  const rs = f.raw.rope_scaling;
  if (rs === null || rs === undefined) return { theta, scaling: { type: 'none' }, dim: headDim };
  if (typeof rs !== 'object' || Array.isArray(rs)) throw new ConfigError(`${file}: rope_scaling must be an object or null`);
  const s = fieldReader(rs as Record<string, unknown>, `${file}: rope_scaling`);
  // transformers accepts both keys (`type` is the legacy one) and prefers rope_type.
  const type = s.str('rope_type', null) ?? s.str('type', null) ?? 'default';
  switch (type) {
    case 'default':
    case 'none':
      return { theta, scaling: { type: 'none' }, dim: headDim };
    case 'linear':
      return { theta, scaling: { type: 'linear', factor: s.posNum('factor') }, dim: headDim };
    case 'llama3':
      return {
        theta,
        scaling: {
          type: 'llama3',
          factor: s.posNum('factor'),
          lowFreqFactor: s.posNum('low_freq_factor'),
          highFreqFactor: s.posNum('high_freq_factor'),
          originalMaxPositionEmbeddings: s.posInt('original_max_position_embeddings'),
        },
        dim: headDim,
      };
    default:
      throw new ConfigError(`${file}: unsupported rope_scaling type ${type} (supported: default, linear, llama3)`);
  }
}

function slidingWindow(f: FieldReader, family: Family): number | null {
  const file = f.file;
  if (family === 'llama') return null;
  if (family === 'mistral') {
    // MistralConfig defaults sliding_window to 4096; Mistral v0.2+ checkpoints write null to disable it.
    if (!('sliding_window' in f.raw)) return 4096;
    return f.optPosInt('sliding_window');
  }
  // qwen2: the window applies only with use_sliding_window, and only to layers >= max_window_layers.
  if (!f.bool('use_sliding_window', false)) return null;
  const window = f.optPosInt('sliding_window');
  if (window === null) return null;
  const nLayers = f.posInt('num_hidden_layers');
  const maxWindowLayers = f.int('max_window_layers', 28);
  if (maxWindowLayers >= nLayers) return null;
  if (maxWindowLayers <= 0) return window;
  throw new ConfigError(
    `${file}: unsupported per-layer sliding window (use_sliding_window with max_window_layers ${maxWindowLayers} < num_hidden_layers ${nLayers})`,
  );
}

function gpt2Shape(f: FieldReader): Shape {
  const file = f.file;
  const dModel = f.posInt('n_embd');
  const nHeads = f.posInt('n_head');
  const headDim = headGeometry(f, dModel, nHeads, nHeads, null);
  const act = f.str('activation_function', 'gelu_new');
  // gelu_pytorch_tanh is the same tanh approximation as gelu_new.
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    throw new ConfigError(`${file}: unsupported activation_function "${act}" for gpt2 (supported: gelu_new)`);
  }
  return {
    nLayers: f.posInt('n_layer'),
    dModel,
    nHeads,
    nKvHeads: nHeads,
    headDim,
    dMlp: f.optPosInt('n_inner') ?? 4 * dModel,
    vocabSize: f.posInt('vocab_size'),
    maxPositions: f.posInt('n_positions', 1024),
    norm: 'layer',
    normEps: f.posNum('layer_norm_epsilon', 1e-5),
    act: 'gelu_new',
    // GPT2Config (PretrainedConfig) defaults tie_word_embeddings to true.
    tiedEmbeddings: f.bool('tie_word_embeddings', true),
    qkvBias: true,
    outBias: true,
    mlpBias: true,
    rope: null,
    slidingWindow: null,
  };
}

/** Read and normalize `dir/config.json` (plus `quantize_config.json` for GPTQ checkpoints that keep it apart). */
export function readConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  const raw = readJsonFile(file, ConfigError);
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const obj = raw as Record<string, unknown>;
    const qfile = path.join(dir, 'quantize_config.json');
    if (obj.quantization_config == null && existsSync(qfile)) {
      const q = readJsonFile(qfile, ConfigError);
      if (!q || typeof q !== 'object' || Array.isArray(q)) throw new ConfigError(`${qfile}: expected a JSON object`);
      // AutoGPTQ's quantize_config.json often omits quant_method: its presence alone means GPTQ.
      const qc = { quant_method: 'gptq', ...(q as Record<string, unknown>) };
      return parseConfig({ ...obj, quantization_config: qc }, file);
    }
  }
  return parseConfig(raw, file);
}

/** Parse a JSON file, turning absence and syntax errors into `ErrorClass` naming the file. */
export function readJsonFile(file: string, ErrorClass: new (m: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ErrorClass(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ErrorClass(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
