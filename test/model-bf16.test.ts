/**
 * bf16 at run time on a real checkpoint: tiny-chat is stored in bf16, so `precision: 'auto'` keeps its linears in
 * bf16 (half the bytes of f32) and must compute exactly what widening to f32 at load computes: bit-identical
 * logits and activations on wasm-simd (whose bf16 kernels widen exactly and run f32's operations in f32's order)
 * and hence the same golden greedy completions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelFolder } from '../engine/model-folder.ts';
import { createBackend, wasmSimdPresent } from '../kernels/select.ts';
import { checkpointPrecision, loadModel } from '../models/load.ts';
import { projectRoot } from './helpers/shared.ts';

const dir = path.join(projectRoot, 'models/tiny-chat');
const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as {
  input_ids: number[];
  greedy_completion_ids: number[];
}[];
const prompts = golden.map((g) => g.input_ids);
const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('checkpointPrecision', () => {
  it('is bf16 for tiny-chat (all 2-D float tensors BF16)', () => {
    const f = openModelFolder(dir);
    try {
      expect(checkpointPrecision(f)).toBe('bf16');
    } finally {
      f.close();
    }
  });
});

(wasmSimdPresent() ? describe : describe.skip)('tiny-chat in bf16 (precision auto) on wasm-simd', async () => {
  const backend = await createBackend('wasm-simd');
  afterAll(() => backend.dispose());
  const bf = await loadModel(dir, { backend, precision: 'auto' });
  const f32 = await loadModel(dir, { backend, precision: 'f32' });

  it('holds bf16 linears (half the bytes) and reports precision bf16', () => {
    expect(bf.precision).toBe('bf16');
    expect(bf.getLinear(0, 'q').weight.format).toBe('bf16');
    expect(bf.getUnembedding().format).toBe('bf16');
    expect(f32.getLinear(0, 'q').weight.format).toBe('f32');
  });

  it('gives bit-identical logits and residuals to the f32 widening, and the golden greedy completions', async () => {
    const a = await bf.forward(prompts, { cache: ['blocks.*.hook_resid_post'] });
    const b = await f32.forward(prompts, { cache: ['blocks.*.hook_resid_post'] });
    expect(same(a.logits, b.logits)).toBe(true);
    for (const [name, t] of a.cache) expect(same(t.data, b.cache.get(name)!.data)).toBe(true);
    const g = await bf.generate(prompts, { maxNewTokens: 48 });
    expect(g.tokens).toEqual(golden.map((p) => p.greedy_completion_ids));
  });
});
