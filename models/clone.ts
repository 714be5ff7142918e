/** Deep copies of weights, for Model.clone(): the clone shares no mutable array with its source. */
import type { LayerWeight, ModelLinear } from './types.ts';
import type { NormWeights, WeightProvider } from './weight-provider.ts';

export function copyLayerWeight(w: LayerWeight): LayerWeight {
  const perm = 'perm' in w && w.perm ? w.perm.slice() : w.format === 'mixed' || w.format === 'w8a8' ? undefined : null;
  switch (w.format) {
    case 'f32':
      return { ...w, w: w.w.slice(), perm };
    case 'bf16':
      return { ...w, w: w.w.slice(), perm };
    case 'int8':
      return { ...w, q: w.q.slice(), scales: w.scales.slice(), perm };
    case 'int4':
      return { ...w, packed: w.packed.slice(), scales: w.scales.slice(), zeros: w.zeros ? w.zeros.slice() : null, perm };
    case 'w8a8':
      return { ...w, weight: copyLayerWeight(w.weight) as typeof w.weight };
    case 'mixed':
      return {
        ...w,
        main: copyLayerWeight(w.main) as typeof w.main,
        outlier: copyLayerWeight(w.outlier) as typeof w.outlier,
        outlierCols: w.outlierCols.slice(),
      };
  }
}

const copyNorm = (n: NormWeights): NormWeights => ({ w: n.w.slice(), b: n.b ? n.b.slice() : null });
const copyLinear = (l: ModelLinear): ModelLinear => ({ weight: copyLayerWeight(l.weight), bias: l.bias ? l.bias.slice() : null });

export function cloneProvider(src: WeightProvider): WeightProvider {
  return {
    config: src.config,
    tokenizer: src.tokenizer,
    embedding: () => src.embedding().slice(),
    posEmbedding: () => src.posEmbedding()?.slice() ?? null,
    norm: (l, which) => copyNorm(src.norm(l, which)),
    finalNorm: () => copyNorm(src.finalNorm()),
    linear: (l, role) => copyLinear(src.linear(l, role)),
    unembedding: () => {
      const u = src.unembedding();
      return u ? copyLayerWeight(u) : null;
    },
    close: () => {},
  };
}
