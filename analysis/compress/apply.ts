/**
 * Applies one compression method to a Model: clone, calibrate through hooks on the inputs of each Linear,
 * compress every Linear of every decoder block (embeddings and the unembedding are left alone, as in Wanda,
 * SparseGPT, GPTQ and AWQ), and set the results with setLinear so quantized weights run on the int8/int4 kernels.
 * Wanda, SparseGPT, GPTQ and AWQ go layer by layer: layer l is calibrated on the outputs of the already
 * compressed layers < l (reference `prune_wanda` / `prune_sparsegpt` / GPTQ `llama_sequential`), carried from
 * block to block (calibration-stream.ts).
 */
import type { LinearRole, Model, ModelLinear } from '../../models/types.ts';
import { nextBatch } from '../batches.ts';
import { awqGroups, awqSearchScales, foldAwqScales, type AwqBlock } from './awq.ts';
import { awqClipSearch } from './awq-clip.ts';
import { collectInputStats, INPUT_OF, statsHooks, type InputPoint, type LayerStats } from './calibrate.ts';
import { CalibrationStream } from './calibration-stream.ts';
import { denseForReading, denseOf, storedBytes } from './dense.ts';
import { CompressionError } from './errors.ts';
import { gptqQuantize } from './gptq.ts';
import { quantizeLlmInt8 } from './llm-int8.ts';
import type { MethodSpec } from './methods.ts';
import { magnitudePrune, wandaPrune } from './prune.ts';
import { quantizeInt4Group, quantizeInt8PerChannel } from './rtn.ts';
import { sparseGptPrune } from './sparsegpt.ts';
import { sparsityReport, type SparsityReport } from './sparsity.ts';

export interface CompressOptions {
  /** Calibration prompts (token ids). Required by every method except int8, int4-g*, magnitude. */
  calibration: number[][];
  batchSize?: number;
  /** Rows of calibration input AWQ keeps per matrix for its loss (default 256). */
  awqSampleRows?: number;
  /** AWQ's clipping search after the scale search (default true; false reproduces scale-only AWQ). */
  awqClip?: boolean;
  /** Called when a layer is done. */
  onLayer?: (layer: number, nLayers: number) => void;
  /** Ctrl-C: checked before each layer; the partly compressed clone is disposed. */
  signal?: AbortSignal;
}

/** One AWQ clip search's outcome per Linear (awq-clip.ts): output MSE on the calibration rows without / with clipping. */
export interface AwqClipRecord {
  lossNoClip: number;
  loss: number;
  clippedFraction: number;
  /** (row, group) clips the no-worse guard set back to none. */
  groupsReset: number;
}

/** One AWQ scaling group's search outcome (calibration output MSE), keyed `${layer}.${targets joined by +}`. */
export interface AwqGroupLoss {
  alpha: number;
  loss: number;
  /** The same loss at α = 0 (plain RTN). */
  rtnLoss: number;
}

export interface CompressedModel {
  model: Model;
  method: MethodSpec;
  /** Nominal bits per weight of quantization methods. */
  bits?: number;
  /** Stored bits per decoder-block weight, scales/zeros/outliers included (32 for dense f32). */
  bitsPerWeight: number;
  sparsity: SparsityReport;
  /**
   * Method-specific facts for the report: llm-int8 `outlierColumns`; AWQ `awqAlpha` (per `${layer}.${role}`, the
   * alpha of the role's group), `awqLoss` (per group, AwqGroupLoss) and `awqClip` (per `${layer}.${role}`, AwqClipRecord;
   * q and k are not clipped).
   */
  details: Record<string, unknown>;
  /**
   * AWQ: per-input-channel scales s folded into a Linear (`${layer}.${role}`): the stored weight acts on x/s, so
   * its dense form corresponds to W·diag(s) of the original. Empty for every other method.
   */
  inputScales: Map<string, Float32Array>;
  seconds: number;
}

export function linearRoles(model: Model): LinearRole[] {
  return model.config.capabilities.gatedMlp ? ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] : ['q', 'k', 'v', 'o', 'up', 'down'];
}

