/**
 * Run-time weight memory of a model at each precision the engine runs (kernels/types.ts layouts), from the
 * config alone, so a quantized checkpoint and its source give the same estimate.
 *  - Decoder Linears (and an untied lm_head) at the precision:
 *      f32  4*N*K;  int8  N*K + 4*N (per-channel f32 scales);
 *      int4 N*ceil(K/2) + N*ceil(K/128)*(4 + 1) (group 128, f32 scale + u8 zero point per group).
 *  - Embedding, position embedding, norms and biases stay f32 (they do in every precision).
 *  - The KV cache is separate: `kvCacheBytesPerToken` f32 bytes per token per sequence.
 * Activations and backend workspace are not included: this is the weights' floor, not a peak.
 */
import type { ModelConfig } from './types.ts';

export interface MemoryEstimate {
  f32: number;
  int8: number;
  int4: number;
  kvCacheBytesPerToken: number;
}

type Precision = 'f32' | 'int8' | 'int4';

export const INT4_ESTIMATE_GROUP = 128;

export function linearBytes(n: number, k: number, p: Precision): number {
  if (p === 'f32') return 4 * n * k;
  if (p === 'int8') return n * k + 4 * n;
  return n * Math.ceil(k / 2) + n * Math.ceil(k / INT4_ESTIMATE_GROUP) * 5;
}

export function estimateMemory(c: ModelConfig): MemoryEstimate {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  // [N, K] of each Linear of one block.
  const linears: Array<[number, number]> = [
    [q, c.dModel],
    [kv, c.dModel],
    [kv, c.dModel],
    [c.dModel, q],
    [c.dMlp, c.dModel],
    [c.dModel, c.dMlp],
  ];
  if (c.capabilities.gatedMlp) linears.push([c.dMlp, c.dModel]); // gate
  const biases = (c.qkvBias ? q + 2 * kv : 0) + (c.outBias ? c.dModel : 0) + (c.mlpBias ? c.dMlp + c.dModel : 0);
  const norms = (c.norm === 'layer' ? 2 : 1) * c.dModel;
  let f32Fixed = c.vocabSize * c.dModel + norms + c.nLayers * (2 * norms + biases);
  if (c.capabilities.learnedPositions) f32Fixed += c.maxPositions * c.dModel; // position table (wpe)
  const at = (p: Precision) => {
    let bytes = 4 * f32Fixed;
    for (const [n, k] of linears) bytes += c.nLayers * linearBytes(n, k, p);
    if (!c.tiedEmbeddings) bytes += linearBytes(c.vocabSize, c.dModel, p);
    return bytes;
  };
  return { f32: at('f32'), int8: at('int8'), int4: at('int4'), kvCacheBytesPerToken: 2 * c.nLayers * kv * 4 };
}
