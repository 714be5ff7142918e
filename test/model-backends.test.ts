/**
 * The model on the fast CPU backend (wasm-simd, when built): tiny-chat's golden activations (f32 goldens,
 * 1e-3 as for the reference backend) and its golden greedy completions, batched with left padding.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { createBackend, wasmSimdPresent } from '../kernels/select.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { projectRoot } from './helpers/shared.ts';
import { maxAbsDiff } from './helpers/synthetic-model.ts';

const dir = path.join(projectRoot, 'models/tiny-chat');
const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as {
  file: string;
  input_ids: number[];
  greedy_completion_ids: number[];
}[];

(wasmSimdPresent() ? describe : describe.skip)('tiny-chat on wasm-simd', async () => {
  const backend = await createBackend('wasm-simd');
  afterAll(() => backend.dispose());
  const model = await loadModel(dir, { backend });

  it('matches the golden activations and logits (1e-3)', async () => {
    const r = await model.forward(
      golden.map((g) => g.input_ids),
      { cache: ['blocks.*.hook_resid_post'] },
    );
    const [B, T, V] = r.logitsShape;
    const d = model.config.dModel;
    for (let b = 0; b < B; b++) {
      const g = openSafetensors(path.join(dir, 'golden', golden[b].file));
      const pad = r.padding[b];
      expect(maxAbsDiff(r.logits.slice((b * T + pad) * V, (b + 1) * T * V), g.readF32('logits'))).toBeLessThan(1e-3);
      for (let l = 0; l < model.config.nLayers; l++) {
        const a = r.cache.get(`blocks.${l}.hook_resid_post`)!.data;
        expect(maxAbsDiff(a.slice((b * T + pad) * d, (b + 1) * T * d), g.readF32(`resid_post.${l}`))).toBeLessThan(1e-3);
      }
      g.close();
    }
  });

  it('reproduces the golden greedy completions in one batch', async () => {
    const g = await model.generate(
      golden.map((p) => p.input_ids),
      { maxNewTokens: 48 },
    );
    expect(g.tokens).toEqual(golden.map((p) => p.greedy_completion_ids));
  });
});

(wasmSimdPresent() ? describe : describe.skip)('fused q|k|v and gate|up on wasm-simd equal the reference backend', () => {
  // The reference accumulates in f64, wasm-simd in f32 over K <= 96: logits of size ~10 agree to ~1e-5;
  // 1e-4 leaves room without hiding a wrong row split (which moves logits by O(1)).
  it.each(['qwen2', 'gpt2', 'llama'] as const)('%s, f32 and int8', async (family) => {
    const cfg = syntheticConfig({
      family,
      nLayers: 2,
      dModel: 48,
      nHeads: 4,
      nKvHeads: family === 'gpt2' ? 4 : 2,
      dMlp: 96,
      vocabSize: 80,
    });
    const wasm = await createBackend('wasm-simd');
    try {
      for (const precision of ['f32', 'int8'] as const) {
        const a = new DecoderModel(syntheticProvider(cfg, 11), { backend: wasm, precision });
        // int8 runs wasm-simd's integer-dot kernels; the reference computes the same linears (linearDotRef).
        const b = new DecoderModel(syntheticProvider(cfg, 11), { backend: createReferenceBackend({ integerDot: true }), precision });
        const prompts = [
          [1, 5, 9, 13, 17],
          [2, 4],
        ];
        expect(maxAbsDiff((await a.forward(prompts)).logits, (await b.forward(prompts)).logits)).toBeLessThan(1e-4);
        const ga = await a.generate(prompts, { maxNewTokens: 6, stopTokens: [] });
        const gb = await b.generate(prompts, { maxNewTokens: 6, stopTokens: [] });
        expect(ga.tokens).toEqual(gb.tokens);
      }
    } finally {
      wasm.dispose();
    }
  });
});
