/**
 * The refusal-direction pipeline (docs/method-notes.md §2.1-2.5): sample splits, filter by refusal score, compute
 * difference-in-means candidates at the post-instruction positions, score and select one.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { candidateDirections, filterAndAccumulate } from './candidate-directions.ts';
import { scoreCandidates } from './candidate-scores.ts';
import { Candidates, type MeanAccumulator } from './diff-means.ts';
import { checkRefusalTokens, defaultRefusalTokens, encodeInstructions, refusalScores, requireTokenizer } from '../model-runs.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import { type PhaseTimer, type Progress, noPhaseTimer, silentProgress } from '../progress.ts';
import { sample, threeWaySplit, trainValSplit } from '../prompts/sampling.ts';
import { type CandidateScore, type Selection, maxLayerOf, selectDirection } from './selection.ts';

export interface DirectionInputs {
  harmful: PromptItem[];
  harmless: PromptItem[];
  /** Separate val lists; without them val is sampled from the train lists, disjoint from the train sample. */
  harmfulVal?: PromptItem[];
  harmlessVal?: PromptItem[];
  /** Separate held-out test lists (--eval-harmful / --eval-harmless); without them test is split off the train lists. */
  harmfulTest?: PromptItem[];
  harmlessTest?: PromptItem[];
}

export interface DirectionOptions {
  nTrain?: number; // 128
  nVal?: number; // 32
  /** Held-out test prompts per class, never used for selection (0: no test split). Default 0. */
  nTest?: number;
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
  /**
   * Also score candidates at layers the --max-layer-fraction filter drops afterwards (default false: they could
   * never be selected, and at 0.8 they are a fifth of the scoring cost).
   */
  scoreAllLayers?: boolean;
  /**
   * Compute induce and KL for every scored candidate (default false: only in the selection's order until it is
   * decided, lazy-scores.ts; the same selection, the other candidates' induce/KL left NaN and named in `skipped`).
   */
  allScores?: boolean;
  /**
   * Receives the phases 'filter (refusal scores)', 'difference in means', the scoring parts (candidate-scores.ts) and
   * 'selection'; the benchmark reads wall and CPU time through it.
   */
  timer?: PhaseTimer;
  /** Start each induce run at the candidate's layer from cached residuals (default true; candidate-scores.ts). */
  induceFromResiduals?: boolean;
}

export interface Splits {
  harmfulTrain: PromptItem[];
  harmlessTrain: PromptItem[];
  harmfulVal: PromptItem[];
  harmlessVal: PromptItem[];
}

/** The four selection splits plus the held-out test split that reported numbers are measured on. */
export interface HeldOutSplits extends Splits {
  harmfulTest: PromptItem[];
  harmlessTest: PromptItem[];
}

