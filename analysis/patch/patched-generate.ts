/**
 * One activation patch, then generation: the target (corrupted) prompt is run with one hook point restored from
 * the source (clean) prompt's cached run, and the model continues from there. Shows in text what one cell of the
 * patching heatmap (patching.ts) does to the model's behaviour.
 *
 *   patchedGeneration(model, source, target, patch, metric, opts?): Promise<PatchedGeneration>
 *     source / target: token ids of the same length (aligned by position, as in activationPatching).
 *     patch: { site, layer, pos? (resid_pre; negative from the end; undefined = every position), head? (heads) }.
 *     The patch applies to the prompt forward only (step 0): generated tokens have no source counterpart.
 *     Returns greedy continuations without and with the patch, and the metric on the last prompt position
 *     for the target, the source and the patched target — the last is the heatmap's value for that cell.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Hook, Model } from '../../models/types.ts';
import { tokenLabels } from '../token-labels.ts';
import { applyPatch, hookOf, type Experiment } from './experiments.ts';
import { checkMetric, metricValue, type PatchMetric } from './metric.ts';

export interface PatchedGenerationOptions {
  maxNewTokens?: number;
  /** Default: the model's end-of-sequence ids. */
  stopTokens?: number[];
  signal?: AbortSignal;
}

export interface PatchedGeneration {
  /** The patch as applied (pos made non-negative). */
  patch: Experiment;
  hook: string;
  metric: PatchMetric['kind'];
  /** The metric at the last prompt position: target unpatched, source, target patched. */
  target: number;
  source: number;
  patched: number;
  before: number[];
  after: number[];
  tokens: { source: string[]; target: string[] };
}

/** Checks the patch against the model and prompt length; resolves a negative position. */
export function resolvePatch(p: Experiment, nLayers: number, nHeads: number, T: number): Experiment {
  if (!(Number.isInteger(p.layer) && p.layer >= 0 && p.layer < nLayers))
    throw new UsageError(`patch: layer ${p.layer} is outside 0..${nLayers - 1}`);
  if (p.site === 'heads') {
    if (!(p.head !== undefined && Number.isInteger(p.head) && p.head >= 0 && p.head < nHeads))
      throw new UsageError(`patch: head ${p.head} is outside 0..${nHeads - 1}`);
    return { site: p.site, layer: p.layer, head: p.head };
  }
  if (p.site !== 'resid_pre' || p.pos === undefined) return { site: p.site, layer: p.layer };
  const pos = p.pos < 0 ? T + p.pos : p.pos;
  if (!(Number.isInteger(p.pos) && pos >= 0 && pos < T))
    throw new UsageError(`patch: position ${p.pos} is outside 0..${T - 1} (or -${T}..-1)`);
  return { site: p.site, layer: p.layer, pos };
}

export async function patchedGeneration(
  model: Model,
  source: number[],
  target: number[],
  patch: Experiment,
  metric: PatchMetric,
  opts: PatchedGenerationOptions = {},
): Promise<PatchedGeneration> {
  const { nLayers, nHeads, headDim, vocabSize: V } = model.config;
  checkMetric(metric, V);
  if (source.length === 0) throw new UsageError('patch: the source prompt is empty');
  if (source.length !== target.length)
    throw new UsageError(
      `patch: the source prompt has ${source.length} tokens and the target ${target.length}; ` +
        'patches are aligned by position, so both must have the same length (reword one of them)',
    );
  const T = source.length;
  const e = resolvePatch(patch, nLayers, nHeads, T);
  const hook = hookOf(e);
  const src = await model.forward([source], { cache: [hook], logits: 'last' });
  const clean = src.cache.get(hook)!.data;
  const patchHook: Hook = {
    name: hook,
    fn: (act, ctx) => {
      if (ctx.step !== 0) return; // generated tokens: no source activation to restore
      applyPatch(e, act, 0, clean, { t: T, width: act.length / (ctx.batch * ctx.pos), headDim });
    },
  };
  const base = await model.forward([target], { logits: 'last' });
  const patched = await model.forward([target], { hooks: [patchHook], logits: 'last' });
  const gen = { maxNewTokens: opts.maxNewTokens, stopTokens: opts.stopTokens, signal: opts.signal };
  const before = (await model.generate([target], gen)).tokens[0];
  const after = (await model.generate([target], { ...gen, hooks: [patchHook] })).tokens[0];
  return {
    patch: e,
    hook,
    metric: metric.kind,
    target: metricValue(metric, base.logits, 0, V),
    source: metricValue(metric, src.logits, 0, V),
    patched: metricValue(metric, patched.logits, 0, V),
    before,
    after,
    tokens: { source: tokenLabels(model, source), target: tokenLabels(model, target) },
  };
}
