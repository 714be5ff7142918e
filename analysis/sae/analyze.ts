/**
 * What an SAE sees on one prompt, and how its features relate to a direction.
 *   saeAnalysis(model, sae, ids, opts?): Promise<SaeResult>
 *     top features per position (opts.topK, default 5), reconstruction error, KL of the next-token distribution when
 *     the reconstruction replaces the activation (spliced), and with opts.all the full [position][feature] matrix.
 *   decoderAlignment(sae, direction, topK): { feature, cosine }[] — decoder rows W_dec[f] most aligned with
 *     the direction (by cosine, highest first), e.g. the refusal direction r̂.
 *
 * reconstructionError = Σ‖x − x̂‖² / Σ‖x‖² over positions (fraction of the activation's energy not reconstructed);
 * mse = mean over positions and dimensions of (x − x̂)²; perPosition holds ‖x − x̂‖² / ‖x‖² per position.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { klDivergence } from '../logit-math.ts';
import { tokenLabels } from '../token-labels.ts';
import { checkSaeHook, saeHook } from './hook.ts';
import { topIndices, type Sae } from './sae.ts';

export interface SaeAnalysisOptions {
  topK?: number;
  all?: boolean;
}

export interface SaeResult {
  hook: string;
  dSae: number;
  tokens: string[];
  ids: number[];
  top: { feature: number; value: number }[][];
  reconstructionError: number;
  mse: number;
  perPosition: number[];
  /** Active features per position (L0). */
  l0: number[];
  /** Mean over positions of KL(model || model with x̂ spliced in), next-token distributions. */
  splicedKl: number;
  activations?: number[][];
}

export async function saeAnalysis(model: Model, sae: Sae, ids: number[], opts: SaeAnalysisOptions = {}): Promise<SaeResult> {
  checkSaeHook(sae, model.hookNames(), 'SAE');
  if (ids.length === 0) throw new UsageError('SAE: empty prompt');
  const topK = opts.topK ?? 5;
  const { dSae: n, dIn: d } = sae.cfg;
  if (!(Number.isInteger(topK) && topK >= 1 && topK <= n)) throw new UsageError(`SAE: topK ${topK} is not in 1..${n}`);
  let seen: { acts: Float32Array; x: Float32Array; recon: Float32Array } | null = null;
  const reader = saeHook(sae, { mode: 'read', onActs: (acts, x, recon) => (seen = { acts, x, recon }) });
  const read = await model.forward([ids], { hooks: [reader] });
  const spliced = await model.forward([ids], { hooks: [saeHook(sae, { mode: 'replace' })] });
  const { acts, x, recon } = seen!;
  const T = ids.length;
  const V = model.config.vocabSize;
  let errSum = 0;
  let energy = 0;
  const perPosition: number[] = [];
  for (let p = 0; p < T; p++) {
    let e = 0;
    let s = 0;
    for (let i = 0; i < d; i++) {
      e += (x[p * d + i] - recon[p * d + i]) ** 2;
      s += x[p * d + i] ** 2;
    }
    errSum += e;
    energy += s;
    perPosition.push(s > 0 ? e / s : NaN);
  }
  let kl = 0;
  for (let p = 0; p < T; p++) kl += klDivergence(read.logits.subarray(p * V, (p + 1) * V), spliced.logits.subarray(p * V, (p + 1) * V));
  const row = (p: number) => acts.subarray(p * n, (p + 1) * n);
  const result: SaeResult = {
    hook: sae.cfg.hookName,
    dSae: n,
    tokens: tokenLabels(model, ids),
    ids: [...ids],
    top: Array.from({ length: T }, (_, p) => topIndices(row(p), topK).map((feature) => ({ feature, value: row(p)[feature] }))),
    reconstructionError: energy > 0 ? errSum / energy : NaN,
    mse: errSum / (T * d),
    perPosition,
    l0: Array.from({ length: T }, (_, p) => row(p).reduce((c, v) => c + (v !== 0 ? 1 : 0), 0)),
    splicedKl: kl / T,
  };
  if (opts.all) result.activations = Array.from({ length: T }, (_, p) => Array.from(row(p)));
  return result;
}

export function decoderAlignment(sae: Sae, direction: Float32Array, topK: number): { feature: number; cosine: number }[] {
  const { dIn: d, dSae: n } = sae.cfg;
  if (direction.length !== d) throw new UsageError(`SAE alignment: the direction has ${direction.length} values, the SAE's d_in is ${d}`);
  let rn = 0;
  for (const v of direction) rn += v * v;
  rn = Math.sqrt(rn);
  if (!(rn > 0)) throw new UsageError('SAE alignment: the direction has norm 0');
  const cos = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let dot = 0;
    let ss = 0;
    for (let i = 0; i < d; i++) {
      const w = sae.wDec[f * d + i];
      dot += w * direction[i];
      ss += w * w;
    }
    cos[f] = ss > 0 ? dot / (Math.sqrt(ss) * rn) : 0;
  }
  return topIndices(cos, Math.min(topK, n)).map((feature) => ({ feature, cosine: cos[feature] }));
}
