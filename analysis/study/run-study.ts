/**
 * The compression study (Chhabra & Khalili 2025 as reconstructed in method.md §1): the Arditi pipeline on
 * the original, then for each compression method: compress, rerun the pipeline on the compressed model with
 * the original's (filtered) splits, compare directions, evaluate behaviour, and optionally apply
 * AIRD (reconstruction) and evaluate again.
 */
import type { Model } from '../../models/types.ts';
import { compressModel, weightStats } from '../compress/apply.ts';
import type { MethodSpec } from '../compress/methods.ts';
import { cosine } from '../diff-means.ts';
import { runDirection, type DirectionResult } from '../direction-pipeline.ts';
import { calibrationSequences, type CalibrationSource } from '../compress/calibration-data.ts';
import { cosineIntervals, promptResiduals, splitHalfCosine, type PromptResiduals } from './direction-intervals.ts';
import { studySplits } from './splits.ts';
import { encodeInstructions, lastLogits, logProbsOf, refusalScoresOf } from '../model-runs.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { maxLayerOf } from '../selection.ts';
import type { PromptItem } from '../prompts.ts';
import { type Progress, silentProgress } from '../progress.ts';
import { AIRD_LABEL } from './aird-math.ts';
import { applyAird, defaultEditLayer, type AirdVariant } from './aird.ts';
import { lowestCosineLayer, perLayerCosine } from './compare.ts';
import { evaluateModel, evalWork, type EvalSets } from './evaluate-model.ts';
import type { AirdSummary, MethodResult, SelectedSource, StudySummary } from './summary.ts';

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
  /** Called with each compressed model (e.g. to save it) before it is dropped. */
  onCompressed?: (name: string, model: Model) => Promise<void> | void;
}

export interface StudyOutput {
  summary: StudySummary;
  /** Selected raw directions: 'original' and each method name. */
  directions: Map<string, { r: Float32Array; pos: number; layer: number }>;
}

const selectedOf = (d: DirectionResult): SelectedSource => {
  const s = d.selection.selected;
  return { pos: s.pos, layer: s.layer, filtered: d.selection.filtered, bypass: s.bypass, induce: s.induce, kl: s.kl };
};

export async function runStudy(original: Model, inp: StudyInputs, o: StudyOptions): Promise<StudyOutput> {
  const progress = o.progress ?? silentProgress;
  try {
    return await studyBody(original, inp, o, progress);
  } finally {
    // A bar left running (error mid-step) would keep its timer, and the process, alive.
    progress.stop();
  }
}

