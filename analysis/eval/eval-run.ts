/**
 * What `glassbox eval` computes, as one call: refusal rate / score of greedy completions under an intervention,
 * optionally KL against a base configuration and CE / perplexity on a response or text source. `EvalReport` is
 * the command's --json output format.
 */
import type { Model } from '../../models/types.ts';
import type { Intervention } from '../intervene/intervention-spec.ts';
import { type Progress, silentProgress } from '../progress.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import type { Judge } from './judge.ts';
import { type CompletionRecord, type RefusalEval, crossEntropy, evaluateRefusal, klBetween } from './evaluate.ts';
import { type PplSource, pplSequences } from './ppl-text.ts';

export interface EvalRunOptions {
  /** The model folder's name, for the report. */
  modelName: string;
  intervention: Intervention;
  maxNewTokens: number;
  batchSize?: number;
  refusalTokens: readonly number[];
  /** Also report KL(base || evaluated) at the last prompt position against this model, without the intervention. */
  klBase?: Model;
  /** Refusal judge of the completions (default: the substring judge). */
  judge?: Judge;
  /** Also report CE / perplexity of the evaluated configuration on this source. */
  ppl?: PplSource;
  signal?: AbortSignal;
  progress?: Progress;
}

/** The eval command's result (key order is the --json output's). */
export interface EvalReport {
  refusalRate: number;
  refusalScore: number;
  n: number;
  perCategory: RefusalEval['perCategory'];
  kl?: number;
  ce?: number;
  perplexity?: number;
  pplTokens?: number;
  intervention: Record<string, unknown>;
  model: string;
  maxNewTokens: number;
  seconds: number;
  completions: CompletionRecord[];
}

export async function runEvaluation(model: Model, items: readonly PromptItem[], o: EvalRunOptions): Promise<EvalReport> {
  const { hooks } = o.intervention;
  const { batchSize, signal } = o;
  const progress = o.progress ?? silentProgress;
  const t0 = performance.now();
  let ev: RefusalEval;
  try {
    progress.start('generating', items.length);
    ev = await evaluateRefusal(model, items, {
      hooks,
      maxNewTokens: o.maxNewTokens,
      batchSize,
      signal,
      refusalTokens: o.refusalTokens,
      judge: o.judge,
      onBatch: (k) => progress.increment(k),
    });
  } finally {
    progress.stop();
  }
  const extra: Pick<EvalReport, 'kl' | 'ce' | 'perplexity' | 'pplTokens'> = {};
  if (o.klBase) extra.kl = await klBetween({ model: o.klBase }, { model, hooks }, items, { batchSize, signal });
  if (o.ppl) {
    const ppl = await crossEntropy(model, pplSequences(model, o.ppl), { hooks, signal });
    Object.assign(extra, { ce: ppl.ce, perplexity: ppl.perplexity, pplTokens: ppl.tokens });
  }
  return {
    refusalRate: ev.refusalRate,
    refusalScore: ev.refusalScore,
    n: ev.n,
    perCategory: ev.perCategory,
    ...extra,
    intervention: o.intervention.describe,
    model: o.modelName,
    maxNewTokens: o.maxNewTokens,
    seconds: (performance.now() - t0) / 1000,
    completions: ev.completions,
  };
}