export interface DirectionResult {
  /** Selection splits after the refusal-score filter. */
  splits: Splits;
  /** Every split as sampled (before filtering), the unfiltered held-out test split included. */
  sampledSplits: HeldOutSplits;
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

/**
 * Samples the splits as Arditi's run_pipeline does (one seed; val disjoint from train), plus a held-out test split
 * (nTest > 0) that selects nothing: from the test files when given, else split off the train lists (three-way
 * 60/20/20 when a list is short; with a val file, train/test 80/20). Test prompts whose text also appears in
 * train or val (possible only with separate files) are dropped, so the test split is disjoint by text.
 */
export function sampleSplits(inp: DirectionInputs, nTrain: number, nVal: number, seed: number, nTest = 0): HeldOutSplits {
  const pick = (train: PromptItem[], val: PromptItem[] | undefined, test: PromptItem[] | undefined, off: number) => {
    const testOf = (items: PromptItem[]) => (nTest > 0 ? sample(items, nTest, seed + off + 7) : []);
    if (val && test) return { train: sample(train, nTrain, seed + off), val: sample(val, nVal, seed + off + 1), test: testOf(test) };
    if (val) {
      if (nTest <= 0) return { train: sample(train, nTrain, seed + off), val: sample(val, nVal, seed + off + 1), test: [] };
      const tt = trainValSplit(train, nTrain, nTest, seed + off);
      return { train: tt.train, val: sample(val, nVal, seed + off + 1), test: tt.val };
    }
    if (test || nTest <= 0) return { ...trainValSplit(train, nTrain, nVal, seed + off), test: test ? testOf(test) : [] };
    return threeWaySplit(train, nTrain, nVal, nTest, seed + off);
  };
  const disjoint = (p: { train: PromptItem[]; val: PromptItem[]; test: PromptItem[] }) => {
    const used = new Set([...p.train, ...p.val].map((x) => x.instruction.trim()));
    return { ...p, test: p.test.filter((x) => !used.has(x.instruction.trim())) };
  };
  const h = disjoint(pick(inp.harmful, inp.harmfulVal, inp.harmfulTest, 0));
  const s = disjoint(pick(inp.harmless, inp.harmlessVal, inp.harmlessTest, 2));
  return {
    harmfulTrain: h.train,
    harmfulVal: h.val,
    harmlessTrain: s.train,
    harmlessVal: s.val,
    harmfulTest: h.test,
    harmlessTest: s.test,
  };
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
  const timer = o.timer ?? noPhaseTimer;
  let t0 = performance.now();

  const sampledSplits = sampleSplits(inp, o.nTrain ?? 128, o.nVal ?? 32, o.seed ?? 42, o.nTest ?? 0);
  const { harmfulTest, harmlessTest, ...selecting } = sampledSplits;
  const splits: Splits = { ...selecting };
  const sampled = Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length])) as Record<keyof Splits, number>;
  for (const [k, v] of Object.entries(splits)) if (v.length === 0) throw new UsageError(`direction: split ${k} is empty (too few prompts)`);
  if ((o.nTest ?? 0) > 0)
    for (const [k, v] of Object.entries({ harmfulTest, harmlessTest }))
      if (v.length === 0)
        throw new UsageError(`direction: held-out split ${k} is empty (too few prompts, or every test prompt is also a train/val prompt)`);

  let stop = timer.begin('filter (refusal scores)');
  // The train prompts' filter pass also sums their residuals for the difference in means (filterAndAccumulate), so
  // they are run once, not twice.
  const trainMeans = new Map<keyof Splits, MeanAccumulator>();
  if (o.filter ?? true) {
    const total = Object.values(splits).reduce((a, v) => a + v.length, 0);
    progress.start('filtering', total);
    for (const key of Object.keys(splits) as (keyof Splits)[]) {
      const items = splits[key];
      const harmful = key.startsWith('harmful');
      const keep = (score: number) => (harmful ? score > 0 : score < 0);
      const ids = encodeInstructions(
        model,
        items.map((p) => p.instruction),
      );
      const onBatch = (n: number) => progress.increment(n);
      let scores: Float64Array;
      if (key.endsWith('Train')) {
        const f = await filterAndAccumulate(model, ids, nPos, refusalIds, keep, { ...batching, onBatch });
        scores = f.scores;
        trainMeans.set(key, f.kept.count > 0 ? f.kept : f.all);
      } else scores = await refusalScores(model, ids, refusalIds, { ...batching, onBatch });
      const kept = items.filter((_, i) => keep(scores[i]));
      if (kept.length === 0) warnings.push(`filtering would empty ${key} (${items.length} prompts): kept it unfiltered`);
      else splits[key] = kept;
    }
    progress.stop();
  }
  stop();
  timings.filterMs = performance.now() - t0;

  t0 = performance.now();
  const enc = (xs: PromptItem[]) =>
    encodeInstructions(
      model,
      xs.map((p) => p.instruction),
    );
  const [hTrain, sTrain, hVal, sVal] = [
    enc(splits.harmfulTrain),
    enc(splits.harmlessTrain),
    enc(splits.harmfulVal),
    enc(splits.harmlessVal),
  ];
  for (const ids of [...hTrain, ...sTrain]) {
    const tail = ids.slice(ids.length - nPos);
    if (tail.some((t, i) => t !== eoiIds[i])) {
      warnings.push('some prompts do not end with the post-instruction tokens; positions are still the last |EOI| tokens');
      break;
    }
  }
  stop = timer.begin('difference in means');
  const [mu, nu] = [trainMeans.get('harmfulTrain'), trainMeans.get('harmlessTrain')];
  let candidates: Candidates;
  if (mu && nu) candidates = Candidates.fromMeans(mu, nu);
  else {
    progress.start('difference in means', hTrain.length + sTrain.length);
    candidates = await candidateDirections(model, hTrain, sTrain, nPos, { ...batching, onBatch: (n) => progress.increment(n) });
    progress.stop();
  }
  stop();
  timings.meansMs = performance.now() - t0;

  t0 = performance.now();
  const maxLayer = maxLayerOf(model.config.nLayers, o.maxLayerFraction ?? 0.8);
  const include = o.scoreAllLayers ? o.include : (pos: number, layer: number) => layer < maxLayer && (o.include?.(pos, layer) ?? true);
  const selectionOptions = { nLayers: model.config.nLayers, maxLayerFraction: o.maxLayerFraction ?? 0.8 };
  const scores = await scoreCandidates(model, candidates, hVal, sVal, {
    ...batching,
    refusalIds,
    include,
    selection: o.allScores ? undefined : selectionOptions,
    timer,
    induceFromResiduals: o.induceFromResiduals,
    progress,
  });
  progress.stop();
  timings.scoreMs = performance.now() - t0;

  stop = timer.begin('selection');
  const selection = selectDirection(scores, selectionOptions);
  stop();
  if (!selection.filtered)
    warnings.push('no candidate passed the filters: selected the best bypass within the layer filter (filtered: false)');
  const { pos, layer } = selection.selected;
  const direction = candidates.get(pos + nPos, layer);
  let ss = 0;
  for (const x of direction) ss += x * x;
  if (!(ss > 0) || !Number.isFinite(ss))
    throw new UsageError(
      `direction: the selected direction (pos ${pos}, layer ${layer}) has zero norm: harmful and harmless activations coincide (degenerate prompt data); nothing written`,
    );
  return { splits, sampledSplits, sampled, refusalTokens: refusalIds, eoiIds, candidates, scores, selection, direction, warnings, timings };
}
