/**
 * Seeded random-weight models built in memory (tests, benchmarks): a config for any family/shape and a
 * WeightProvider that generates each tensor on request, so nothing is stored and a large model never
 * exists in f32 all at once.
 */
import { familyCapabilities } from '../engine/config.ts';
import type { Family, ModelConfig } from '../engine/types.ts';
import { familyDescriptor } from './families.ts';
import { makeRng } from './sampler.ts';
import type { LinearRole, ModelLinear } from './types.ts';
import type { NormWeights, WeightProvider } from './weight-provider.ts';

export interface SyntheticShape {
  family?: Family;
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  dMlp: number;
  vocabSize: number;
  headDim?: number;
  maxPositions?: number;
  tied?: boolean;
}

export function syntheticConfig(s: SyntheticShape): ModelConfig {
  const family = s.family ?? 'llama';
  const headDim = s.headDim ?? s.dModel / s.nHeads;
  return {
    family,
    modelType: family,
    architectures: [],
    nLayers: s.nLayers,
    dModel: s.dModel,
    nHeads: s.nHeads,
    headDim,
    dMlp: s.dMlp,
    vocabSize: s.vocabSize,
    maxPositions: s.maxPositions ?? 2048,
    tiedEmbeddings: s.tied ?? true,
    // norm, act, biases, RoPE and the KV-head count follow the family (its descriptor file).
    ...familyDescriptor(family).syntheticFields(family, { nHeads: s.nHeads, nKvHeads: s.nKvHeads, headDim }),
    capabilities: familyCapabilities(family),
    slidingWindow: null,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
    torchDtype: 'float32',
    quantization: null,
    raw: {},
  };
}

/** Uniform values with the variance of N(0, std^2). */
function randn(n: number, std: number, rng: () => number): Float32Array {
  const a = std * Math.sqrt(3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng() * 2 - 1) * a;
  return out;
}

/** Deterministic: the same (seed, tensor) always gives the same values, whatever order tensors are read in. */
export function syntheticProvider(cfg: ModelConfig, seed = 1): WeightProvider {
  const { dModel: d, nHeads, nKvHeads, headDim: hd, dMlp, vocabSize: V } = cfg;
  const rngFor = (tag: number) => makeRng((seed * 1000003 + tag * 7919) >>> 0);
  const dims: Record<LinearRole, [number, number]> = {
    q: [nHeads * hd, d],
    k: [nKvHeads * hd, d],
    v: [nKvHeads * hd, d],
    o: [d, nHeads * hd],
    gate: [dMlp, d],
    up: [dMlp, d],
    down: [d, dMlp],
  };
  const roles: LinearRole[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
  const hasBias = (role: LinearRole) => (['q', 'k', 'v'].includes(role) ? cfg.qkvBias : role === 'o' ? cfg.outBias : cfg.mlpBias);
  const norm = (tag: number): NormWeights => {
    const rng = rngFor(tag);
    const w = Float32Array.from({ length: d }, () => 1 + (rng() - 0.5) * 0.2);
    return { w, b: cfg.norm === 'layer' ? randn(d, 0.02, rng) : null };
  };
  return {
    config: cfg,
    tokenizer: null,
    embedding: () => randn(V * d, 0.2, rngFor(1)),
    posEmbedding: () => (cfg.capabilities.learnedPositions ? randn(cfg.maxPositions * d, 0.3, rngFor(2)) : null),
    norm: (l, which) => norm(100 + l * 2 + (which === 'mlp' ? 1 : 0)),
    finalNorm: () => norm(3),
    linear: (l, role): ModelLinear => {
      const [n, k] = dims[role];
      const rng = rngFor(10_000 + l * 16 + roles.indexOf(role));
      const w = randn(n * k, 1 / Math.sqrt(k), rng);
      return { weight: { format: 'f32', n, k, w }, bias: hasBias(role) ? randn(n, 0.1, rng) : null };
    },
    unembedding: () => (cfg.tiedEmbeddings ? null : { format: 'f32', n: V, k: d, w: randn(V * d, 1 / Math.sqrt(d), rngFor(4)) }),
    close: () => {},
  };
}
