/**
 * The one pass that bounds every size in config.json by the tensors actually present, before anything is
 * allocated. config.json is untrusted text: `num_hidden_layers: 1e9` would build a billion-entry name table,
 * `head_dim: 1e9` a 2 GB RoPE table, `hidden_size: 1e15` a RangeError deep in a kernel. After this pass every
 * dimension the model uses (d_model, heads x head_dim, d_mlp, vocab, positions of a learned wpe, layers) is
 * backed by tensor bytes on disk, so allocations are bounded by the checkpoint's own size.
 *
 * Checked: the layer count against the tensor count (before the name table is built); embedding rank and
 * shape [vocab, d_model]; GPT-2 wpe [n_positions, d_model]; every norm weight/bias [d_model]; dense (float)
 * Linear weights exactly [out, in] ([in, out] for GPT-2 Conv1D); packed (quantized) Linears by bytes: at least
 * out x in x 4 bits (the smallest format Glassbox reads), which is what bounds a shape claimed by the config.
 */
import { ConfigError } from './errors.ts';
import { isFloatDType } from './dtype.ts';
import { label, quote } from './safetensors-header.ts';
import type { ModelConfig, ModuleNames, WeightSource } from './types.ts';

/** Each decoder layer stores several tensors; a config claiming more layers than tensors is refused at once. */
export function checkLayerCount(config: ModelConfig, weights: WeightSource, file = 'config.json'): void {
  const count = weights.names().length;
  if (config.nLayers > count) {
    const field = 'n_layer' in config.raw ? 'n_layer' : 'num_hidden_layers';
    throw new ConfigError(
      `${file}: ${field} ${config.nLayers} exceeds the ${count} tensors in ${label(weights.path)} (each layer stores several)`,
    );
  }
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;

export function checkTensorShapes(config: ModelConfig, names: ModuleNames, weights: WeightSource): void {
  const { dModel: d, nHeads, nKvHeads, headDim: hd, dMlp, vocabSize: V } = config;
  const where = label(weights.path);
  const fail = (tensor: string, what: string): never => {
    throw new ConfigError(`${where}: tensor ${quote(tensor)} ${what}`);
  };
  const exact = (tensor: string, want: number[], fields: string) => {
    const { shape } = weights.info(tensor);
    if (shape.length !== want.length)
      fail(tensor, `has rank ${shape.length} (shape ${shapeText(shape)}), want ${shapeText(want)} from config.json ${fields}`);
    if (shape.some((x, i) => x !== want[i])) fail(tensor, `has shape ${shapeText(shape)}, config.json ${fields} imply ${shapeText(want)}`);
  };
  const dField = 'n_embd' in config.raw ? 'n_embd' : 'hidden_size';
  exact(`${names.embed}.weight`, [V, d], `vocab_size, ${dField}`);
  if (names.posEmbed) {
    const t = `${names.posEmbed}.weight`;
    const { shape } = weights.info(t);
    if (shape.length !== 2 || shape[1] !== d) fail(t, `has shape ${shapeText(shape)}, want [n_positions, ${d}]`);
    if (shape[0] < config.maxPositions) fail(t, `has ${shape[0]} positions, config.json n_positions is ${config.maxPositions}`);
  }
  const norm = (module: string) => {
    exact(`${module}.weight`, [d], dField);
    if (weights.has(`${module}.bias`)) exact(`${module}.bias`, [d], dField);
  };
  const moduleTensors = (module: string) => weights.names().filter((n) => n.startsWith(`${module}.`));
  const conv1d = names.conv1d;
  const linear = (module: string | null, n: number, k: number, fields: string, transposed = conv1d) => {
    if (!module) return;
    const w = `${module}.weight`;
    if (weights.has(w) && isFloatDType(weights.info(w).dtype) && weights.info(w).shape.length === 2) {
      exact(w, transposed ? [k, n] : [n, k], fields);
    } else {
      // Packed formats: the bytes on disk bound the shape the config claims.
      const bytes = moduleTensors(module).reduce((s, t) => s + weights.info(t).byteLength, 0);
      if (bytes * 2 < n * k) fail(module, `holds ${bytes} bytes, too few for the [${n}, ${k}] weight config.json ${fields} imply`);
    }
    if (weights.has(`${module}.bias`)) exact(`${module}.bias`, [n], fields);
  };
  const heads = `num_attention_heads x head_dim, ${dField}`;
  const kvHeads = `num_key_value_heads x head_dim, ${dField}`;
  const mlp = `intermediate_size, ${dField}`;
  for (const l of names.layers) {
    norm(l.attnNorm);
    norm(l.mlpNorm);
    linear(l.qkv, nHeads * hd + 2 * nKvHeads * hd, d, `n_head x head size x 3, ${dField}`);
    linear(l.q, nHeads * hd, d, heads);
    linear(l.k, nKvHeads * hd, d, kvHeads);
    linear(l.v, nKvHeads * hd, d, kvHeads);
    linear(l.o, d, nHeads * hd, heads);
    linear(l.gate, dMlp, d, mlp);
    linear(l.up, dMlp, d, mlp);
    linear(l.down, d, dMlp, mlp);
  }
  norm(names.finalNorm);
  // GPT-2's lm_head is an nn.Linear, never a Conv1D.
  linear(names.lmHead, V, d, `vocab_size, ${dField}`, false);
}
