/** Real models' shapes for the synthetic benchmark models (weights are random; only the sizes matter). */
import type { SyntheticShape } from '../models/synthetic.ts';

/** Qwen2.5-0.5B-Instruct's shapes. */
export const QWEN_05B_SHAPE: SyntheticShape = {
  family: 'qwen2',
  nLayers: 24,
  dModel: 896,
  nHeads: 14,
  nKvHeads: 2,
  dMlp: 4864,
  vocabSize: 151936,
  tied: true,
  maxPositions: 32768,
};
