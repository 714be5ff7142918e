/**
 * Applies an AIRD variant (aird-math.ts) to one block of a compressed Model, on a clone. A direction read
 * at blocks.{l}.hook_resid_pre is written by the blocks before l, so callers edit block l − 1 by default.
 * Quantized matrices are edited in f32 and re-quantized into their own format (unless keepF32); how much of
 * the intended update survives is the cosine between the intended and the stored change.
 */
import type { LinearRole, Model } from '../../models/types.ts';
import { linearRoles } from '../compress/apply.ts';
import { denseOf } from '../compress/dense.ts';
import { CompressionError } from '../compress/errors.ts';
import { requantizeLike } from '../compress/requantize.ts';
import { airdDirectionSwap, airdProjectionRestore } from './aird-math.ts';
import { cosine, unit } from '../vector-math.ts';

export type AirdVariant = 'A' | 'B' | 'C' | 'D';

export interface AirdOptions {
  variant: AirdVariant;
  /** Block whose matrices are edited. */
  editLayer: number;
  /** Residual-writing matrices edited by A/B (default o and down). */
  matrices?: ('o' | 'down')[];
  /** The original's selected raw direction r_o (unit-normalized for A/B; used raw, times alpha, by D). */
  direction: ArrayLike<number>;
  /** The compressed model's own selected direction (variant B). */
  compressedDirection?: ArrayLike<number>;
  /** Variant D coefficient (default 1). */
  alpha?: number;
  /** Keep edited matrices in f32 instead of re-quantizing them. */
  keepF32?: boolean;
  /**
   * Per-input-channel scales s a compressor folded into a Linear (AWQ): the compressed matrix acts on x/s, so
   * the original is compared as W_o·diag(s) in the same coordinates.
   */
  inputScales?: Map<string, Float32Array>;
}

export interface AirdResult {
  model: Model;
  variant: AirdVariant;
  editLayer: number;
  matrices: LinearRole[];
  /** Per edited matrix: cos(intended update, stored update); 1 when stored in f32; null for C/D. */
  survival: Partial<Record<LinearRole, number | null>>;
  keptF32: boolean;
}

export function applyAird(original: Model, compressed: Model, o: AirdOptions): AirdResult {
  const L = compressed.config.nLayers;
  if (!(Number.isInteger(o.editLayer) && o.editLayer >= 0 && o.editLayer < L))
    throw new CompressionError(`AIRD: edit layer ${o.editLayer} is outside 0..${L - 1}`);
  const d = compressed.config.dModel;
  if (o.direction.length !== d) throw new CompressionError(`AIRD: direction has ${o.direction.length} values, d_model is ${d}`);
  const model = compressed.clone();
  const l = o.editLayer;
  const survival: AirdResult['survival'] = {};
  let matrices: LinearRole[];
  if (o.variant === 'C') {
    matrices = linearRoles(model);
    for (const r of matrices) {
      const w = original.getLinear(l, r);
      model.setLinear(l, r, {
        weight: { format: 'f32', n: w.weight.n, k: w.weight.k, w: denseOf(w.weight) },
        bias: w.bias ? Float32Array.from(w.bias) : null,
      });
    }
    // AWQ folds 1/s into the block's norms: restoring the block means restoring them too.
    for (const which of ['attn', 'mlp'] as const) {
      const nw = original.getNorm(l, which);
      model.setNorm(l, which, { w: nw.w.slice(), b: nw.b ? nw.b.slice() : null });
    }
  } else if (o.variant === 'D') {
    matrices = ['down'];
    const cur = model.getLinear(l, 'down');
    const alpha = o.alpha ?? 1;
    const bias = Float32Array.from({ length: d }, (_, i) => (cur.bias ? cur.bias[i] : 0) + alpha * o.direction[i]);
    model.setLinear(l, 'down', { weight: cur.weight, bias });
  } else {
    matrices = o.matrices ?? ['o', 'down'];
    const rhat = unit(o.direction, { name: 'AIRD: direction' });
    const rhatC =
      o.variant === 'B'
        ? unit(
            o.compressedDirection ??
              (() => {
                throw new CompressionError("AIRD variant B needs the compressed model's direction");
              })(),
            { name: 'AIRD: compressed direction' },
          )
        : null;
    for (const r of matrices) {
      const cur = model.getLinear(l, r);
      const wc = denseOf(cur.weight);
      const wo = denseOf(original.getLinear(l, r).weight);
      const sc = o.inputScales?.get(`${l}.${r}`);
      if (sc) for (let i = 0; i < wo.length; i++) wo[i] *= sc[i % sc.length];
      const name = `AIRD ${o.variant}: blocks.${l}.${r}`;
      const edited = rhatC ? airdDirectionSwap(wc, wo, rhat, rhatC, name) : airdProjectionRestore(wc, wo, rhat, name);
      const stored = o.keepF32
        ? { format: 'f32' as const, n: cur.weight.n, k: cur.weight.k, w: edited }
        : requantizeLike(cur.weight, edited, name);
      const sd = denseOf(stored);
      const intended = new Float64Array(wc.length);
      const got = new Float64Array(wc.length);
      for (let i = 0; i < wc.length; i++) {
        intended[i] = edited[i] - wc[i];
        got[i] = sd[i] - wc[i];
      }
      survival[r] = cosine(intended, got);
      model.setLinear(l, r, { weight: stored, bias: cur.bias });
    }
  }
  return { model, variant: o.variant, editLayer: l, matrices, survival, keptF32: !!o.keepF32 || o.variant === 'C' };
}

/** Block edited by default for a direction read at resid_pre of `sourceLayer`. */
export const defaultEditLayer = (sourceLayer: number): number => Math.max(0, sourceLayer - 1);
