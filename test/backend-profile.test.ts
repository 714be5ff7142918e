/**
 * kernels/profile.ts: the wrapper times every op without changing what it returns, counts calls per op (a model's
 * forward pass makes the calls its shape implies), handles async results, and reset() starts again from zero.
 */
import { describe, expect, it } from 'vitest';
import { profileBackend, PROFILED_OPS } from '../kernels/profile.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { SMALL } from './helpers/synthetic-model.ts';

describe('profileBackend', () => {
  it('counts the ops of a forward pass and leaves its results bit-identical', async () => {
    const cfg = syntheticConfig({ ...SMALL, family: 'llama' });
    const plain = new DecoderModel(syntheticProvider(cfg, 7), { backend: createReferenceBackend() });
    const backend = createReferenceBackend();
    const prof = profileBackend(backend);
    const model = new DecoderModel(syntheticProvider(cfg, 7), { backend });
    prof.reset(); // loading made no op calls worth keeping
    const ids = [3, 9, 27, 17];
    const want = await plain.forward([ids]);
    const got = await model.forward([ids]);
    expect(got.logits).toEqual(want.logits);
    const s = prof.snapshot();
    const L = cfg.nLayers;
    // Per block: attention and MLP norms, the residual adds, rope on q and k, one attention; then the final norm.
    expect(s.rmsNorm.calls).toBe(2 * L + 1);
    expect(s.add.calls).toBe(2 * L);
    expect(s.rope.calls).toBe(2 * L);
    expect(s.attention.calls).toBe(L);
    expect(s.embedding.calls).toBe(1);
    expect(s.linear.calls).toBeGreaterThanOrEqual(3 * L + 1); // fused or not: at least qkv, o, down per block + the unembedding
    for (const [op, v] of Object.entries(s)) {
      expect(PROFILED_OPS).toContain(op);
      expect(v.ms).toBeGreaterThanOrEqual(0);
    }
    expect(s.layerNorm).toBeUndefined(); // never called: left out
    prof.reset();
    expect(prof.snapshot()).toEqual({});
  });

  it('times async results to their resolution and passes rejections through', async () => {
    const backend = createReferenceBackend();
    const slow = (x: Float32Array) => new Promise<Float32Array>((r) => setTimeout(() => r(x), 30));
    (backend as unknown as { gelu: typeof slow }).gelu = slow;
    const prof = profileBackend(backend);
    const x = Float32Array.of(1, 2);
    expect(await backend.gelu(x)).toBe(x);
    expect(prof.snapshot().gelu.calls).toBe(1);
    expect(prof.snapshot().gelu.ms).toBeGreaterThanOrEqual(25);
    (backend as unknown as { add: () => never }).add = () => {
      throw new Error('boom');
    };
    const p2 = profileBackend(backend);
    expect(() => backend.add(x, x)).toThrow('boom');
    expect(p2.snapshot().add).toBeUndefined(); // a call that threw is not counted as a timed op
  });
});
