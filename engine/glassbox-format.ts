/**
 * The Glassbox saved quantized format: how a compressed model is written as an HF-style folder
 * (config.json + model.safetensors) and read back by readLinear, bit-exact.
 *
 * config.json: quantization_config = { quant_method: 'glassbox', bits, group_size, sym, format_version: 1 }
 * (bits / group_size / sym describe the model's main scheme; each module's actual format is given by which
 * of its tensors exist, so int8, int4 and f32 modules may be mixed in one folder).
 *
 * Tensors of a Linear module <m> (our kernels/formats.ts layouts stored as they are, no repacking):
 *   int8:  <m>.qweight  I8  [N, K]           q, symmetric, row-major
 *   int4:  <m>.qweight  U8  [N, ceil(K/2)]   nibbles: k = 2j low, k = 2j+1 high nibble of byte j
 *          <m>.qzeros   U8  [N, nGroups]     zero points 0..15, asymmetric only (absent: z = 8)
 *   both:  <m>.scales   F32 [N, nGroups]     nGroups = ceil(K / groupSize), the last group may be partial
 *          <m>.qshape   I32 [3]              [N, K, groupSize]: K and G cannot be recovered from the packed
 *                                            shape alone (odd K; partial last group)
 *          <m>.g_perm   I32 [K]              only with an input-channel gather (stored column j = input perm[j])
 *   f32:   <m>.weight   F32 [N, K]           dense, original channel order (a perm is undone before saving)
 *   mixed (LLM.int8(): int8 main + f32 outlier input columns, the two results added):
 *          the int8 tensors above for the main part (outlier columns hold zeros there), plus
 *          <m>.outlier_cols   I32 [nOut]     input columns run in f32, strictly increasing
 *          <m>.outlier_weight F32 [N, nOut]  their weights, column i = input outlier_cols[i]
 *   bias:  <m>.bias     F32 [N]              written by the caller, as for any HF Linear
 * When <m>.qshape is absent (hand-written folders), K = ncols (int8) or 2 * ncols (int4) and G comes from
 * config group_size (one group when scales has one column).
 */
import { ModelFolderError, ShapeError } from './errors.ts';
import { checkWeight, dequantize, nGroups } from '../kernels/formats.ts';
import type { Int4Weight, Int8Weight, LinearWeight, MixedLinearWeight } from '../kernels/types.ts';
import type { W8A8Weight } from '../kernels/w8a8/types.ts';
import type { DType, QuantizationConfig, RawArray, WeightSource } from './types.ts';

export const GLASSBOX_FORMAT_VERSION = 1;

export interface NamedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: RawArray;
}

/** The config.json `quantization_config` of a folder saved in this format. */
export function glassboxQuantizationConfig(bits: number, groupSize: number, sym: boolean): Record<string, unknown> {
  return { quant_method: 'glassbox', bits, group_size: groupSize, sym, format_version: GLASSBOX_FORMAT_VERSION };
}

/** The tensors that store one Linear weight (the bias is not included). */
export function linearToTensors(module: string, w: LinearWeight | MixedLinearWeight | W8A8Weight): NamedTensor[] {
  if (w.format === 'mixed') return mixedToTensors(module, w);
  // LLM.int8() W8A8: the per-row int8 weight, plus its run-time outlier threshold (the marker the reader keys on).
  if (w.format === 'w8a8')
    return [
      ...linearToTensors(module, w.weight),
      { name: `${module}.llm_int8_threshold`, dtype: 'F32', shape: [1], data: Float32Array.of(w.threshold) },
    ];
  checkWeight(w, module);
  const { n, k } = w;
  if (w.format === 'f32') {
    const data = w.perm ? dequantize(w) : w.w;
    return [{ name: `${module}.weight`, dtype: 'F32', shape: [n, k], data }];
  }
  // bf16 stays bf16 on disk (no perm: a permuted bf16 weight is written widened, exactly, as F32).
  if (w.format === 'bf16') {
    if (w.perm) return [{ name: `${module}.weight`, dtype: 'F32', shape: [n, k], data: dequantize(w) }];
    return [{ name: `${module}.weight`, dtype: 'BF16', shape: [n, k], data: w.w }];
  }
  const g = nGroups(k, w.groupSize);
  const out: NamedTensor[] =
    w.format === 'int8'
      ? [{ name: `${module}.qweight`, dtype: 'I8', shape: [n, k], data: w.q }]
      : [{ name: `${module}.qweight`, dtype: 'U8', shape: [n, Math.ceil(k / 2)], data: w.packed }];
  out.push({ name: `${module}.scales`, dtype: 'F32', shape: [n, g], data: w.scales });
  if (w.format === 'int4' && w.zeros) out.push({ name: `${module}.qzeros`, dtype: 'U8', shape: [n, g], data: w.zeros });
  out.push({ name: `${module}.qshape`, dtype: 'I32', shape: [3], data: Int32Array.from([n, k, w.groupSize]) });
  if (w.perm) out.push({ name: `${module}.g_perm`, dtype: 'I32', shape: [k], data: w.perm });
  return out;
}

