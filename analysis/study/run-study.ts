/**
 * The compression study (Chhabra & Khalili 2025 as reconstructed in docs/method-notes.md §1): the Arditi pipeline on
 * the original, then for each compression method: compress, rerun the pipeline on the compressed model with
 * the original's (filtered) splits, compare directions, evaluate behaviour, and optionally apply
 * AIRD (reconstruction) and evaluate again.
 */
import type { Model } from '../../models/types.ts';
import { type CompressedModel, compressModel, weightStats } from '../compress/apply.ts';
import type { MethodSpec } from '../compress/methods.ts';
import { cosine } from '../vector-math.ts';
import { type DirectionInputs, type DirectionOptions, type DirectionResult, runDirection } from '../direction/direction-pipeline.ts';
import { calibrationSequences, type CalibrationSource } from '../compress/calibration-data.ts';
import { cosineIntervals, promptResiduals, splitHalfCosine, type PromptResiduals } from './direction-intervals.ts';
import { studySplits } from './splits.ts';
import { encodeInstructions, lastLogits, logProbsOf, refusalScoresOf } from '../model-runs.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { maxLayerOf } from '../direction/selection.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { addProjection, projectionProbe } from '../project/study-projection.ts';
import type { ProjectionComparison } from '../project/study-projection.ts';
import { AIRD_LABEL } from './aird-math.ts';
import { type AirdOptions, type AirdVariant, applyAird, defaultEditLayer } from './aird.ts';
import { lowestCosineLayer, perLayerCosine } from './compare.ts';
import { evaluateModel, evalWork, type EvalSets } from './evaluate-model.ts';
import type { AirdSummary, Interval, MethodResult, ModelEvaluation, SelectedSource, StudySummary } from './summary.ts';
import { type Judge, substringJudge } from '../eval/judge.ts';
import { attackSuccessOf, heldOutGoals } from './benchmark-eval.ts';

export type AirdLayerRule = 'source' | 'lowest-cosine' | 'search';

export interface AirdSettings {
  variant: AirdVariant;
  layerRule: AirdLayerRule | number;
  keepF32: boolean;
  alpha?: number;
}

export interface StudyInputs {
  modelName: string;
  harmful: PromptItem[];
  harmless: PromptItem[];
  /** Held-out test lists (--eval-harmful / --eval-harmless); without them the test split comes from the lists above. */
  harmfulTest?: PromptItem[];
  harmlessTest?: PromptItem[];
  /** File names of the lists, for summary.json's `splits` (indices into these files). */
  files?: { harmful: string; harmless: string; harmfulTest?: string; harmlessTest?: string };
  pairs: { instruction: string; output: string }[];
}

export interface StudyOptions {
  methods: MethodSpec[];
  aird: AirdSettings | null;
  nTrain: number;
  nVal: number;
  /** Held-out test prompts per class (reported rates, KL); default 100 (Arditi's n_test). */
  nTest?: number;
  maxTokens: number;
  seed: number;
  maxLayerFraction: number;
  /** Score candidates at layers the layer filter drops too (default false). */
  scoreAllLayers?: boolean;
  /** Induce and KL for every candidate, not only until the selection is decided (default false; same selection). */
  allScores?: boolean;
  /** Calibration sequences = 2 × nCalibration (default 16: 32 sequences). */
  nCalibration?: number;
  /** Calibration data (default: the 'prompts' behaviour; the CLI passes the shipped generic text). */
  calibration?: CalibrationSource;
  /** Bootstrap replicates of every cosine / KL interval (default 1000). */
  bootstrap?: number;
  batchSize?: number;
  signal?: AbortSignal;
  progress?: Progress;
  log?: (line: string) => void;
  /** Harmful benchmark goals for attack success (`--benchmark`), and the judge of every completion (default substring). */
  benchmark?: { file: string; format: string; items: PromptItem[] };
  judge?: Judge;
  /** Called with each compressed model (e.g. to save it) before it is dropped. */
  onCompressed?: (name: string, model: Model) => Promise<void> | void;
}

export interface StudyOutput {
  summary: StudySummary;
  /** Selected raw directions: 'original' and each method name. */
  directions: Map<string, { r: Float32Array; pos: number; layer: number }>;
}

/** Evaluates a model (against a reference model for KL, or none), under a progress label. */
type Evaluate = (label: string, model: Model, reference: Model | null) => Promise<ModelEvaluation>;

