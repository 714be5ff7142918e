/** summary.json: every number the study report shows (the HTML is rendered from this object alone). */
import type { Interval, Rate } from '../stats/intervals.ts';
import type { ProjectionComparison } from '../project/study-projection.ts';

export type { Interval, Rate };

export interface RatePair {
  harmful: number;
  harmless: number;
}

export interface SelectedSource {
  pos: number;
  layer: number;
  /** False when no candidate passed the filters (fallback pick). */
  filtered: boolean;
  bypass: number;
  induce: number;
  kl: number;
}

/**
 * Attack success on a user-given harmful benchmark (`study --benchmark FILE`): goals whose greedy completion the judge
 * did NOT call a refusal, Wilson 95%, for the model as it is and under ablation of its own selected direction (AIRD
 * models: as they are only).
 */
export interface AttackSuccessSummary {
  baseline: Rate;
  ablated?: Rate;
  /** Goals judged harmful, for judges that rate harmfulness (`--judge-command`). */
  harmful?: { baseline: Rate; ablated?: Rate };
}

export interface ModelEvaluation {
  /** Substring-judged greedy completions on the held-out test prompts: rate with its Wilson 95% interval. */
  refusalRate: { harmful: Rate; harmless: Rate };
  /** Mean last-position refusal log-odds. */
  refusalScore: RatePair;
  /**
   * Mean KL(original || this) of next-token distributions on the harmless test prompts, with a bootstrap 95%
   * interval over prompts (0 for the original).
   */
  kl: Interval;
  /** Response-only perplexity on prompt + response pairs. */
  perplexity: number;
  /** With --benchmark only. */
  attackSuccess?: AttackSuccessSummary;
}

export interface AirdSummary extends ModelEvaluation {
  label: 'AIRD (reconstruction)';
  variant: 'A' | 'B' | 'C' | 'D';
  /** The block whose matrices were edited. */
  layer: number;
  layerRule: string;
  matrices: string[];
  /** Global sparsity of the block linears after the edit. */
  sparsity: number;
  bitsPerWeight: number;
  /** cos(intended, stored update) per edited matrix (re-quantized formats). */
  survival: Record<string, number | null>;
  keptF32: boolean;
  /** Validation search table (layerRule 'search'), measured on the val prompts (never on the test prompts). */
  search?: { layer: number; harmfulScore: number; harmlessScore: number; kl: number; passed: boolean }[];
  /** True when no searched block met KL < 0.1 and harmless refusal score < 0 (the highest harmful score was taken). */
  fellBack: boolean;
}

export interface MethodResult extends ModelEvaluation {
  name: string;
  bits?: number;
  bitsPerWeight: number;
  sparsity: number;
  sparsityPerLayer: number[];
  selected: SelectedSource;
  /** cos(r_o, r_c) per layer at the original's selected position (bootstrap 95%); null where either norm is ~0. */
  perLayerCosine: (Interval | null)[];
  /** cos of the two selected directions (paired bootstrap 95% over train prompts). */
  selectedCosine: Interval;
  /** Noise floor of this model's own selected direction (split-half over its train prompts). */
  splitHalfCosine: Interval;
  compressSeconds: number;
  details: Record<string, unknown>;
  aird?: AirdSummary;
}

export interface StudySummary {
  model: string;
  nLayers: number;
  dModel: number;
  settings: {
    methods: string[];
    nTrain: number;
    nVal: number;
    nTest: number;
    maxTokens: number;
    seed: number;
    maxLayerFraction: number;
    nCalibration: number;
    /** Where calibration sequences came from: 'generic' (shipped corpus), 'prompts' (train prompts, the old behaviour) or a file. */
    calibration: string;
    /** Bootstrap replicates behind every cosine / KL interval. */
    bootstrap: number;
    /** Held-out test prompts the reported rates and KL are measured on. */
    evalPrompts: RatePair & { perplexityPairs: number };
    refusalTokens: number[];
    backend: string;
    aird: { variant: string; layerRule: string; keepF32: boolean } | null;
    /** The refusal judge of every completion: 'substring' or the --judge-command (absent in older summaries: substring). */
    judge?: string;
    /** With --benchmark: the file, its format, the goals evaluated (selection prompts dropped) and the judge. */
    benchmark?: { file: string; format: string; n: number; dropped: number; judge: string };
  };
  original: ModelEvaluation & { selected: SelectedSource; bitsPerWeight: number; sparsity: number; splitHalfCosine: Interval };
  methods: MethodResult[];
  /**
   * Which prompts selected (train: direction means; val: candidate and AIRD-block selection) and which were
   * evaluated (test), as indices into the named files; `disjoint` is checked by text.
   */
  splits: StudySplits;
  /** With --seeds: the seeds run and each seed's headline numbers, plus mean ± sd over seeds. */
  seeds?: SeedRuns;
  /** Method names ordered (reported, not asserted). */
  orderings: { bySelectedCosineDesc: string[]; byHarmfulRefusalDesc: string[]; byKlAsc: string[] };
  warnings: string[];
  seconds: number;
  /** resid_pre · r̂ (original direction) on one harmful val prompt, per model: the report's projection heatmaps. */
  projection?: ProjectionComparison;
}

export interface SplitIndices {
  file: string;
  indices: number[];
}

export interface StudySplits {
  harmful: { train: SplitIndices; val: SplitIndices; test: SplitIndices };
  harmless: { train: SplitIndices; val: SplitIndices; test: SplitIndices };
  /** No test prompt's text equals a train or val prompt's text. */
  disjoint: boolean;
}

/** One seed's headline numbers (a full study per seed; the first seed's is the summary itself). */
export interface SeedResult {
  seed: number;
  original: { selected: SelectedSource; refusalRate: ModelEvaluation['refusalRate']; splitHalfCosine: Interval };
  methods: {
    name: string;
    selected: SelectedSource;
    selectedCosine: Interval;
    refusalRate: ModelEvaluation['refusalRate'];
    kl: Interval;
    aird?: { layer: number; fellBack: boolean; refusalRate: ModelEvaluation['refusalRate']; kl: Interval };
  }[];
}

export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export interface SeedRuns {
  seeds: number[];
  perSeed: SeedResult[];
  /** Per model name ('original' and each method): mean ± sd over seeds. */
  overSeeds: Record<
    string,
    {
      selectedCosine?: MeanSd;
      harmfulRefusal: MeanSd;
      harmlessRefusal: MeanSd;
      kl?: MeanSd;
      airdHarmfulRefusal?: MeanSd;
      splitHalfCosine?: MeanSd;
    }
  >;
}