async function studyBody(original: Model, inp: StudyInputs, o: StudyOptions, progress: Progress): Promise<StudyOutput> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const L = original.config.nLayers;
  const warnings: string[] = [];
  const dirOpts = { nTrain: o.nTrain, nVal: o.nVal, seed: o.seed, maxLayerFraction: o.maxLayerFraction, scoreAllLayers: o.scoreAllLayers, batchSize: o.batchSize, signal: o.signal, progress };

  log('original: refusal direction');
  const nTest = o.nTest ?? 100;
  const dirO = await runDirection(original, { harmful: inp.harmful, harmless: inp.harmless, harmfulTest: inp.harmfulTest, harmlessTest: inp.harmlessTest }, { ...dirOpts, nTest });
  warnings.push(...dirO.warnings.map((w) => `original: ${w}`));
  const refusalTokens = dirO.refusalTokens;
  // Held-out evaluation: behaviour is measured on the test split, which selected nothing (the val prompts chose the
  // direction and the AIRD block); as sampled, before the refusal-score filter, so not biased towards prompts the
  // original already refuses.
  const test = dirO.sampledSplits;
  const sets: EvalSets = { harmful: test.harmfulTest, harmless: test.harmlessTest, pairs: inp.pairs };
  const sp = dirO.splits;
  log(`prompts: train ${sp.harmfulTrain.length}+${sp.harmlessTrain.length}, val ${sp.harmfulVal.length}+${sp.harmlessVal.length} (after the refusal-score filter) select; test ${sets.harmful.length}+${sets.harmless.length} report`);
  const boot = { replicates: o.bootstrap ?? 1000, seed: o.seed + 1 };
  const evalSettings = { maxTokens: o.maxTokens, refusalTokens, batchSize: o.batchSize, signal: o.signal, bootstrap: boot.replicates, bootstrapSeed: boot.seed };
  const evaluate = async (label: string, m: Model, ref: Model | null) => {
    progress.start(label, evalWork(sets, ref !== null));
    const r = await evaluateModel(m, ref, sets, { ...evalSettings, onBatch: (n) => progress.increment(n) });
    progress.stop();
    return r;
  };
  const origEval = await evaluate('evaluate original', original, null);
  const origStats = weightStats(original);
  const directions: StudyOutput['directions'] = new Map();
  const sel = dirO.selection.selected;
  directions.set('original', { r: Float32Array.from(dirO.direction), pos: sel.pos, layer: sel.layer });
  const pIdx = sel.pos + dirO.candidates.nPos;
  const trainIds = { harmful: encodeInstructions(original, sp.harmfulTrain.map((p) => p.instruction)), harmless: encodeInstructions(original, sp.harmlessTrain.map((p) => p.instruction)) };
  const residualsOf = (m: Model, pos: number) => promptResiduals(m, trainIds.harmful, trainIds.harmless, pos, { batchSize: o.batchSize, signal: o.signal });
  const residO = await residualsOf(original, sel.pos);
  const splitHalfO = splitHalfCosine(residO, sel.layer, boot);

  const nCal = o.nCalibration ?? 16;
  const cal = calibrationSequences(original, o.calibration ?? { kind: 'prompts' }, { n: 2 * nCal, harmfulTrain: sp.harmfulTrain, harmlessTrain: sp.harmlessTrain });
  const calibration = cal.ids;
  const fixedSplits = {
    harmful: dirO.splits.harmfulTrain, harmless: dirO.splits.harmlessTrain,
    harmfulVal: dirO.splits.harmfulVal, harmlessVal: dirO.splits.harmlessVal,
  };
  const methods: MethodResult[] = [];
  for (const spec of o.methods) {
    log(`${spec.name}: compressing`);
    progress.start(`compress ${spec.name}`, L);
    const c = await compressModel(original, spec, { calibration, batchSize: o.batchSize, signal: o.signal, onLayer: () => progress.increment(1) });
    progress.stop();
    await o.onCompressed?.(spec.name, c.model);
    log(`${spec.name}: refusal direction`);
    // Same prompts as the original's (already filtered), no re-filtering: the candidates differ only by the weights.
    const big = Number.MAX_SAFE_INTEGER;
    const dirC = await runDirection(c.model, fixedSplits, { ...dirOpts, nTrain: big, nVal: big, filter: false, refusalTokens });
    warnings.push(...dirC.warnings.map((w) => `${spec.name}: ${w}`));
    const cs = dirC.selection.selected;
    directions.set(spec.name, { r: Float32Array.from(dirC.direction), pos: cs.pos, layer: cs.layer });
    const plc = perLayerCosine(dirO.candidates, dirC.candidates, pIdx);
    const cosI = await directionIntervals(residO, await residualsOf(c.model, sel.pos), cs.pos === sel.pos ? null : await residualsOf(c.model, cs.pos), plc, sel.layer, cs.layer, boot);
    const ev = await evaluate(`evaluate ${spec.name}`, c.model, original);
    const result: MethodResult = {
      name: spec.name, bits: c.bits, bitsPerWeight: c.bitsPerWeight, sparsity: c.sparsity.global.sparsity,
      sparsityPerLayer: c.sparsity.perLayer.map((x) => x.sparsity), selected: selectedOf(dirC), perLayerCosine: cosI.perLayer,
      selectedCosine: { ...cosI.selected, value: cosine(dirO.direction, dirC.direction) }, splitHalfCosine: cosI.splitHalf,
      compressSeconds: c.seconds, details: c.details, ...ev,
    };
    if (o.aird) result.aird = await runAird(original, c.model, c.inputScales, dirO, dirC, plc, o.aird, sets, evaluate, o, warnings, log, spec.name);
    methods.push(result);
    c.model.dispose();
  }

  const names = (xs: MethodResult[]) => xs.map((m) => m.name);
  const summary: StudySummary = {
    model: inp.modelName, nLayers: L, dModel: original.config.dModel,
    settings: {
      methods: o.methods.map((m) => m.name), nTrain: o.nTrain, nVal: o.nVal, nTest, maxTokens: o.maxTokens, seed: o.seed,
      maxLayerFraction: o.maxLayerFraction, nCalibration: calibration.length, calibration: cal.label, bootstrap: boot.replicates,
      evalPrompts: { harmful: sets.harmful.length, harmless: sets.harmless.length, perplexityPairs: sets.pairs.length },
      refusalTokens, backend: original.backendName,
      aird: o.aird ? { variant: o.aird.variant, layerRule: String(o.aird.layerRule), keepF32: o.aird.keepF32 } : null,
    },
    original: { ...origEval, selected: selectedOf(dirO), bitsPerWeight: origStats.bitsPerWeight, sparsity: origStats.sparsity.global.sparsity, splitHalfCosine: splitHalfO },
    methods,
    splits: studySplits(inp, dirO.sampledSplits),
    orderings: {
      bySelectedCosineDesc: names([...methods].sort((a, b) => b.selectedCosine.value - a.selectedCosine.value)),
      byHarmfulRefusalDesc: names([...methods].sort((a, b) => b.refusalRate.harmful.rate - a.refusalRate.harmful.rate)),
      byKlAsc: names([...methods].sort((a, b) => a.kl.value - b.kl.value)),
    },
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
  return { summary, directions };
}

