/** The reference ops as a Backend (slow, exact): the baseline every other backend is compared with. */
import { weightBytes, checkWeight } from '../formats.ts';
import type { Backend, LinearHandle, LinearWeight } from '../types.ts';
import { linearDotRef } from './linear-dot.ts';
import * as ref from './ops.ts';

interface RefHandle extends LinearHandle {
  weight: LinearWeight;
}

export interface ReferenceOptions {
  /**
   * int8/int4 linears compute what wasm-simd's default integer-dot kernels compute (linearDotRef: activations
   * quantized to int16 per block) instead of the exact-activation linearRef (default false).
   */
  integerDot?: boolean;
}

export function createReferenceBackend(opts: ReferenceOptions = {}): Backend {
  const linearOf = (w: LinearWeight) =>
    opts.integerDot && (w.format === 'int8' || w.format === 'int4') ? linearDotRef.bind(null, w) : ref.linearRef.bind(null, w);
  return {
    name: 'reference',
    writesOut: true,
    threads: 1,
    uploadLinear(w) {
      checkWeight(w);
      const h: RefHandle = { n: w.n, k: w.k, format: w.format, bytes: weightBytes(w), weight: w };
      return h;
    },
    linear: (h, x, t, bias) => linearOf((h as RefHandle).weight)(x, t, bias),
    rmsNorm: ref.rmsNormRef,
    layerNorm: ref.layerNormRef,
    rope: ref.ropeRef,
    attention: ref.attentionRef,
    siluGate: ref.siluGateRef,
    gelu: ref.geluRef,
    add: ref.addRef,
    embedding: ref.embeddingRef,
    dispose() {},
  };
}