/** Reads a module written by linearToTensors (quantized part; dense `.weight` is read by readLinear). */
export function readGlassboxLinear(weights: WeightSource, module: string, quant: QuantizationConfig | null): Int8Weight | Int4Weight {
  const where = (t: string) => `${weights.path}: tensor ${module}.${t}`;
  const tensor = (t: string, dtypes: DType[], rank: number) => {
    const name = `${module}.${t}`;
    if (!weights.has(name)) throw new ModelFolderError(`${weights.path}: missing tensor ${name}`);
    const info = weights.info(name);
    if (!dtypes.includes(info.dtype)) throw new ModelFolderError(`${where(t)} has dtype ${info.dtype}, expected ${dtypes.join(' or ')}`);
    if (info.shape.length !== rank) throw new ModelFolderError(`${where(t)} has shape [${info.shape.join(', ')}], expected rank ${rank}`);
    return info;
  };
  const qi = tensor('qweight', ['I8', 'U8'], 2);
  const int8 = qi.dtype === 'I8';
  const [n, cols] = qi.shape;
  let k = int8 ? cols : 2 * cols;
  const si = tensor('scales', ['F32'], 2);
  const groups = si.shape[1];
  let groupSize: number;
  if (weights.has(`${module}.qshape`)) {
    tensor('qshape', ['I32'], 1);
    const s = weights.readRaw(`${module}.qshape`) as Int32Array;
    if (s.length !== 3 || s[0] !== n)
      throw new ModelFolderError(`${where('qshape')} [${Array.from(s).join(', ')}] does not match qweight [${qi.shape.join(', ')}]`);
    k = s[1];
    groupSize = s[2];
  } else if (groups === 1) groupSize = k;
  else groupSize = quant && quant.groupSize > 0 ? quant.groupSize : -1;
  const wantCols = int8 ? k : Math.ceil(k / 2);
  if (!(k > 0) || cols !== wantCols)
    throw new ModelFolderError(`${where('qweight')} has shape [${qi.shape.join(', ')}], expected [${n}, ${wantCols}]`);
  if (!(groupSize > 0) || nGroups(k, groupSize) !== groups || si.shape[0] !== n)
    throw new ModelFolderError(
      `${where('scales')} has shape [${si.shape.join(', ')}], expected [${n}, ceil(${k} / group size ${groupSize})]`,
    );
  const scales = weights.readF32(`${module}.scales`);
  let perm: Int32Array | null = null;
  if (weights.has(`${module}.g_perm`)) {
    const pi = tensor('g_perm', ['I32'], 1);
    if (pi.shape[0] !== k) throw new ModelFolderError(`${where('g_perm')} has shape [${pi.shape[0]}], expected [${k}]`);
    perm = weights.readRaw(`${module}.g_perm`) as Int32Array;
    const seen = new Uint8Array(k);
    for (const p of perm) {
      if (!(p >= 0 && p < k) || seen[p]) throw new ModelFolderError(`${where('g_perm')} is not a permutation of 0..${k - 1}`);
      seen[p] = 1;
    }
  }
  if (int8) return { format: 'int8', n, k, groupSize, q: weights.readRaw(`${module}.qweight`) as Int8Array, scales, perm };
  let zeros: Uint8Array | null = null;
  if (weights.has(`${module}.qzeros`)) {
    const zi = tensor('qzeros', ['U8'], 2);
    if (zi.shape[0] !== n || zi.shape[1] !== groups)
      throw new ModelFolderError(`${where('qzeros')} has shape [${zi.shape.join(', ')}], expected [${n}, ${groups}]`);
    zeros = weights.readRaw(`${module}.qzeros`) as Uint8Array;
    const bad = zeros.findIndex((z) => z > 15);
    if (bad >= 0) throw new ModelFolderError(`${where('qzeros')} holds ${zeros[bad]} at index ${bad}, above 15`);
  }
  return { format: 'int4', n, k, groupSize, packed: weights.readRaw(`${module}.qweight`) as Uint8Array, scales, zeros, perm };
}

