/** One model's behaviour on the study's evaluation prompts: refusal (rate and score), KL to the original, perplexity. */
import type { Hook, Model } from '../../models/types.ts';
import { crossEntropy, evaluateRefusal, klPerPrompt, responseSequences } from '../eval/evaluate.ts';
import { bootstrapMean, rateOf } from '../stats/intervals.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import type { Judge } from '../eval/judge.ts';
import type { ModelEvaluation } from './summary.ts';

export interface EvalSets {
  harmful: PromptItem[];
  harmless: PromptItem[];
  /** Prompt + response pairs for the response-only perplexity. */
  pairs: { instruction: string; output: string }[];
}

export interface EvalSettings {
  maxTokens: number;
  refusalTokens: number[];
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (n: number) => void;
  /** Bootstrap replicates and seed of the KL interval. */
  bootstrap?: number;
  bootstrapSeed?: number;
  /** Refusal judge of every completion (default: the substring judge). */
  judge?: Judge;
}

/** Prompt work units evaluateModel reports through onBatch (for a progress total). */
export const evalWork = (s: EvalSets, withKl: boolean): number => s.harmful.length + s.harmless.length + (withKl ? s.harmless.length : 0);

export async function evaluateModel(
  model: Model,
  original: Model | null,
  sets: EvalSets,
  o: EvalSettings,
  hooks?: Hook[],
): Promise<ModelEvaluation> {
  const generation = {
    maxNewTokens: o.maxTokens,
    refusalTokens: o.refusalTokens,
    batchSize: o.batchSize,
    signal: o.signal,
    hooks,
    onBatch: o.onBatch,
    judge: o.judge,
  };
  const harmful = await evaluateRefusal(model, sets.harmful, generation);
  const harmless = await evaluateRefusal(model, sets.harmless, generation);
  let kl = { value: 0, lo: 0, hi: 0 };
  if (original) {
    const per = await klPerPrompt({ model: original }, { model, hooks }, sets.harmless, { batchSize: o.batchSize, signal: o.signal });
    kl = bootstrapMean(per, { replicates: o.bootstrap, seed: o.bootstrapSeed });
    o.onBatch?.(sets.harmless.length);
  }
  const ppl = sets.pairs.length
    ? (await crossEntropy(model, responseSequences(model, sets.pairs), { hooks, signal: o.signal })).perplexity
    : NaN;
  return {
    refusalRate: {
      harmful: rateOf(harmful.completions.map((c) => c.refused)),
      harmless: rateOf(harmless.completions.map((c) => c.refused)),
    },
    refusalScore: { harmful: harmful.refusalScore, harmless: harmless.refusalScore },
    kl,
    perplexity: ppl,
  };
}
