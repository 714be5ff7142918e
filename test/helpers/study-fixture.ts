/** A small hand-written StudySummary (3 methods, 4 layers) for report and merge tests. */
import type { MethodResult, StudySummary } from '../../analysis/study/summary.ts';
import { wilson } from '../../analysis/stats/intervals.ts';

const rate = (k: number, n: number) => wilson(k, n);
const ivl = (value: number, d = 0.001) => ({ value, lo: value - d, hi: value + d });

function method(name: string, i: number, aird: boolean): MethodResult {
  const ev = {
    refusalRate: { harmful: rate(18 - 2 * i, 20), harmless: rate(i, 20) },
    refusalScore: { harmful: 3 - i, harmless: -4 + i },
    kl: ivl(0.01 * (i + 1), 0.002),
    perplexity: 20 + i,
  };
  return {
    name,
    bits: i < 2 ? [8, 4][i] : undefined,
    bitsPerWeight: [8.2, 4.5, 32][i],
    sparsity: [0.01, 0.05, 0.5][i],
    sparsityPerLayer: [0.5, 0.5, 0.5, 0.5],
    selected: { pos: -1 - (i % 2), layer: 2 + (i % 2), filtered: i !== 1, bypass: -2, induce: 3, kl: 0.05 },
    perLayerCosine: [null, ivl(0.999 - 0.01 * i), ivl(0.998 - 0.02 * i), ivl(0.997 - 0.03 * i)],
    selectedCosine: ivl(0.9987 - 0.02 * i),
    splitHalfCosine: ivl(0.995, 0.003),
    compressSeconds: 1,
    details: {},
    ...ev,
    aird: aird
      ? {
          label: 'AIRD (reconstruction)',
          variant: 'A',
          layer: 1,
          layerRule: 'source',
          matrices: ['o', 'down'],
          sparsity: [0.01, 0.05, 0.47][i],
          bitsPerWeight: [8.2, 4.5, 32][i],
          survival: { o: 0.5, down: null },
          keptF32: false,
          fellBack: i === 1,
          ...ev,
          refusalRate: { harmful: rate(19, 20), harmless: rate(2, 20) },
          kl: ivl(0.0123),
          search: i === 1 ? [{ layer: 0, harmfulScore: 1, harmlessScore: 0.5, kl: 0.2, passed: false }] : undefined,
        }
      : undefined,
  };
}

export function fixtureSummary(): StudySummary {
  const methods = [method('int8', 0, true), method('int4-g128', 1, true), method('wanda-50', 2, false)];
  return {
    model: 'fixture<&>',
    nLayers: 4,
    dModel: 8,
    settings: {
      methods: methods.map((m) => m.name),
      nTrain: 16,
      nVal: 8,
      nTest: 20,
      maxTokens: 16,
      seed: 1,
      maxLayerFraction: 1,
      nCalibration: 32,
      calibration: 'generic',
      bootstrap: 200,
      evalPrompts: { harmful: 8, harmless: 8, perplexityPairs: 8 },
      refusalTokens: [78],
      backend: 'reference',
      aird: { variant: 'A', layerRule: 'source', keepF32: false },
    },
    original: {
      refusalRate: { harmful: rate(20, 20), harmless: rate(0, 20) },
      refusalScore: { harmful: 4, harmless: -5 },
      kl: ivl(0, 0),
      perplexity: 19.5,
      bitsPerWeight: 32,
      sparsity: 0,
      selected: { pos: -1, layer: 2, filtered: true, bypass: -2, induce: 3, kl: 0.05 },
      splitHalfCosine: ivl(0.996, 0.002),
    },
    methods,
    splits: {
      harmful: { train: { file: 'h', indices: [0, 1] }, val: { file: 'h', indices: [2] }, test: { file: 'h', indices: [3] } },
      harmless: { train: { file: 's', indices: [0, 1] }, val: { file: 's', indices: [2] }, test: { file: 's', indices: [3] } },
      disjoint: true,
    },
    orderings: {
      bySelectedCosineDesc: ['int8', 'int4-g128', 'wanda-50'],
      byHarmfulRefusalDesc: ['int8', 'int4-g128', 'wanda-50'],
      byKlAsc: ['int8', 'int4-g128', 'wanda-50'],
    },
    warnings: ['a <warning>'],
    seconds: 12.3,
  };
}