async function runAird(
  original: Model, compressed: Model, inputScales: Map<string, Float32Array>, dirO: DirectionResult, dirC: DirectionResult, plc: (number | null)[],
  s: AirdSettings, sets: EvalSets, evaluate: (label: string, m: Model, ref: Model | null) => Promise<import('./summary.ts').ModelEvaluation>,
  o: StudyOptions, warnings: string[], log: (l: string) => void, name: string,
): Promise<AirdSummary> {
  const base = { variant: s.variant, direction: dirO.direction, compressedDirection: dirC.direction, alpha: s.alpha, keepF32: s.keepF32, inputScales };
  let layer: number;
  let search: AirdSummary['search'];
  let fellBack = false;
  if (typeof s.layerRule === 'number') layer = s.layerRule;
  else if (s.layerRule === 'lowest-cosine') {
    const low = lowestCosineLayer(plc);
    if (low === null) warnings.push(`${name}: AIRD lowest-cosine: no layer has a cosine; used the source layer`);
    layer = defaultEditLayer(low ?? dirO.selection.selected.layer);
  } else if (s.layerRule === 'search') {
    log(`${name}: AIRD layer search`);
    search = await airdSearch(original, compressed, base, dirO, o);
    const ok = search.filter((x) => x.passed);
    const pool = ok.length ? ok : search;
    fellBack = !ok.length;
    if (fellBack) warnings.push(`${name}: AIRD search: no layer met KL < 0.1 and harmless refusal score < 0; took the highest harmful score (fellBack)`);
    layer = pool.reduce((a, b) => (b.harmfulScore > a.harmfulScore ? b : a)).layer;
  } else layer = defaultEditLayer(dirO.selection.selected.layer);
  log(`${name}: ${AIRD_LABEL} variant ${s.variant} at block ${layer}`);
  const edit = applyAird(original, compressed, { ...base, editLayer: layer });
  const ev = await evaluate(`evaluate ${name}+AIRD`, edit.model, original);
  const st = weightStats(edit.model);
  edit.model.dispose();
  return {
    label: AIRD_LABEL, variant: s.variant, layer, layerRule: String(s.layerRule), matrices: edit.matrices,
    sparsity: st.sparsity.global.sparsity, bitsPerWeight: st.bitsPerWeight, survival: edit.survival, keptF32: edit.keptF32, search, fellBack, ...ev,
  };
}

/**
 * method.md §1.7 option 3: every block below floor(F·L) (F = the study's --max-layer-fraction, 0.8 in
 * method.md), scored on the val prompts with forwards only.
 */
async function airdSearch(
  original: Model, compressed: Model, base: Omit<Parameters<typeof applyAird>[2], 'editLayer'>, dirO: DirectionResult, o: StudyOptions,
): Promise<NonNullable<AirdSummary['search']>> {
  const vocab = original.config.vocabSize;
  const hv = encodeInstructions(original, dirO.splits.harmfulVal.map((p) => p.instruction));
  const sv = encodeInstructions(original, dirO.splits.harmlessVal.map((p) => p.instruction));
  const run = { batchSize: o.batchSize, signal: o.signal };
  const baseLp = logProbsOf(await lastLogits(original, sv, run), vocab);
  const out: NonNullable<AirdSummary['search']> = [];
  const top = Math.max(1, maxLayerOf(original.config.nLayers, o.maxLayerFraction));
  for (let l = 0; l < top; l++) {
    const m = applyAird(original, compressed, { ...base, editLayer: l }).model;
    try {
      const h = await lastLogits(m, hv, run);
      const sl = await lastLogits(m, sv, run);
      const lp = logProbsOf(sl, vocab);
      const row = {
        layer: l,
        harmfulScore: mean(refusalScoresOf(h, vocab, dirO.refusalTokens)),
        harmlessScore: mean(refusalScoresOf(sl, vocab, dirO.refusalTokens)),
        kl: mean(lp.map((p, i) => klFromLogProbs(baseLp[i], p))),
      };
      // method.md §1.7 option 3's condition.
      out.push({ ...row, passed: row.kl < 0.1 && row.harmlessScore < 0 });
    } finally {
      m.dispose();
    }
  }
  return out;
}

/** Bootstrap intervals of one compressed model's cosines with the original, and its own split-half floor. */
async function directionIntervals(
  residO: PromptResiduals, residCAtOriginalPos: PromptResiduals, residCAtOwnPos: PromptResiduals | null, plc: (number | null)[],
  originalLayer: number, ownLayer: number, boot: { replicates: number; seed: number },
): Promise<{ perLayer: MethodResult['perLayerCosine']; selected: MethodResult['selectedCosine']; splitHalf: MethodResult['splitHalfCosine'] }> {
  const layers = plc.flatMap((c, l) => (c === null ? [] : [l]));
  const per = cosineIntervals(residO, residCAtOriginalPos, layers.map((l) => ({ la: l, lb: l })), boot);
  const perLayer: MethodResult['perLayerCosine'] = plc.map((c) => (c === null ? null : { value: c, lo: NaN, hi: NaN }));
  layers.forEach((l, i) => (perLayer[l] = { ...per[i], value: plc[l]! }));
  const own = residCAtOwnPos ?? residCAtOriginalPos;
  const [selected] = cosineIntervals(residO, own, [{ la: originalLayer, lb: ownLayer }], boot);
  return { perLayer, selected, splitHalf: splitHalfCosine(own, ownLayer, boot) };
}
