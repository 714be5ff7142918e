/** The fixture-golden comparison shared by the reference parity test and its webgpu twin. */
import { expect } from 'vitest';
import { openSafetensors } from '../../engine/safetensors-reader.ts';
import { hfInvFreq } from '../../models/rope.ts';
import type { Model } from '../../models/types.ts';
import { maxAbsDiff } from './synthetic-model.ts';

export function idsOf(raw: ArrayLike<number>, shape: number[]): number[][] {
  const [B, T] = shape.length === 1 ? [1, shape[0]] : shape;
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Number(raw[b * T + t])));
}

export async function checkFixture(model: Model, golden: string, tol: number): Promise<void> {
  const g = openSafetensors(golden);
  const ids = idsOf(g.readRaw('input_ids') as Int32Array, g.info('input_ids').shape);
  const L = model.config.nLayers;
  const r = await model.forward(ids, { cache: ['blocks.*.hook_resid_post', 'blocks.0.hook_resid_pre', 'ln_final.hook_normalized'] });
  if (g.has('embeddings'))
    expect(maxAbsDiff(r.cache.get('blocks.0.hook_resid_pre')!.data, g.readF32('embeddings')), 'embeddings').toBeLessThan(tol);
  for (let l = 0; l < L; l++)
    if (g.has(`hidden.${l}`))
      expect(maxAbsDiff(r.cache.get(`blocks.${l}.hook_resid_post`)!.data, g.readF32(`hidden.${l}`)), `hidden.${l}`).toBeLessThan(tol);
  expect(maxAbsDiff(r.cache.get('ln_final.hook_normalized')!.data, g.readF32('final_norm')), 'final_norm').toBeLessThan(tol);
  expect(maxAbsDiff(r.logits, g.readF32('logits')), 'logits').toBeLessThan(tol);
  if (g.has('rope.inv_freq')) {
    const rope = model.config.rope!;
    expect(Array.from(hfInvFreq(rope))).toEqual(Array.from(g.readF32('rope.inv_freq')));
  }
  g.close();
}