/** What every step of the study shares. */
interface StudyContext {
  original: Model;
  options: StudyOptions;
  progress: Progress;
  log: (line: string) => void;
  /** Warnings for summary.json, in the order they arise. */
  warnings: string[];
  /** Settings of every direction run (original and compressed). */
  directionOptions: DirectionOptions;
  /** Bootstrap replicates and seed of every interval. */
  bootstrap: { replicates: number; seed: number };
  /** Benchmark goals that selected nothing (set once the original's splits are known), or null without --benchmark. */
  goals: PromptItem[] | null;
}

export async function runStudy(original: Model, inputs: StudyInputs, options: StudyOptions): Promise<StudyOutput> {
  const progress = options.progress ?? silentProgress;
  try {
    return await study(original, inputs, options, progress);
  } finally {
    // A bar left running (error mid-step) would keep its timer, and the process, alive.
    progress.stop();
  }
}

/** The study's procedure, step by step. */
async function study(original: Model, inputs: StudyInputs, options: StudyOptions, progress: Progress): Promise<StudyOutput> {
  const t0 = performance.now();
  const { nTrain, nVal, seed, maxLayerFraction, batchSize, signal, scoreAllLayers, allScores } = options;
  const ctx: StudyContext = {
    original,
    options,
    progress,
    log: options.log ?? (() => {}),
    warnings: [],
    directionOptions: { nTrain, nVal, seed, maxLayerFraction, scoreAllLayers, allScores, batchSize, signal, progress },
    bootstrap: { replicates: options.bootstrap ?? 1000, seed: seed + 1 },
    goals: null,
  };

  // 1. The original model's refusal direction (sample, filter, difference in means, select).
  const originalDirection = await findOriginalDirection(ctx, inputs);

  // 2. Its behaviour on the held-out test prompts, and its own noise floor (split-half over the train prompts).
  const evalSets = evaluationSets(ctx, inputs, originalDirection);
  const evaluate = evaluator(ctx, evalSets, originalDirection.refusalTokens);
  if (options.benchmark) {
    const held = heldOutGoals(options.benchmark.items, originalDirection.splits);
    if (held.dropped) ctx.warnings.push(`benchmark: dropped ${held.dropped} goal(s) that are train/val prompts of the direction`);
    ctx.goals = held.kept;
  }
  const originalEvaluation = await evaluate('evaluate original', original, null);
  await addAttackSuccess(ctx, 'original', original, originalEvaluation, originalDirection.direction);
  const directions: StudyOutput['directions'] = new Map();
  directions.set('original', selectedDirection(originalDirection));
  const residualsOf = trainResiduals(ctx, originalDirection);
  const originalResiduals = await residualsOf(original, originalDirection.selection.selected.pos);
  const originalSplitHalf = splitHalfCosine(originalResiduals, originalDirection.selection.selected.layer, ctx.bootstrap);

  // The projection heatmap: one harmful evaluation prompt, every model projected onto the original's direction.
  const probeDirection = Float32Array.from(originalDirection.direction);
  const projection = evalSets.harmful[0] ? await projectionProbe(original, evalSets.harmful[0].instruction, probeDirection) : undefined;

  // 3. Calibration data for the methods that need it (generic text by default).
  const nCal = options.nCalibration ?? 16;
  const { harmfulTrain, harmlessTrain } = originalDirection.splits;
  const cal = calibrationSequences(original, options.calibration ?? { kind: 'prompts' }, { n: 2 * nCal, harmfulTrain, harmlessTrain });
  const calibration = cal.ids;

  // 4. Each method: compress, find the compressed model's direction, compare, evaluate, optionally AIRD.
  const methods: MethodResult[] = [];
  for (const spec of options.methods) {
    methods.push(
      await studyMethod(ctx, spec, { originalDirection, calibration, evaluate, directions, residualsOf, originalResiduals, projection }),
    );
  }

  // 5. The summary.
  const seconds = (performance.now() - t0) / 1000;
  const summary = summarize(ctx, inputs, {
    originalDirection,
    originalEvaluation,
    originalSplitHalf,
    evalSets,
    calibration,
    calibrationLabel: cal.label,
    methods,
    seconds,
    projection,
  });
  return { summary, directions };
}

async function findOriginalDirection(ctx: StudyContext, inputs: StudyInputs): Promise<DirectionResult> {
  ctx.log('original: refusal direction');
  const { harmful, harmless, harmfulTest, harmlessTest } = inputs;
  const result = await runDirection(
    ctx.original,
    { harmful, harmless, harmfulTest, harmlessTest },
    { ...ctx.directionOptions, nTest: ctx.options.nTest ?? 100 },
  );
  ctx.warnings.push(...result.warnings.map((w) => `original: ${w}`));
  return result;
}

