/** The reference ops as a Backend (slow, exact): the baseline every other backend is compared with. */
import { weightBytes, checkWeight } from '../formats.ts';
import type { Backend, LinearHandle, LinearWeight } from '../types.ts';
import * as ref from './ops.ts';

interface RefHandle extends LinearHandle { weight: LinearWeight }

export function createReferenceBackend(): Backend {
  return {
    name: 'reference',
    threads: 1,
    uploadLinear(w) {
      checkWeight(w);
      const h: RefHandle = { n: w.n, k: w.k, format: w.format, bytes: weightBytes(w), weight: w };
      return h;
    },
    linear: (h, x, t, bias) => ref.linearRef((h as RefHandle).weight, x, t, bias),
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
