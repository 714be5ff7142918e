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
import { type DirectionInputs, type DirectionOptions, type DirectionResult, runDirection, sampleSplits } from '../direction/direction-pipeline.ts';
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
import type { AirdSummary, MethodResult, ModelEvaluation, SelectedSource, StudySummary } from './summary.ts';

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
  pairs: { instruction: string; output: string }[];
}

export interface StudyOptions {
  methods: MethodSpec[];
  aird: AirdSettings | null;
  nTrain: number;
  nVal: number;
  maxTokens: number;
  seed: number;
  maxLayerFraction: number;
  /** Calibration prompts per class taken from the train split (default 16: 32 prompts). */
  nCalibration?: number;
  batchSize?: number;
  signal?: AbortSignal;
  progress?: Progress;
  log?: (line: string) => void;
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
  const { nTrain, nVal, seed, maxLayerFraction, batchSize, signal } = options;
  const ctx: StudyContext = {
    original,
    options,
    progress,
    log: options.log ?? (() => {}),
    warnings: [],
    directionOptions: { nTrain, nVal, seed, maxLayerFraction, batchSize, signal, progress },
  };

  // 1. The original model's refusal direction (sample, filter, difference in means, select).
  const originalDirection = await findOriginalDirection(ctx, inputs);

  // 2. Its behaviour on the evaluation prompts.
  const evalSets = evaluationSets(inputs, options);
  const evaluate = evaluator(ctx, evalSets, originalDirection.refusalTokens);
  const originalEvaluation = await evaluate('evaluate original', original, null);
  const directions: StudyOutput['directions'] = new Map();
  directions.set('original', selectedDirection(originalDirection));

  // The projection heatmap: one harmful evaluation prompt, every model projected onto the original's direction.
  const probeDirection = Float32Array.from(originalDirection.direction);
  const projection = evalSets.harmful[0] ? await projectionProbe(original, evalSets.harmful[0].instruction, probeDirection) : undefined;

  // 3. Calibration prompts for the methods that need them, from the original's train split.
  const calibration = calibrationIds(original, originalDirection, options.nCalibration ?? 16);

  // 4. Each method: compress, find the compressed model's direction, compare, evaluate, optionally AIRD.
  const methods: MethodResult[] = [];
  for (const spec of options.methods) {
    methods.push(await studyMethod(ctx, spec, { originalDirection, calibration, evaluate, directions, projection }));
  }

  // 5. The summary.
  const seconds = (performance.now() - t0) / 1000;
  const summary = summarize(ctx, inputs, { originalDirection, originalEvaluation, evalSets, calibration, methods, seconds, projection });
  return { summary, directions };
}

async function findOriginalDirection(ctx: StudyContext, inputs: StudyInputs): Promise<DirectionResult> {
  ctx.log('original: refusal direction');
  const result = await runDirection(ctx.original, { harmful: inputs.harmful, harmless: inputs.harmless }, ctx.directionOptions);
  ctx.warnings.push(...result.warnings.map((w) => `original: ${w}`));
  return result;
}

/**
 * Behaviour is measured on the val split as sampled (before the refusal-score filter), so it is not biased
 * towards prompts the original already refuses.
 */
function evaluationSets(inputs: StudyInputs, o: StudyOptions): EvalSets {
  const sampled = sampleSplits({ harmful: inputs.harmful, harmless: inputs.harmless }, o.nTrain, o.nVal, o.seed);
  return { harmful: sampled.harmfulVal, harmless: sampled.harmlessVal, pairs: inputs.pairs };
}

function evaluator(ctx: StudyContext, sets: EvalSets, refusalTokens: number[]): Evaluate {
  const { progress, options: o } = ctx;
  const settings = { maxTokens: o.maxTokens, refusalTokens, batchSize: o.batchSize, signal: o.signal };
  return async (label, model, reference) => {
    progress.start(label, evalWork(sets, reference !== null));
    const evaluation = await evaluateModel(model, reference, sets, { ...settings, onBatch: (n) => progress.increment(n) });
    progress.stop();
    return evaluation;
  };
}