/**
 * Held-out evaluation: behaviour is measured on the test split, which selected nothing (the val prompts chose the
 * direction and the AIRD block); as sampled, before the refusal-score filter, so not biased towards prompts the
 * original already refuses.
 */
function evaluationSets(ctx: StudyContext, inputs: StudyInputs, originalDirection: DirectionResult): EvalSets {
  const { harmfulTest, harmlessTest } = originalDirection.sampledSplits;
  const sp = originalDirection.splits;
  ctx.log(
    `prompts: train ${sp.harmfulTrain.length}+${sp.harmlessTrain.length}, val ${sp.harmfulVal.length}+${sp.harmlessVal.length} (after the refusal-score filter) select; test ${harmfulTest.length}+${harmlessTest.length} report`,
  );
  return { harmful: harmfulTest, harmless: harmlessTest, pairs: inputs.pairs };
}

/** Per-prompt residuals of a model over the original's (filtered) train prompts at one position (bootstrap input). */
function trainResiduals(ctx: StudyContext, originalDirection: DirectionResult): (model: Model, pos: number) => Promise<PromptResiduals> {
  const { harmfulTrain, harmlessTrain } = originalDirection.splits;
  const harmful = encodeInstructions(
    ctx.original,
    harmfulTrain.map((p) => p.instruction),
  );
  const harmless = encodeInstructions(
    ctx.original,
    harmlessTrain.map((p) => p.instruction),
  );
  return (model, pos) => promptResiduals(model, harmful, harmless, pos, { batchSize: ctx.options.batchSize, signal: ctx.options.signal });
}

function evaluator(ctx: StudyContext, sets: EvalSets, refusalTokens: number[]): Evaluate {
  const { progress, options: o } = ctx;
  const settings = {
    maxTokens: o.maxTokens,
    refusalTokens,
    batchSize: o.batchSize,
    signal: o.signal,
    bootstrap: ctx.bootstrap.replicates,
    bootstrapSeed: ctx.bootstrap.seed,
    judge: o.judge,
  };
  return async (label, model, reference) => {
    progress.start(label, evalWork(sets, reference !== null));
    const evaluation = await evaluateModel(model, reference, sets, { ...settings, onBatch: (n) => progress.increment(n) });
    progress.stop();
    return evaluation;
  };
}

/** With --benchmark: attack success of a model as it is and (given its direction) under ablation, onto `into`. */
async function addAttackSuccess(
  ctx: StudyContext,
  label: string,
  model: Model,
  into: ModelEvaluation,
  direction: ArrayLike<number> | null,
): Promise<void> {
  if (!ctx.goals) return;
  const { progress, options: o } = ctx;
  progress.start(`benchmark ${label}`, ctx.goals.length * (direction ? 2 : 1));
  into.attackSuccess = await attackSuccessOf(model, ctx.goals, direction, {
    judge: o.judge ?? substringJudge,
    maxNewTokens: o.maxTokens,
    batchSize: o.batchSize,
    signal: o.signal,
    onBatch: (n) => progress.increment(n),
  });
  progress.stop();
}

function selectedDirection(d: DirectionResult): { r: Float32Array; pos: number; layer: number } {
  const { pos, layer } = d.selection.selected;
  return { r: Float32Array.from(d.direction), pos, layer };
}

const selectedOf = (d: DirectionResult): SelectedSource => {
  const s = d.selection.selected;
  return { pos: s.pos, layer: s.layer, filtered: d.selection.filtered, bypass: s.bypass, induce: s.induce, kl: s.kl };
};

interface MethodStepInputs {
  originalDirection: DirectionResult;
  calibration: number[][];
  evaluate: Evaluate;
  /** Receives the compressed model's selected direction under the method's name. */
  directions: StudyOutput['directions'];
  /** Per-prompt train residuals of a model at a position, and the original's at its selected position. */
  residualsOf: (model: Model, pos: number) => Promise<PromptResiduals>;
  originalResiduals: PromptResiduals;
  /** Receives the compressed model's projection onto the original direction (the report's heatmap). */
  projection: ProjectionComparison | undefined;
}

