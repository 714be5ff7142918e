/** Small seeded random-weight models on the reference backend, for the model property tests. */
import { createReferenceBackend } from '../../kernels/reference/backend.ts';
import { DecoderModel } from '../../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider, type SyntheticShape } from '../../models/synthetic.ts';
import type { WeightPrecision } from '../../models/types.ts';

export const SMALL: SyntheticShape = { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, vocabSize: 64 };

export function smallModel(family: SyntheticShape['family'] = 'llama', precision?: WeightPrecision, extra: Partial<SyntheticShape> = {}) {
  const cfg = syntheticConfig({ ...SMALL, family, ...(family === 'gpt2' ? { nKvHeads: SMALL.nHeads } : {}), ...extra });
  return new DecoderModel(syntheticProvider(cfg, 7), { backend: createReferenceBackend(), precision, groupSize: 16 });
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
