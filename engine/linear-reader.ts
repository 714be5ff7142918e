/**
 * Reads any Linear layer of a checkpoint as one of our LinearWeight layouts (HF orientation [out, in]):
 * dense F32/F16/BF16 `.weight` (gpt2 Conv1D [in, out] transposed), or the quantized tensors of the folder's
 * quantization method (GPTQ, AWQ GEMM, compressed-tensors, glassbox), converted exactly. Which path is taken
 * follows the tensors present, so modules a quantizer left alone (`modules_to_not_convert`, `ignore`,
 * or simply unlisted ones such as lm_head) are read as dense weights.
 */
import { ModelFolderError } from './errors.ts';
import { isGlassboxMixed, isGlassboxW8A8, readGlassboxLinear, readGlassboxMixed, readGlassboxW8A8 } from './glassbox-format.ts';
import type { W8A8Weight } from '../kernels/w8a8/types.ts';
import type { DType, ModelFolder, QuantizationConfig, RawArray, WeightSource } from './types.ts';
import { convertAwq } from './convert/awq.ts';
import type { RawTensor } from './convert/common.ts';
import { convertCtInt8, convertCtPacked } from './convert/compressed-tensors.ts';
import { convertGptq } from './convert/gptq.ts';
import { checkWeight } from '../kernels/formats.ts';
import type { LinearWeight, MixedLinearWeight } from '../kernels/types.ts';

export interface ReadLinearOptions {
  /** Transpose a stored [in, out] weight to [out, in]; default: the folder's names.conv1d (gpt2). */
  transposeConv1d?: boolean;
}

export interface LinearRead {
  weight: LinearWeight;
  bias: Float32Array | null;
}

/** The parts of a ModelFolder readLinear uses (a ModelFolder is one). */
export type LinearSource = Pick<ModelFolder, 'weights'> & {
  config: { quantization: QuantizationConfig | null };
  names: { conv1d: boolean };
};

const FLOAT_DTYPES: DType[] = ['F32', 'F16', 'BF16'];

/**
 * True when the quantization config says `module` was left unquantized: AWQ (and GPTQ's
 * modules_to_not_convert) match by substring, compressed-tensors `ignore` by exact name or `re:` regex
 * (matched at the start of the name, as Python's re.match does).
 */
export function isNotConverted(quant: QuantizationConfig | null, module: string): boolean {
  if (!quant) return false;
  return quant.notConverted.some((entry) => {
    if (quant.method !== 'compressed-tensors') return module.includes(entry);
    if (entry.startsWith('re:')) return new RegExp(`^(?:${entry.slice(3)})`).test(module);
    return entry === module;
  });
}

/** A block Linear as a model runs it: readLinear's layouts, or a glassbox-saved LLM.int8() mixed weight. */
export interface LayerLinearRead {
  weight: LinearWeight | MixedLinearWeight | W8A8Weight;
  bias: Float32Array | null;
}

/** Like readLinear, and also reads the mixed int8 + f32-outlier modules of glassbox folders. */
export function readLayerLinear(folder: LinearSource, module: string, opts: ReadLinearOptions = {}): LayerLinearRead {
  const quant = folder.config.quantization;
  if (quant?.method === 'glassbox' && isGlassboxW8A8(folder.weights, module)) {
    const weight = readGlassboxW8A8(folder.weights, module, quant);
    return { weight, bias: readBias(folder.weights, module, weight.n) };
  }
  if (!(quant?.method === 'glassbox' && isGlassboxMixed(folder.weights, module))) return readLinear(folder, module, opts);
  const weight = readGlassboxMixed(folder.weights, module, quant);
  try {
    checkWeight(weight.main, `${module}`);
    checkWeight(weight.outlier, `${module}.outlier_weight`);
  } catch (e) {
    throw new ModelFolderError(`${folder.weights.path}: ${(e as Error).message}`);
  }
  return { weight, bias: readBias(folder.weights, module, weight.n) };
}

