/**
 * Loading a model from an HF folder: a WeightProvider over the opened folder (engine/model-folder.ts,
 * engine/linear-reader.ts), then the DecoderModel built from it on the chosen backend.
 * Pre-quantized checkpoints (GPTQ / AWQ / compressed-tensors / glassbox) keep their int8/int4 weights;
 * f32/f16/bf16 ones are widened to f32 and quantized at load when precision is int8 / int4, or narrowed back to
 * bf16 when precision is bf16 (exactly the stored bits for a bf16 checkpoint; 'auto' picks it for those).
 */
import { readLayerLinear, readLinear } from '../engine/linear-reader.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { ConfigError } from '../engine/errors.ts';
import type { ModelFolder } from '../engine/types.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { DecoderModel } from './decoder-model.ts';
import { sliceRows } from './split-rows.ts';
import type { LinearRole, LoadPrecision, Model, ModelLinear, WeightPrecision } from './types.ts';
import type { NormWeights, WeightProvider } from './weight-provider.ts';

export interface LoadOptions {
  /**
   * Run-time precision of the linears (default f32; 'auto': the checkpoint's dtype, i.e. bf16 for a bf16
   * checkpoint, else f32). A pre-quantized checkpoint keeps its own formats whatever is asked.
   */
  precision?: LoadPrecision;
  /** Backend (default: createBackend(): GLASSBOX_BACKEND, else the fastest available). */
  backend?: Backend;
  /** int4 group size (default 128, clamped to K). */
  groupSize?: number;
  /** Quantize the unembedding with the other linears when precision is int8/int4 (default true). */
  quantizeUnembedding?: boolean;
  /** Keep host-side weights for getLinear/setLinear/clone (default true; see BuildOptions). */
  retainWeights?: boolean;
  /** Run past config.json's max_position_embeddings (RoPE models only; see BuildOptions). */
  allowLongContext?: boolean;
}

export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  return loadModelFromFolder(openModelFolder(dir), opts);
}

/** loadModel over an opened folder (the web app opens its folders from fetched or picked files); closes it. */
export async function loadModelFromFolder(folder: ModelFolder, opts: LoadOptions = {}): Promise<Model> {
  const backend = opts.backend ?? (await createBackend());
  try {
    const prequantized = folder.config.quantization !== null;
    return new DecoderModel(folderProvider(folder), {
      backend,
      // Pre-quantized linears keep their stored format whatever is asked; modules left in f16 stay f32.
      precision: prequantized ? undefined : opts.precision === 'auto' ? checkpointPrecision(folder) : (opts.precision ?? 'f32'),
      groupSize: opts.groupSize,
      quantizeUnembedding: opts.quantizeUnembedding,
      ownsBackend: !opts.backend,
      retainWeights: opts.retainWeights,
      allowLongContext: opts.allowLongContext,
    });
  } catch (e) {
    if (!opts.backend) backend.dispose();
    throw e;
  } finally {
    folder.close();
  }
}

/**
 * The precision a dense checkpoint's linears are stored at: bf16 when every 2-D float tensor is BF16, else f32
 * (f16 is not a subset of bf16, so an f16 checkpoint runs in f32; so does a mixed one).
 */
export function checkpointPrecision(folder: Pick<ModelFolder, 'weights'>): WeightPrecision {
  const { weights } = folder;
  let any = false;
  for (const name of weights.names()) {
    const info = weights.info(name);
    if (info.shape.length !== 2 || !(info.dtype.startsWith('F') || info.dtype === 'BF16')) continue;
    if (info.dtype !== 'BF16') return 'f32';
    any = true;
  }
  return any ? 'bf16' : 'f32';
}

export function folderProvider(folder: ModelFolder): WeightProvider {
  const { config: cfg, names, weights } = folder;
  const norm = (module: string): NormWeights => ({
    w: weights.readF32(`${module}.weight`),
    b: weights.has(`${module}.bias`) ? weights.readF32(`${module}.bias`) : null,
  });
  // gpt2's fused c_attn is read once per layer and split into q, k, v rows.
  let fused: { layer: number; lin: ModelLinear } | null = null;
  const qkvPart = (l: number, role: 'q' | 'k' | 'v'): ModelLinear => {
    const module = names.layers[l].qkv!;
    if (!fused || fused.layer !== l) {
      const r = readLinear(folder, module);
      fused = { layer: l, lin: r };
    }
    const { weight, bias } = fused.lin;
    const qw = cfg.nHeads * cfg.headDim;
    const kw = cfg.nKvHeads * cfg.headDim;
    if (weight.n !== qw + 2 * kw) throw new ConfigError(`${module}: ${weight.n} outputs, config implies ${qw + 2 * kw}`);
    const [r0, r1] = role === 'q' ? [0, qw] : role === 'k' ? [qw, qw + kw] : [qw + kw, qw + 2 * kw];
    if (role === 'v') fused = null;
    return {
      weight: sliceRows(weight as Exclude<typeof weight, { format: 'mixed' | 'w8a8' }>, r0, r1),
      bias: bias ? bias.slice(r0, r1) : null,
    };
  };
  return {
    config: cfg,
    tokenizer: folder.tokenizer,
    embedding: () => weights.readF32(`${names.embed}.weight`),
    posEmbedding: () => (names.posEmbed ? weights.readF32(`${names.posEmbed}.weight`) : null),
    norm: (l, which) => norm(which === 'attn' ? names.layers[l].attnNorm : names.layers[l].mlpNorm),
    finalNorm: () => norm(names.finalNorm),
    linear: (l, role: LinearRole): ModelLinear => {
      const layer = names.layers[l];
      if (layer.qkv && (role === 'q' || role === 'k' || role === 'v')) return qkvPart(l, role);
      const module = layer[role];
      if (!module) throw new ConfigError(`${cfg.modelType} layer ${l} has no ${role} module`);
      return readLayerLinear(folder, module);
    },
    // GPT-2's lm_head is an nn.Linear [vocab, d_model], not a Conv1D: never transpose it.
    unembedding: () => (names.lmHead ? readLinear(folder, names.lmHead, { transposeConv1d: false }).weight : null),
    close: () => folder.close(),
  };
}