function calibrationIds(original: Model, originalDirection: DirectionResult, perClass: number): number[][] {
  const { harmfulTrain, harmlessTrain } = originalDirection.splits;
  const prompts = [...harmfulTrain.slice(0, perClass), ...harmlessTrain.slice(0, perClass)];
  return encodeInstructions(original, prompts.map((p) => p.instruction));
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
    const evaluation = await evaluate(`evaluate ${spec.name}`, compressed.model, ctx.original);
    const result: MethodResult = {
      name: spec.name,
      bits: compressed.bits,
      bitsPerWeight: compressed.bitsPerWeight,
      sparsity: compressed.sparsity.global.sparsity,
      sparsityPerLayer: compressed.sparsity.perLayer.map((x) => x.sparsity),
      selected: selectedOf(compressedDirection),
      perLayerCosine: perLayer,
      selectedCosine: cosine(originalDirection.direction, compressedDirection.direction) ?? NaN,
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
  const compressed = await compressModel(ctx.original, spec, { calibration, batchSize: o.batchSize, signal: o.signal, onLayer: () => progress.increment(1) });
  progress.stop();
  return compressed;
}

/** The compressed model's direction from the original's (already filtered) splits: the candidates differ only by the weights. */
async function findCompressedDirection(ctx: StudyContext, name: string, compressed: Model, originalDirection: DirectionResult): Promise<DirectionResult> {
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

interface SummaryInputs {
  originalDirection: DirectionResult;
  originalEvaluation: ModelEvaluation;
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
      maxTokens: o.maxTokens,
      seed: o.seed,
      maxLayerFraction: o.maxLayerFraction,
      nCalibration: s.calibration.length,
      evalPrompts: { harmful: evalSets.harmful.length, harmless: evalSets.harmless.length, perplexityPairs: evalSets.pairs.length },
      refusalTokens: s.originalDirection.refusalTokens,
      backend: original.backendName,
      aird: o.aird ? { variant: o.aird.variant, layerRule: String(o.aird.layerRule), keepF32: o.aird.keepF32 } : null,
    },
    original: {
      ...s.originalEvaluation,
      selected: selectedOf(s.originalDirection),
      bitsPerWeight: originalStats.bitsPerWeight,
      sparsity: originalStats.sparsity.global.sparsity,
    },
    methods,
    orderings: {
      bySelectedCosineDesc: names([...methods].sort((a, b) => b.selectedCosine - a.selectedCosine)),
      byHarmfulRefusalDesc: names([...methods].sort((a, b) => b.refusalRate.harmful - a.refusalRate.harmful)),
      byKlAsc: names([...methods].sort((a, b) => a.kl - b.kl)),
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
  if (typeof s.layerRule === 'number') layer = s.layerRule;
  else if (s.layerRule === 'lowest-cosine') {
    const lowest = lowestCosineLayer(a.perLayerCosine);
    if (lowest === null) ctx.warnings.push(`${name}: AIRD lowest-cosine: no layer has a cosine; used the source layer`);
    layer = defaultEditLayer(lowest ?? sourceLayer);
  } else if (s.layerRule === 'search') {
    ctx.log(`${name}: AIRD layer search`);
    search = await airdSearch(ctx, a.compressed.model, edit, originalDirection);
    const acceptable = search.filter((x) => x.kl < 0.1 && x.harmlessScore < 0);
    const pool = acceptable.length ? acceptable : search;
    if (!acceptable.length) ctx.warnings.push(`${name}: AIRD search: no layer met KL < 0.1 and harmless refusal score < 0; took the highest harmful score`);
    layer = pool.reduce((best, x) => (x.harmfulScore > best.harmfulScore ? x : best)).layer;
  } else layer = defaultEditLayer(sourceLayer);
  ctx.log(`${name}: ${AIRD_LABEL} variant ${s.variant} at block ${layer}`);
  const edited = applyAird(ctx.original, a.compressed.model, { ...edit, editLayer: layer });
  const evaluation = await a.evaluate(`evaluate ${name}+AIRD`, edited.model, ctx.original);
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
  const harmfulValIds = encodeInstructions(original, harmfulVal.map((p) => p.instruction));
  const harmlessValIds = encodeInstructions(original, harmlessVal.map((p) => p.instruction));
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
      out.push({
        layer,
        harmfulScore: mean(refusalScoresOf(harmfulLogits, vocab, originalDirection.refusalTokens)),
        harmlessScore: mean(refusalScoresOf(harmlessLogits, vocab, originalDirection.refusalTokens)),
        kl: mean(harmlessLogProbs.map((p, i) => klFromLogProbs(originalHarmlessLogProbs[i], p))),
      });
    } finally {
      m.dispose();
    }
  }
  return out;
}
