/**
 * tiny-chat with the shipped prompt lists, chat-encoded, and difference-in-means candidates from the first `nTrain`
 * prompts of each list: the setting of the candidate-scoring tests. Val prompts are the given index ranges.
 */
import path from 'node:path';
import { candidateDirections } from '../../analysis/direction/candidate-directions.ts';
import type { Candidates } from '../../analysis/direction/diff-means.ts';
import { defaultRefusalTokens, encodeInstructions } from '../../analysis/model-runs.ts';
import { loadPrompts } from '../../analysis/prompts/prompts.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/types.ts';
import { projectRoot } from './shared.ts';

export interface TinyChatCandidates {
  model: Model;
  cands: Candidates;
  /** Harmful and harmless val prompts (token ids). */
  hv: number[][];
  sv: number[][];
  refusal: number[];
}

export async function tinyChatCandidates(
  nTrain: number,
  harmfulVal: [number, number],
  harmlessVal: [number, number],
): Promise<TinyChatCandidates> {
  const model = await loadModel(path.join(projectRoot, 'models/tiny-chat'));
  const harmful = loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json'));
  const harmless = loadPrompts(path.join(projectRoot, 'data/prompts/harmless.json'));
  const ids = (xs: typeof harmful) =>
    encodeInstructions(
      model,
      xs.map((p) => p.instruction),
    );
  const nPos = model.tokenizer!.postInstructionIds().length;
  const cands = await candidateDirections(model, ids(harmful.slice(0, nTrain)), ids(harmless.slice(0, nTrain)), nPos);
  return {
    model,
    cands,
    hv: ids(harmful.slice(...harmfulVal)),
    sv: ids(harmless.slice(...harmlessVal)),
    refusal: defaultRefusalTokens(model.tokenizer!),
  };
}
