/**
 * The refusal-direction pipeline (docs/method-notes.md §2.1-2.5): sample splits, filter by refusal score, compute
 * difference-in-means candidates at the post-instruction positions, score and select one.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { candidateDirections } from './candidate-directions.ts';
import { scoreCandidates, scoringWork } from './candidate-scores.ts';
import type { Candidates } from './diff-means.ts';
import { checkRefusalTokens, defaultRefusalTokens, encodeInstructions, refusalScores, requireTokenizer } from '../model-runs.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { sample, trainValSplit } from '../prompts/sampling.ts';
import { type CandidateScore, type Selection, selectDirection } from './selection.ts';

export interface DirectionInputs {
  harmful: PromptItem[];
  harmless: PromptItem[];
  /** Separate val lists; without them val is sampled from the train lists, disjoint from the train sample. */
  harmfulVal?: PromptItem[];
  harmlessVal?: PromptItem[];
}

export interface DirectionOptions {
  nTrain?: number; // 128
  nVal?: number; // 32
  seed?: number; // 42
  maxLayerFraction?: number; // 0.8
  refusalTokens?: number[];
  /** Filter train/val by the base model's refusal score (harmful > 0, harmless < 0). Default true. */
  filter?: boolean;
  batchSize?: number;
  signal?: AbortSignal;
  progress?: Progress;
  /** Score only some candidates (quick profiles, tests). */
  include?: (pos: number, layer: number) => boolean;
}

export interface Splits {
  harmfulTrain: PromptItem[];
  harmlessTrain: PromptItem[];
  harmfulVal: PromptItem[];
  harmlessVal: PromptItem[];
}

export interface DirectionResult {
  splits: Splits;
  /** Sizes before filtering. */
  sampled: Record<keyof Splits, number>;
  refusalTokens: number[];
  eoiIds: number[];
  candidates: Candidates;
  scores: CandidateScore[];
  selection: Selection;
  /** The selected raw vector r[pos, layer] (float64). */
  direction: Float64Array;
  warnings: string[];
  timings: Record<string, number>;
}

/** Samples the four splits as Arditi's run_pipeline does (one seed; val disjoint from train). */
export function sampleSplits(inp: DirectionInputs, nTrain: number, nVal: number, seed: number): Splits {
  const pick = (train: PromptItem[], val: PromptItem[] | undefined, off: number) => {
    if (val) return { train: sample(train, nTrain, seed + off), val: sample(val, nVal, seed + off + 1) };
    return trainValSplit(train, nTrain, nVal, seed + off);
  };
  const h = pick(inp.harmful, inp.harmfulVal, 0);
  const s = pick(inp.harmless, inp.harmlessVal, 2);
  return { harmfulTrain: h.train, harmfulVal: h.val, harmlessTrain: s.train, harmlessVal: s.val };
}

export async function runDirection(model: Model, inp: DirectionInputs, o: DirectionOptions = {}): Promise<DirectionResult> {
  try {
    return await directionStages(model, inp, o);
  } finally {
    // A bar left running (error or interrupt mid-stage) would keep its redraw timer, and the process, alive.
    o.progress?.stop();
  }
}

async function directionStages(model: Model, inp: DirectionInputs, o: DirectionOptions): Promise<DirectionResult> {
  const tok = requireTokenizer(model, 'direction');
  const progress = o.progress ?? silentProgress;
  const refusalIds = o.refusalTokens ?? defaultRefusalTokens(tok);
  checkRefusalTokens(refusalIds, model.config.vocabSize);
  const eoiIds = tok.postInstructionIds();
  if (eoiIds.length === 0) throw new UsageError(`direction: the chat template has no post-instruction tokens`);
  const nPos = eoiIds.length;
  const warnings: string[] = [];
  const timings: Record<string, number> = {};
  const batching = { batchSize: o.batchSize, signal: o.signal };
  let t0 = performance.now();

  const splits = sampleSplits(inp, o.nTrain ?? 128, o.nVal ?? 32, o.seed ?? 42);
  const sampled = Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length])) as Record<keyof Splits, number>;
  for (const [k, v] of Object.entries(splits)) if (v.length === 0) throw new UsageError(`direction: split ${k} is empty (too few prompts)`);

  if (o.filter ?? true) {
    const total = Object.values(splits).reduce((a, v) => a + v.length, 0);
    progress.start('filtering', total);
    for (const key of Object.keys(splits) as (keyof Splits)[]) {
      const items = splits[key];
      const harmful = key.startsWith('harmful');
      const scores = await refusalScores(model, encodeInstructions(model, items.map((p) => p.instruction)), refusalIds, { ...batching, onBatch: (n) => progress.increment(n) });
      const kept = items.filter((_, i) => (harmful ? scores[i] > 0 : scores[i] < 0));
      if (kept.length === 0) warnings.push(`filtering would empty ${key} (${items.length} prompts): kept it unfiltered`);
      else splits[key] = kept;
    }
    progress.stop();
  }
  timings.filterMs = performance.now() - t0;

  t0 = performance.now();
  const enc = (xs: PromptItem[]) => encodeInstructions(model, xs.map((p) => p.instruction));
  const [hTrain, sTrain, hVal, sVal] = [enc(splits.harmfulTrain), enc(splits.harmlessTrain), enc(splits.harmfulVal), enc(splits.harmlessVal)];
  for (const ids of [...hTrain, ...sTrain]) {
    const tail = ids.slice(ids.length - nPos);
    if (tail.some((t, i) => t !== eoiIds[i])) {
      warnings.push('some prompts do not end with the post-instruction tokens; positions are still the last |EOI| tokens');
      break;
    }
  }
  progress.start('difference in means', hTrain.length + sTrain.length);
  const candidates = await candidateDirections(model, hTrain, sTrain, nPos, { ...batching, onBatch: (n) => progress.increment(n) });
  progress.stop();
  timings.meansMs = performance.now() - t0;

  t0 = performance.now();
  progress.start('scoring candidates', scoringWork(candidates, hVal.length, sVal.length));
  const scores = await scoreCandidates(model, candidates, hVal, sVal, { ...batching, refusalIds, include: o.include, onBatch: (n) => progress.increment(n) });
  progress.stop();
  timings.scoreMs = performance.now() - t0;

  const selection = selectDirection(scores, { nLayers: model.config.nLayers, maxLayerFraction: o.maxLayerFraction ?? 0.8 });
  if (!selection.filtered) warnings.push('no candidate passed the filters: selected the best bypass within the layer filter (filtered: false)');
  const { pos, layer } = selection.selected;
  const direction = candidates.get(pos + nPos, layer);
  let ss = 0;
  for (const x of direction) ss += x * x;
  if (!(ss > 0) || !Number.isFinite(ss))
    throw new UsageError(`direction: the selected direction (pos ${pos}, layer ${layer}) has zero norm: harmful and harmless activations coincide (degenerate prompt data); nothing written`);
  return { splits, sampled, refusalTokens: refusalIds, eoiIds, candidates, scores, selection, direction, warnings, timings };
}