const needsCalibration = (m: MethodSpec) => !['int8', 'llm-int8', 'int4-rtn', 'magnitude'].includes(m.family);
const sequential = (m: MethodSpec) => ['wanda', 'sparsegpt', 'gptq', 'awq'].includes(m.family);

export async function compressModel(original: Model, method: MethodSpec, opts: CompressOptions): Promise<CompressedModel> {
  const t0 = performance.now();
  if (needsCalibration(method) && opts.calibration.length === 0)
    throw new CompressionError(`${method.name}: needs calibration prompts, got none`);
  const model = original.clone();
  try {
    return await compressClone(model, method, opts, t0);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

async function compressClone(model: Model, method: MethodSpec, opts: CompressOptions, t0: number): Promise<CompressedModel> {
  const L = model.config.nLayers;
  const roles = linearRoles(model);
  const details: Record<string, unknown> = {};
  const name = (l: number, r: LinearRole) => `${method.name}: blocks.${l}.${r}`;
  let allStats: Map<number, LayerStats> | null = null;
  if (method.family === 'int8-outlier-cols')
    allStats = await collectInputStats(model, opts.calibration, [...Array(L).keys()], {}, opts.batchSize);
  const outlierCounts: Record<string, number> = {};
  const awqAlphas: Record<string, number> = {};
  const awqLosses: Record<string, AwqGroupLoss> = {};
  const awqClips: Record<string, AwqClipRecord> = {};
  const inputScales = new Map<string, Float32Array>();
  const stream = sequential(method) ? new CalibrationStream(model, opts.calibration, opts.batchSize) : null;
  for (let l = 0; l < L; l++) {
    await nextBatch(opts.signal, `${method.name}: compression`);
    let stats: LayerStats | undefined = allStats?.get(l);
    if (stream && method.family !== 'gptq') {
      const want = { hessian: method.family === 'sparsegpt', sampleRows: method.family === 'awq' ? (opts.awqSampleRows ?? 256) : 0 };
      const h = statsHooks([l], want);
      await stream.run(l, h.hooks);
      stats = h.stats.get(l);
    }
    const statOf = (r: LinearRole) => {
      const s = stats?.get(INPUT_OF[r]);
      if (!s) throw new CompressionError(`${name(l, r)}: no calibration activations reached ${INPUT_OF[r]}`);
      return s;
    };
    const cur = new Map<LinearRole, ModelLinear>(roles.map((r) => [r, model.getLinear(l, r)]));
    const dense = new Map<LinearRole, Float32Array>(roles.map((r) => [r, denseOf(cur.get(r)!.weight)]));
    const out = new Map<LinearRole, ModelLinear['weight']>();
    if (method.family === 'gptq') await gptqTrueSequential(model, l, roles, cur, dense, method, stream!, out);
    if (method.family === 'awq') {
      awqLayer(
        model,
        l,
        { roles, dense, current: cur, statOf, groupSize: method.groupSize, clip: opts.awqClip ?? true },
        { out, alphas: awqAlphas, losses: awqLosses, clips: awqClips, inputScales },
      );
    }
    for (const r of roles) {
      if (out.has(r)) continue;
      const { n, k } = cur.get(r)!.weight;
      const w = dense.get(r)!;
      const nm = name(l, r);
      switch (method.family) {
        case 'int8':
          out.set(r, quantizeInt8PerChannel(w, n, k, nm));
          break;
        case 'int4-rtn':
          out.set(r, quantizeInt4Group(w, n, k, Math.min(method.groupSize, k), nm));
          break;
        case 'llm-int8':
          // Vector-wise int8 weight; activations are quantized per token and outlier columns picked at run time.
          out.set(r, { format: 'w8a8', n, k, weight: quantizeInt8PerChannel(w, n, k, nm), threshold: method.threshold });
          break;
        case 'int8-outlier-cols': {
          const m = quantizeLlmInt8(w, n, k, statOf(r).absMax, method.threshold, nm);
          outlierCounts[`${l}.${r}`] = m.outlierCols.length;
          // No outlier column: a plain int8 Linear (an empty f32 part would be a [N, 0] matrix).
          out.set(r, m.outlierCols.length ? m : m.main);
          break;
        }
        case 'gptq':
          break; // gptqTrueSequential
        case 'magnitude':
          out.set(r, { format: 'f32', n, k, w: magnitudePrune(w, n, k, method.sparsity, nm) });
          break;
        case 'wanda':
          out.set(r, {
            format: 'f32',
            n,
            k,
            w: wandaPrune(
              w,
              n,
              k,
              statOf(r).sumSq,
              method.nm ? { kind: 'nm', ...method.nm } : { kind: 'unstructured', sparsity: method.sparsity },
              nm,
            ),
          });
          break;
        case 'sparsegpt':
          out.set(r, {
            format: 'f32',
            n,
            k,
            w: sparseGptPrune(w, n, k, statOf(r).hessian!.h, method.nm ? { nm: method.nm } : { sparsity: method.sparsity }, nm),
          });
          break;
        case 'awq':
          break;
      }
    }
    for (const r of roles) model.setLinear(l, r, { weight: out.get(r)!, bias: cur.get(r)!.bias });
    // The next block's input: this block's output as compressed (nothing reads the last block's).
    if (stream && l < L - 1) await stream.advance(l);
    opts.onLayer?.(l, L);
  }
  if (method.family === 'int8-outlier-cols') details.outlierColumns = outlierCounts;
  if (method.family === 'llm-int8') details.activations = `int8 per token, outlier columns |x| > ${method.threshold} in f32 at run time`;
  if (method.family === 'awq') {
    details.awqAlpha = awqAlphas;
    details.awqLoss = awqLosses;
    if (opts.awqClip ?? true) details.awqClip = awqClips;
  }
  const stats = weightStats(model);
  return {
    model,
    method,
    bits: 'bits' in method ? method.bits : undefined,
    bitsPerWeight: stats.bitsPerWeight,
    sparsity: stats.sparsity,
    details,
    inputScales,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * GPTQ true-sequential (the reference's --true-sequential): within a block, q/k/v are quantized on the block's
 * input, then o_proj on the attention output computed with the already-quantized q/k/v, then gate/up on the MLP input
 * after the quantized attention, then down_proj on the MLP hidden state of the quantized gate/up. Each stage re-runs
 * block l on the calibration stream with the quantized predecessors set on the model.
 */
async function gptqTrueSequential(
  model: Model,
  l: number,
  roles: LinearRole[],
  cur: Map<LinearRole, ModelLinear>,
  dense: Map<LinearRole, Float32Array>,
  method: Extract<MethodSpec, { family: 'gptq' }>,
  stream: CalibrationStream,
  out: Map<LinearRole, ModelLinear['weight']>,
): Promise<void> {
  for (const point of ['attnIn', 'oIn', 'mlpIn', 'downIn'] as InputPoint[]) {
    const stage = roles.filter((r) => INPUT_OF[r] === point);
    if (!stage.length) continue;
    const h = statsHooks([l], { hessian: true }, [point]);
    await stream.run(l, h.hooks);
    const st = h.stats.get(l)?.get(point);
    for (const r of stage) {
      const nm = `${method.name}: blocks.${l}.${r}`;
      if (!st?.hessian) throw new CompressionError(`${nm}: no calibration activations reached ${point}`);
      const { n, k } = cur.get(r)!.weight;
      const q = gptqQuantize(
        dense.get(r)!,
        n,
        k,
        st.hessian.h,
        { groupSize: Math.min(method.groupSize, k), actOrder: method.actOrder },
        nm,
      );
      out.set(r, q);
      model.setLinear(l, r, { weight: q, bias: cur.get(r)!.bias });
    }
  }
}

/** Stored bits per weight and sparsity of a model's decoder-block linears. */
export function weightStats(model: Model): { bitsPerWeight: number; sparsity: SparsityReport } {
  const entries = [];
  let bytes = 0;
  let params = 0;
  for (let l = 0; l < model.config.nLayers; l++)
    for (const r of linearRoles(model)) {
      const w = model.getLinear(l, r).weight;
      entries.push({ layer: l, role: r, dense: denseForReading(w) });
      bytes += storedBytes(w);
      params += w.n * w.k;
    }
  return { bitsPerWeight: (bytes * 8) / params, sparsity: sparsityReport(entries) };
}

/**
 * AWQ for one block (groups and folds: awq.ts header). Each group is searched on the block as already edited by
 * the groups before it, then folded; every Linear is finally rounded to int4 as it then stands (W·diag(s) for
 * scaled ones, plain RTN for the rest), and the folded norms are set on the model.
 */
interface AwqLayerInputs {
  roles: LinearRole[];
  /** Each role's weight as dense f32 [n, k]. */
  dense: Map<LinearRole, Float32Array>;
  /** Each role's Linear as the model holds it now (its bias is replaced by the folded one). */
  current: Map<LinearRole, ModelLinear>;
  statOf: (r: LinearRole) => import('./calibrate.ts').InputStats;
  groupSize: number;
  /** Run the clipping search (every role but q and k) after the scales are folded. */
  clip: boolean;
}

/** Where awqLayer writes: the int4 weights per role, and the per-linear alpha / group loss / scales for the report. */
interface AwqLayerRecords {
  out: Map<LinearRole, ModelLinear['weight']>;
  alphas: Record<string, number>;
  losses: Record<string, AwqGroupLoss>;
  clips: Record<string, AwqClipRecord>;
  inputScales: Map<string, Float32Array>;
}

function awqLayer(model: Model, l: number, inp: AwqLayerInputs, rec: AwqLayerRecords): void {
  const { roles, dense, current: cur, statOf, groupSize } = inp;
  const { out, alphas, losses, clips, inputScales } = rec;
  const block: AwqBlock = {
    lin: new Map(roles.map((r) => [r, { w: dense.get(r)!, n: cur.get(r)!.weight.n, k: cur.get(r)!.weight.k, bias: cur.get(r)!.bias }])),
    norms: { attn: model.getNorm(l, 'attn'), mlp: model.getNorm(l, 'mlp') },
  };
  for (const g of awqGroups(model.config, roles)) {
    const st = statOf(g.targets[0]);
    const k = block.lin.get(g.targets[0])!.k;
    const { x, t } = st.sample();
    const key = `${l}.${g.targets.join('+')}`;
    const ws = g.targets.map((r) => ({ w: block.lin.get(r)!.w, n: block.lin.get(r)!.n }));
    const res = awqSearchScales(ws, k, x, t, st.meanAbs(), Math.min(groupSize, k), 20, `awq: blocks.${key}`);
    losses[key] = { alpha: res.alpha, loss: res.loss, rtnLoss: res.rtnLoss };
    for (const r of g.targets) {
      alphas[`${l}.${r}`] = res.alpha;
      inputScales.set(`${l}.${r}`, res.scales);
    }
    foldAwqScales(block, g, res.scales);
  }
  for (const r of roles) {
    const m = block.lin.get(r)!;
    // llm-awq auto_clip_block skips q and k: their error passes through the q·k product, which a per-matrix
    // output loss does not see.
    if (inp.clip && r !== 'q' && r !== 'k') {
      const { x, t } = statOf(r).sample();
      // The inputs as the scaled matrix will see them: x / s where this role's columns were scaled.
      const s = inputScales.get(`${l}.${r}`);
      const xs = s ? x.map((v, i) => v / s[i % m.k]) : x;
      if (t > 0) {
        const c = awqClipSearch(m.w, m.n, m.k, xs, t, Math.min(groupSize, m.k), {}, `awq: blocks.${l}.${r}`);
        clips[`${l}.${r}`] = { lossNoClip: c.lossNoClip, loss: c.loss, clippedFraction: c.clippedFraction, groupsReset: c.groupsReset };
        m.w = c.w;
      }
    }
    out.set(r, quantizeInt4Group(m.w, m.n, m.k, Math.min(groupSize, m.k), `awq: blocks.${l}.${r}`));
    cur.set(r, { ...cur.get(r)!, bias: m.bias });
  }
  model.setNorm(l, 'attn', block.norms.attn);
  model.setNorm(l, 'mlp', block.norms.mlp);
}

export type { InputPoint };
