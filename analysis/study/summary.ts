/** summary.json: every number the study report shows (the HTML is rendered from this object alone). */
import type { ProjectionComparison } from '../project/study-projection.ts';

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

export interface ModelEvaluation {
  /** Substring-judged greedy completions (rate) on the evaluation prompts. */
  refusalRate: RatePair;
  /** Mean last-position refusal log-odds. */
  refusalScore: RatePair;
  /** Mean KL(original || this) of next-token distributions on harmless evaluation prompts (0 for the original). */
  kl: number;
  /** Response-only perplexity on prompt + response pairs. */
  perplexity: number;
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
  /** Validation search table (layerRule 'search'). */
  search?: { layer: number; harmfulScore: number; harmlessScore: number; kl: number }[];
}

export interface MethodResult extends ModelEvaluation {
  name: string;
  bits?: number;
  bitsPerWeight: number;
  sparsity: number;
  sparsityPerLayer: number[];
  selected: SelectedSource;
  /** cos(r_o, r_c) per layer at the original's selected position; null where either norm is ~0. */
  perLayerCosine: (number | null)[];
  /** cos of the two selected directions. */
  selectedCosine: number;
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
    maxTokens: number;
    seed: number;
    maxLayerFraction: number;
    nCalibration: number;
    evalPrompts: RatePair & { perplexityPairs: number };
    refusalTokens: number[];
    backend: string;
    aird: { variant: string; layerRule: string; keepF32: boolean } | null;
  };
  original: ModelEvaluation & { selected: SelectedSource; bitsPerWeight: number; sparsity: number };
  methods: MethodResult[];
  /** Method names ordered (reported, not asserted). */
  orderings: { bySelectedCosineDesc: string[]; byHarmfulRefusalDesc: string[]; byKlAsc: string[] };
  warnings: string[];
  seconds: number;
  /** resid_pre · r̂ (original direction) on one harmful val prompt, per model: the report's projection heatmaps. */
  projection?: ProjectionComparison;
}