/** One compression method, start to end. */
async function studyMethod(ctx: StudyContext, spec: MethodSpec, inp: MethodStepInputs): Promise<MethodResult> {
  const { originalDirection, evaluate } = inp;
  const compressed = await compress(ctx, spec, inp.calibration);
  try {
    await ctx.options.onCompressed?.(spec.name, compressed.model);
    if (inp.projection) await addProjection(inp.projection, spec.name, compressed.model, Float32Array.from(originalDirection.direction));
    const compressedDirection = await findCompressedDirection(ctx, spec.name, compressed.model, originalDirection);
    inp.directions.set(spec.name, selectedDirection(compressedDirection));
    // Cosine per layer at the original's selected position (index into the candidates' positions).
    const selectedPosIndex = originalDirection.selection.selected.pos + originalDirection.candidates.nPos;
    const perLayer = perLayerCosine(originalDirection.candidates, compressedDirection.candidates, selectedPosIndex);
    const intervals = await directionIntervals(ctx, inp, compressed.model, compressedDirection, perLayer);
    const evaluation = await evaluate(`evaluate ${spec.name}`, compressed.model, ctx.original);
    await addAttackSuccess(ctx, spec.name, compressed.model, evaluation, compressedDirection.direction);
    const result: MethodResult = {
      name: spec.name,
      bits: compressed.bits,
      bitsPerWeight: compressed.bitsPerWeight,
      sparsity: compressed.sparsity.global.sparsity,
      sparsityPerLayer: compressed.sparsity.perLayer.map((x) => x.sparsity),
      selected: selectedOf(compressedDirection),
      perLayerCosine: intervals.perLayer,
      selectedCosine: { ...intervals.selected, value: cosine(originalDirection.direction, compressedDirection.direction) ?? NaN },
      splitHalfCosine: intervals.splitHalf,
      compressSeconds: compressed.seconds,
      details: compressed.details,
      ...evaluation,
    };
    if (ctx.options.aird) {
      result.aird = await runAird(ctx, {
        methodName: spec.name,
        settings: ctx.options.aird,
        compressed,
        originalDirection,
        compressedDirection,
        perLayerCosine: perLayer,
        evaluate,
      });
    }
    return result;
  } finally {
    compressed.model.dispose();
  }
}

async function compress(ctx: StudyContext, spec: MethodSpec, calibration: number[][]): Promise<CompressedModel> {
  const { progress, options: o } = ctx;
  ctx.log(`${spec.name}: compressing`);
  progress.start(`compress ${spec.name}`, ctx.original.config.nLayers);
  const compressed = await compressModel(ctx.original, spec, {
    calibration,
    batchSize: o.batchSize,
    signal: o.signal,
    onLayer: () => progress.increment(1),
  });
  progress.stop();
  return compressed;
}

/** The compressed model's direction from the original's (already filtered) splits: the candidates differ only by the weights. */
async function findCompressedDirection(
  ctx: StudyContext,
  name: string,
  compressed: Model,
  originalDirection: DirectionResult,
): Promise<DirectionResult> {
  ctx.log(`${name}: refusal direction`);
  const { harmfulTrain, harmlessTrain, harmfulVal, harmlessVal } = originalDirection.splits;
  const sameSplits: DirectionInputs = { harmful: harmfulTrain, harmless: harmlessTrain, harmfulVal, harmlessVal };
  const all = Number.MAX_SAFE_INTEGER; // take every prompt of the given splits, no re-sampling
  const result = await runDirection(compressed, sameSplits, {
    ...ctx.directionOptions,
    nTrain: all,
    nVal: all,
    filter: false,
    refusalTokens: originalDirection.refusalTokens,
  });
  ctx.warnings.push(...result.warnings.map((w) => `${name}: ${w}`));
  return result;
}

