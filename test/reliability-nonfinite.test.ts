/**
 * Non-finite values must never be hidden: a row of NaN attention scores is not a "fully masked" row (zeros), it
 * is NaN, so the NaN guard fires and names the hook (issue 10, medium). Weights as loaded are scanned too.
 */
import { describe, expect, it } from 'vitest';
import { attentionRef } from '../kernels/reference/ops.ts';
import { attention as wasmAttention } from '../kernels/wasm/js-ops.ts';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { NonFiniteError } from '../engine/errors.ts';
import type { AttentionArgs } from '../kernels/types.ts';
import { SMALL } from './helpers/synthetic-model.ts';

function args(qValue: number, kValue = 1): AttentionArgs {
  const t = 2;
  const s = 2;
  const d = 4;
  const q = new Float32Array(t * d).fill(0.5);
  q.fill(qValue, d); // the second query row only
  return {
    q, k: new Float32Array(s * d).fill(kValue), v: new Float32Array(s * d).fill(1), t, s, nHeads: 1, nKvHeads: 1, headDim: d,
    keyValid: Uint8Array.of(1, 1), scale: 0.5, patternOut: null,
  };
}

describe('attention softmax propagates NaN/Inf instead of treating the row as masked', () => {
  const kernels: [string, (a: AttentionArgs) => Float32Array | Promise<Float32Array>][] = [
    ['reference', attentionRef],
    ['wasm-simd js', wasmAttention],
  ];
  for (const [name, attn] of kernels) {
    it(`${name}: a row of all-NaN scores gives NaN, not zeros; the other row stays finite`, async () => {
      const out = await attn(args(NaN));
      expect(Array.from(out.subarray(0, 4)).every(Number.isFinite)).toBe(true);
      expect(Array.from(out.subarray(4)).every(Number.isNaN)).toBe(true);
    });
    it(`${name}: an Inf in k (all scores +Inf) gives NaN, a row with no visible key still gives zeros`, async () => {
      const out = await attn(args(0.5, Infinity));
      expect(Array.from(out).some(Number.isNaN)).toBe(true);
      const masked = await attn({ ...args(0.5), keyValid: Uint8Array.of(0, 1) });
      expect(Array.from(masked.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    });
  }
  it('gpu.js (cpu mode): a NaN query row gives NaN output', async () => {
    const b = await createGpujsBackend('cpu');
    try {
      const out = await b.attention(args(NaN));
      expect(Array.from(out.subarray(4)).some(Number.isNaN)).toBe(true);
    } finally {
      b.dispose();
    }
  });
});

describe('the NaN guard names the hook when q/k weights hold NaN', () => {
  it('reference backend: forward throws NonFiniteError at an attention hook (not wrong tokens with exit 0)', async () => {
    const cfg = syntheticConfig({ ...SMALL });
    const base = syntheticProvider(cfg, 7);
    const provider = {
      ...base,
      linear: (l: number, role: Parameters<typeof base.linear>[1]) => {
        const lin = base.linear(l, role);
        if (l === 1 && role === 'k' && lin.weight.format === 'f32') lin.weight.w.fill(NaN);
        return lin;
      },
    };
    const model = new DecoderModel(provider, { backend: createReferenceBackend() });
    await expect(model.forward([[1, 2, 3]])).rejects.toThrow(NonFiniteError);
    await expect(model.forward([[1, 2, 3]])).rejects.toThrow(/blocks\.1\.(attn|hook)/);
  });
});
