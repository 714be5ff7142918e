/**
 * HF tensor-name maps: which module prefixes hold the embedding, norms, and each layer's Linears, for the
 * layouts transformers saves (`model.layers.N.*` for llama/mistral/qwen2; `[transformer.]h.N.*` for gpt2).
 * The expected tensors are verified up front so a truncated or foreign checkpoint fails at open time with
 * the first missing tensor named, not halfway through a forward pass.
 */
import { ModelFolderError } from './errors.ts';
import type { Family, LayerModuleNames, ModelConfig, ModuleNames, WeightSource } from './types.ts';

/** A Linear's weight is stored under one of these suffixes: dense, GPTQ/AWQ, compressed-tensors pack-quantized. */
export const LINEAR_WEIGHT_SUFFIXES = ['.weight', '.qweight', '.weight_packed'] as const;

/** The name table, keyed by model_type: adding a family adds a row here (and in config.ts). */
const FAMILY_NAMES: Record<Family, (config: ModelConfig, weights: WeightSource) => ModuleNames> = {
  llama: llamaNames,
  mistral: llamaNames,
  qwen2: llamaNames,
  gpt2: gpt2Names,
};

export function moduleNames(config: ModelConfig, weights: WeightSource): ModuleNames {
  const names = FAMILY_NAMES[config.family](config, weights);
  verify(config, names, weights);
  return names;
}

function llamaNames(config: ModelConfig, weights: WeightSource): ModuleNames {
  const layers: LayerModuleNames[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      attnNorm: `${p}.input_layernorm`,
      mlpNorm: `${p}.post_attention_layernorm`,
      q: `${p}.self_attn.q_proj`,
      k: `${p}.self_attn.k_proj`,
      v: `${p}.self_attn.v_proj`,
      qkv: null,
      o: `${p}.self_attn.o_proj`,
      gate: `${p}.mlp.gate_proj`,
      up: `${p}.mlp.up_proj`,
      down: `${p}.mlp.down_proj`,
    });
  }
  return {
    embed: 'model.embed_tokens',
    posEmbed: null,
    finalNorm: 'model.norm',
    lmHead: lmHead(config, weights, 'lm_head'),
    layers,
    conv1d: false,
  };
}

function gpt2Names(config: ModelConfig, weights: WeightSource): ModuleNames {
  // openai-community/gpt2 stores bare names (wte, h.0...); save_pretrained of GPT2LMHeadModel adds `transformer.`.
  const prefix = weights.has('transformer.wte.weight') ? 'transformer.' : '';
  const layers: LayerModuleNames[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `${prefix}h.${l}`;
    layers.push({
      attnNorm: `${p}.ln_1`,
      mlpNorm: `${p}.ln_2`,
      q: null,
      k: null,
      v: null,
      qkv: `${p}.attn.c_attn`,
      o: `${p}.attn.c_proj`,
      gate: null,
      up: `${p}.mlp.c_fc`,
      down: `${p}.mlp.c_proj`,
    });
  }
  // The `attn.bias` / `attn.masked_bias` causal-mask buffers of real GPT-2 files are simply never looked up.
  return {
    embed: `${prefix}wte`,
    posEmbed: `${prefix}wpe`,
    finalNorm: `${prefix}ln_f`,
    lmHead: lmHead(config, weights, 'lm_head'),
    layers,
    conv1d: true,
  };
}

/** Tied models use the embedding even if a (duplicate) lm_head is stored; untied ones must store it. */
function lmHead(config: ModelConfig, weights: WeightSource, name: string): string | null {
  if (config.tiedEmbeddings) return null;
  if (!hasLinear(weights, name)) {
    throw new ModelFolderError(`${weights.path}: missing tensor ${name}.weight (config.json has tie_word_embeddings false)`);
  }
  return name;
}

export function hasLinear(weights: WeightSource, module: string): boolean {
  return LINEAR_WEIGHT_SUFFIXES.some((s) => weights.has(module + s));
}

/** Every tensor a forward pass will read, in load order; throws naming the first one absent. */
function verify(config: ModelConfig, names: ModuleNames, weights: WeightSource): void {
  const missing = (tensor: string): never => {
    throw new ModelFolderError(`${weights.path}: missing tensor ${tensor}`);
  };
  const need = (tensor: string) => {
    if (!weights.has(tensor)) missing(tensor);
  };
  const needLinear = (module: string, bias: boolean) => {
    if (!hasLinear(weights, module)) missing(`${module}.weight`);
    if (bias) need(`${module}.bias`);
  };
  const layerNorm = config.norm === 'layer';
  const needNorm = (module: string) => {
    need(`${module}.weight`);
    if (layerNorm) need(`${module}.bias`);
  };
  need(`${names.embed}.weight`);
  if (names.posEmbed) need(`${names.posEmbed}.weight`);
  for (const l of names.layers) {
    needNorm(l.attnNorm);
    if (l.qkv) needLinear(l.qkv, config.qkvBias);
    for (const m of [l.q, l.k, l.v]) if (m) needLinear(m, config.qkvBias);
    needLinear(l.o, config.outBias);
    needNorm(l.mlpNorm);
    if (l.gate) needLinear(l.gate, config.mlpBias);
    needLinear(l.up, config.mlpBias);
    needLinear(l.down, config.mlpBias);
  }
  needNorm(names.finalNorm);
  if (names.lmHead) needLinear(names.lmHead, false);
}