/** Bootstrap intervals of one compressed model's cosines with the original, and its own split-half floor. */
async function directionIntervals(
  ctx: StudyContext,
  inp: MethodStepInputs,
  compressed: Model,
  compressedDirection: DirectionResult,
  perLayer: (number | null)[],
): Promise<{ perLayer: MethodResult['perLayerCosine']; selected: Interval; splitHalf: Interval }> {
  const original = inp.originalDirection.selection.selected;
  const own = compressedDirection.selection.selected;
  const atOriginalPos = await inp.residualsOf(compressed, original.pos);
  const atOwnPos = own.pos === original.pos ? atOriginalPos : await inp.residualsOf(compressed, own.pos);
  const layers = perLayer.flatMap((c, l) => (c === null ? [] : [l]));
  const perLayerIntervals = cosineIntervals(
    inp.originalResiduals,
    atOriginalPos,
    layers.map((l) => ({ la: l, lb: l })),
    ctx.bootstrap,
  );
  const withIntervals: MethodResult['perLayerCosine'] = perLayer.map((c) => (c === null ? null : { value: c, lo: NaN, hi: NaN }));
  layers.forEach((l, i) => (withIntervals[l] = { ...perLayerIntervals[i], value: perLayer[l]! }));
  const [selected] = cosineIntervals(inp.originalResiduals, atOwnPos, [{ la: original.layer, lb: own.layer }], ctx.bootstrap);
  return { perLayer: withIntervals, selected, splitHalf: splitHalfCosine(atOwnPos, own.layer, ctx.bootstrap) };
}

interface SummaryInputs {
  originalDirection: DirectionResult;
  originalEvaluation: ModelEvaluation;
  originalSplitHalf: Interval;
  calibrationLabel: string;
  evalSets: EvalSets;
  calibration: number[][];
  methods: MethodResult[];
  seconds: number;
  projection: ProjectionComparison | undefined;
}

function summarize(ctx: StudyContext, inputs: StudyInputs, s: SummaryInputs): StudySummary {
  const { original, options: o } = ctx;
  const { methods, evalSets } = s;
  const originalStats = weightStats(original);
  const names = (xs: MethodResult[]) => xs.map((m) => m.name);
  return {
    model: inputs.modelName,
    nLayers: original.config.nLayers,
    dModel: original.config.dModel,
    settings: {
      methods: o.methods.map((m) => m.name),
      nTrain: o.nTrain,
      nVal: o.nVal,
      nTest: o.nTest ?? 100,
      maxTokens: o.maxTokens,
      seed: o.seed,
      maxLayerFraction: o.maxLayerFraction,
      nCalibration: s.calibration.length,
      calibration: s.calibrationLabel,
      bootstrap: ctx.bootstrap.replicates,
      evalPrompts: { harmful: evalSets.harmful.length, harmless: evalSets.harmless.length, perplexityPairs: evalSets.pairs.length },
      refusalTokens: s.originalDirection.refusalTokens,
      backend: original.backendName,
      aird: o.aird ? { variant: o.aird.variant, layerRule: String(o.aird.layerRule), keepF32: o.aird.keepF32 } : null,
      judge: (o.judge ?? substringJudge).name,
      ...(o.benchmark && ctx.goals
        ? {
            benchmark: {
              file: o.benchmark.file,
              format: o.benchmark.format,
              n: ctx.goals.length,
              dropped: o.benchmark.items.length - ctx.goals.length,
              judge: (o.judge ?? substringJudge).name,
            },
          }
        : {}),
    },
    original: {
      ...s.originalEvaluation,
      selected: selectedOf(s.originalDirection),
      bitsPerWeight: originalStats.bitsPerWeight,
      sparsity: originalStats.sparsity.global.sparsity,
      splitHalfCosine: s.originalSplitHalf,
    },
    methods,
    splits: studySplits(inputs, s.originalDirection.sampledSplits),
    orderings: {
      bySelectedCosineDesc: names([...methods].sort((a, b) => b.selectedCosine.value - a.selectedCosine.value)),
      byHarmfulRefusalDesc: names([...methods].sort((a, b) => b.refusalRate.harmful.rate - a.refusalRate.harmful.rate)),
      byKlAsc: names([...methods].sort((a, b) => a.kl.value - b.kl.value)),
    },
    warnings: ctx.warnings,
    seconds: s.seconds,
    ...(s.projection ? { projection: s.projection } : {}),
  };
}

export interface AirdRunOptions {
  methodName: string;
  settings: AirdSettings;
  compressed: CompressedModel;
  originalDirection: DirectionResult;
  compressedDirection: DirectionResult;
  /** cos(original, compressed) per layer at the original's selected position (the lowest-cosine rule reads it). */
  perLayerCosine: (number | null)[];
  evaluate: Evaluate;
}