function mixedToTensors(module: string, w: MixedLinearWeight): NamedTensor[] {
  const nOut = w.outlierCols.length;
  if (w.main.n !== w.n || w.main.k !== w.k || w.outlier.n !== w.n || w.outlier.k !== nOut)
    throw new ShapeError(
      `${module}: mixed weight parts [${w.main.n}, ${w.main.k}] + [${w.outlier.n}, ${w.outlier.k}] do not fit [${w.n}, ${w.k}] with ${nOut} outlier columns`,
    );
  const bad = outlierColsProblem(w.outlierCols, w.k);
  if (bad) throw new ShapeError(`${module}.outlier_cols ${bad}`);
  checkWeight(w.outlier, `${module}.outlier_weight`);
  return [
    ...linearToTensors(module, w.main),
    { name: `${module}.outlier_cols`, dtype: 'I32', shape: [nOut], data: w.outlierCols },
    { name: `${module}.outlier_weight`, dtype: 'F32', shape: [w.n, nOut], data: w.outlier.w },
  ];
}

/** True when `module` was saved as an LLM.int8() W8A8 Linear (int8 weight + run-time outlier threshold). */
export const isGlassboxW8A8 = (weights: WeightSource, module: string): boolean => weights.has(`${module}.llm_int8_threshold`);

/** Reads a module written by linearToTensors from a W8A8Weight. */
export function readGlassboxW8A8(weights: WeightSource, module: string, quant: QuantizationConfig | null): W8A8Weight {
  const weight = readGlassboxLinear(weights, module, quant);
  const tn = `${module}.llm_int8_threshold`;
  const ti = weights.info(tn);
  if (ti.dtype !== 'F32' || ti.shape.length !== 1 || ti.shape[0] !== 1)
    throw new ModelFolderError(`${weights.path}: tensor ${tn} is ${ti.dtype} [${ti.shape.join(', ')}], expected F32 [1]`);
  const threshold = weights.readF32(tn)[0];
  if (weight.format !== 'int8' || weight.groupSize !== weight.k || weight.perm)
    throw new ModelFolderError(
      `${weights.path}: tensor ${module}.qweight of an LLM.int8() module must be I8 with one scale per output row`,
    );
  if (!(threshold > 0)) throw new ModelFolderError(`${weights.path}: tensor ${tn} holds ${threshold}, expected a threshold > 0`);
  return { format: 'w8a8', n: weight.n, k: weight.k, weight, threshold };
}

/** True when `module` was saved as a mixed int8 + f32-outlier Linear. */
export const isGlassboxMixed = (weights: WeightSource, module: string): boolean => weights.has(`${module}.outlier_cols`);

/** Reads a module written by linearToTensors from a MixedLinearWeight. */
export function readGlassboxMixed(weights: WeightSource, module: string, quant: QuantizationConfig | null): MixedLinearWeight {
  const main = readGlassboxLinear(weights, module, quant);
  if (main.format !== 'int8')
    throw new ModelFolderError(`${weights.path}: tensor ${module}.qweight of a mixed module must be I8 (int8 main part)`);
  const { n, k } = main;
  const ci = weights.info(`${module}.outlier_cols`);
  if (ci.dtype !== 'I32' || ci.shape.length !== 1)
    throw new ModelFolderError(
      `${weights.path}: tensor ${module}.outlier_cols is ${ci.dtype} [${ci.shape.join(', ')}], expected I32 [nOut]`,
    );
  const nOut = ci.shape[0];
  const outlierCols = weights.readRaw(`${module}.outlier_cols`) as Int32Array;
  const bad = outlierColsProblem(outlierCols, k);
  if (bad) throw new ModelFolderError(`${weights.path}: tensor ${module}.outlier_cols ${bad}`);
  const wn = `${module}.outlier_weight`;
  if (!weights.has(wn)) throw new ModelFolderError(`${weights.path}: missing tensor ${wn}`);
  const wi = weights.info(wn);
  if (wi.dtype !== 'F32' || wi.shape.length !== 2 || wi.shape[0] !== n || wi.shape[1] !== nOut)
    throw new ModelFolderError(`${weights.path}: tensor ${wn} is ${wi.dtype} [${wi.shape.join(', ')}], expected F32 [${n}, ${nOut}]`);
  return { format: 'mixed', n, k, main, outlierCols, outlier: { format: 'f32', n, k: nOut, w: weights.readF32(wn), perm: null } };
}

/** Outlier columns index the K inputs, strictly increasing (no column counted twice), at least one; else why not. */
function outlierColsProblem(cols: Int32Array, k: number): string | null {
  if (cols.length === 0) return 'is empty (a mixed weight needs at least one outlier column)';
  for (let i = 0; i < cols.length; i++)
    if (!(cols[i] >= 0 && cols[i] < k) || (i > 0 && cols[i] <= cols[i - 1]))
      return `holds ${cols[i]} at index ${i}: expected strictly increasing columns in 0..${k - 1}`;
  return null;
}