export function readLinear(folder: LinearSource, module: string, opts: ReadLinearOptions = {}): LinearRead {
  const { weights } = folder;
  const quant = folder.config.quantization;
  const has = (suffix: string) => weights.has(`${module}${suffix}`);
  // Reading only the int8 part would silently drop the outlier columns.
  if (quant?.method === 'glassbox' && isGlassboxMixed(weights, module))
    throw new ModelFolderError(
      `${weights.path}: ${module} is an LLM.int8() mixed module (int8 + f32 outlier columns); read it with readLayerLinear`,
    );
  // Reading only the int8 weight would silently drop the run-time activation quantization.
  if (quant?.method === 'glassbox' && isGlassboxW8A8(weights, module))
    throw new ModelFolderError(
      `${weights.path}: ${module} is an LLM.int8() W8A8 module (int8 weight + run-time outlier threshold); read it with readLayerLinear`,
    );
  let weight: LinearWeight;
  if (isNotConverted(quant, module) || !quant) {
    weight = readDense(weights, module, opts.transposeConv1d ?? folder.names.conv1d);
  } else if (quant.method === 'gptq' && has('.qweight')) {
    weight = convertGptq(
      module,
      {
        qweight: int32(weights, module, 'qweight'),
        qzeros: int32(weights, module, 'qzeros'),
        scales: floats(weights, module, 'scales'),
        gIdx: has('.g_idx') ? int32(weights, module, 'g_idx') : null,
      },
      { bits: quant.bits, groupSize: quant.groupSize, checkpointFormat: quant.checkpointFormat },
    );
  } else if (quant.method === 'awq' && has('.qweight')) {
    weight = convertAwq(
      module,
      {
        qweight: int32(weights, module, 'qweight'),
        qzeros: int32(weights, module, 'qzeros'),
        scales: floats(weights, module, 'scales'),
      },
      { bits: quant.bits, groupSize: quant.groupSize },
    );
  } else if (quant.method === 'compressed-tensors' && has('.weight_packed')) {
    weight = convertCtPacked(
      module,
      {
        weightPacked: int32(weights, module, 'weight_packed'),
        weightScale: floats(weights, module, 'weight_scale'),
        weightShape: tensor(weights, module, 'weight_shape', ['I64', 'I32']) as RawTensor<BigInt64Array | Int32Array>,
        weightZeroPoint: has('.weight_zero_point') ? int32(weights, module, 'weight_zero_point') : null,
        weightGIdx: has('.weight_g_idx') ? int32(weights, module, 'weight_g_idx') : null,
      },
      { bits: quant.bits, groupSize: quant.groupSize },
    );
  } else if (quant.method === 'compressed-tensors' && has('.weight') && weights.info(`${module}.weight`).dtype === 'I8') {
    weight = convertCtInt8(
      module,
      {
        weight: tensor(weights, module, 'weight', ['I8']) as RawTensor<Int8Array>,
        weightScale: floats(weights, module, 'weight_scale'),
        weightZeroPoint: has('.weight_zero_point')
          ? (tensor(weights, module, 'weight_zero_point', ['I8', 'I32']) as RawTensor<Int8Array | Int32Array>)
          : null,
        weightGIdx: has('.weight_g_idx') ? int32(weights, module, 'weight_g_idx') : null,
      },
      { bits: 8, groupSize: quant.groupSize },
    );
  } else if (quant.method === 'glassbox' && has('.qweight')) {
    weight = readGlassboxLinear(weights, module, quant);
  } else {
    weight = readDense(weights, module, opts.transposeConv1d ?? folder.names.conv1d);
  }
  try {
    checkWeight(weight, `${module}`);
  } catch (e) {
    throw new ModelFolderError(`${weights.path}: ${(e as Error).message}`);
  }
  return { weight, bias: readBias(weights, module, weight.n) };
}

function tensor(weights: WeightSource, module: string, suffix: string, dtypes: DType[]): RawTensor<RawArray> {
  const name = `${module}.${suffix}`;
  if (!weights.has(name)) throw new ModelFolderError(`${weights.path}: missing tensor ${name}`);
  const info = weights.info(name);
  if (!dtypes.includes(info.dtype))
    throw new ModelFolderError(`${weights.path}: tensor ${name} has dtype ${info.dtype}, expected ${dtypes.join(' or ')}`);
  return { data: weights.readRaw(name), shape: info.shape };
}

const int32 = (weights: WeightSource, module: string, suffix: string) => tensor(weights, module, suffix, ['I32']) as RawTensor<Int32Array>;

function floats(weights: WeightSource, module: string, suffix: string): RawTensor<Float32Array> {
  const { shape } = tensor(weights, module, suffix, FLOAT_DTYPES);
  return { data: weights.readF32(`${module}.${suffix}`), shape };
}

function readDense(weights: WeightSource, module: string, conv1d: boolean): LinearWeight {
  const name = `${module}.weight`;
  const { shape } = tensor(weights, module, 'weight', FLOAT_DTYPES);
  if (shape.length !== 2 || !(shape[0] > 0 && shape[1] > 0))
    throw new ModelFolderError(`${weights.path}: tensor ${name} has shape [${shape.join(', ')}], expected a 2-D [out, in] matrix`);
  const data = weights.readF32(name);
  if (!conv1d) return { format: 'f32', n: shape[0], k: shape[1], w: data };
  const [k, n] = shape; // Conv1D stores [in, out]
  const w = new Float32Array(n * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) w[j * k + i] = data[i * n + j];
  return { format: 'f32', n, k, w };
}

function readBias(weights: WeightSource, module: string, n: number): Float32Array | null {
  const name = `${module}.bias`;
  if (!weights.has(name)) return null;
  const { shape } = tensor(weights, module, 'bias', FLOAT_DTYPES);
  if (shape.length !== 1 || shape[0] !== n)
    throw new ModelFolderError(`${weights.path}: tensor ${name} has shape [${shape.join(', ')}], expected [${n}]`);
  return weights.readF32(name);
}