/** AIRD (reconstruction) on one compressed model: choose the block, edit it, evaluate the edited model. */
async function runAird(ctx: StudyContext, a: AirdRunOptions): Promise<AirdSummary> {
  const { settings: s, methodName: name, originalDirection } = a;
  const edit: Omit<AirdOptions, 'editLayer'> = {
    variant: s.variant,
    direction: originalDirection.direction,
    compressedDirection: a.compressedDirection.direction,
    alpha: s.alpha,
    keepF32: s.keepF32,
    inputScales: a.compressed.inputScales,
  };
  const sourceLayer = originalDirection.selection.selected.layer;
  let layer: number;
  let search: AirdSummary['search'];
  let fellBack = false;
  if (typeof s.layerRule === 'number') layer = s.layerRule;
  else if (s.layerRule === 'lowest-cosine') {
    const lowest = lowestCosineLayer(a.perLayerCosine);
    if (lowest === null) ctx.warnings.push(`${name}: AIRD lowest-cosine: no layer has a cosine; used the source layer`);
    layer = defaultEditLayer(lowest ?? sourceLayer);
  } else if (s.layerRule === 'search') {
    ctx.log(`${name}: AIRD layer search`);
    search = await airdSearch(ctx, a.compressed.model, edit, originalDirection);
    const acceptable = search.filter((x) => x.passed);
    const pool = acceptable.length ? acceptable : search;
    fellBack = !acceptable.length;
    if (fellBack)
      ctx.warnings.push(
        `${name}: AIRD search: no layer met KL < 0.1 and harmless refusal score < 0; took the highest harmful score (fellBack)`,
      );
    layer = pool.reduce((best, x) => (x.harmfulScore > best.harmfulScore ? x : best)).layer;
  } else layer = defaultEditLayer(sourceLayer);
  ctx.log(`${name}: ${AIRD_LABEL} variant ${s.variant} at block ${layer}`);
  const edited = applyAird(ctx.original, a.compressed.model, { ...edit, editLayer: layer });
  const evaluation = await a.evaluate(`evaluate ${name}+AIRD`, edited.model, ctx.original);
  await addAttackSuccess(ctx, `${name}+AIRD`, edited.model, evaluation, null);
  const stats = weightStats(edited.model);
  edited.model.dispose();
  return {
    label: AIRD_LABEL,
    variant: s.variant,
    layer,
    layerRule: String(s.layerRule),
    matrices: edited.matrices,
    sparsity: stats.sparsity.global.sparsity,
    bitsPerWeight: stats.bitsPerWeight,
    survival: edited.survival,
    keptF32: edited.keptF32,
    search,
    fellBack,
    ...evaluation,
  };
}

/**
 * docs/method-notes.md §1.7, the validation search: every block below floor(F·L) (F = the study's
 * --max-layer-fraction, 0.8 by default), scored on the val prompts with forwards only.
 */
async function airdSearch(
  ctx: StudyContext,
  compressed: Model,
  edit: Omit<AirdOptions, 'editLayer'>,
  originalDirection: DirectionResult,
): Promise<NonNullable<AirdSummary['search']>> {
  const { original, options: o } = ctx;
  const vocab = original.config.vocabSize;
  const { harmfulVal, harmlessVal } = originalDirection.splits;
  const harmfulValIds = encodeInstructions(
    original,
    harmfulVal.map((p) => p.instruction),
  );
  const harmlessValIds = encodeInstructions(
    original,
    harmlessVal.map((p) => p.instruction),
  );
  const batching = { batchSize: o.batchSize, signal: o.signal };
  const originalHarmlessLogProbs = logProbsOf(await lastLogits(original, harmlessValIds, batching), vocab);
  const out: NonNullable<AirdSummary['search']> = [];
  const top = Math.max(1, maxLayerOf(original.config.nLayers, o.maxLayerFraction));
  for (let layer = 0; layer < top; layer++) {
    const m = applyAird(original, compressed, { ...edit, editLayer: layer }).model;
    try {
      const harmfulLogits = await lastLogits(m, harmfulValIds, batching);
      const harmlessLogits = await lastLogits(m, harmlessValIds, batching);
      const harmlessLogProbs = logProbsOf(harmlessLogits, vocab);
      const row = {
        layer,
        harmfulScore: mean(refusalScoresOf(harmfulLogits, vocab, originalDirection.refusalTokens)),
        harmlessScore: mean(refusalScoresOf(harmlessLogits, vocab, originalDirection.refusalTokens)),
        kl: mean(harmlessLogProbs.map((p, i) => klFromLogProbs(originalHarmlessLogProbs[i], p))),
      };
      // docs/method-notes.md §1.7 option 3's condition.
      out.push({ ...row, passed: row.kl < 0.1 && row.harmlessScore < 0 });
    } finally {
      m.dispose();
    }
  }
  return out;
}
