/**
 * End to end: the embedded tiny-chat model run on the gpu.js backends reproduces its golden logits
 * (f32 goldens, 1e-3 as for the other backends) and, on webasm, its golden greedy completions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { loadModel } from '../models/load.ts';
import { projectRoot } from './helpers/shared.ts';

const dir = path.join(projectRoot, 'models/tiny-chat');
const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as {
  file: string;
  input_ids: number[];
  greedy_completion_ids: number[];
}[];

for (const mode of ['webasm', 'cpu'] as const) {
  describe(`tiny-chat on gpu.js ${mode}`, () => {
    it(`matches the golden logits (1e-3)${mode === 'webasm' ? ' and greedy completions' : ''}`, async () => {
      const backend = await createGpujsBackend(mode);
      try {
        const model = await loadModel(dir, { backend });
        const r = await model.forward(
          golden.map((g) => g.input_ids),
          {},
        );
        const [B, T, V] = r.logitsShape;
        for (let b = 0; b < B; b++) {
          const g = openSafetensors(path.join(dir, 'golden', golden[b].file));
          const ref = g.readF32('logits');
          g.close();
          const got = r.logits.subarray((b * T + r.padding[b]) * V, (b + 1) * T * V);
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
          expect(worst, `prompt ${b}`).toBeLessThan(1e-3);
        }
        if (mode === 'webasm') {
          const gen = await model.generate(
            golden.map((p) => p.input_ids),
            { maxNewTokens: 48 },
          );
          expect(gen.tokens).toEqual(golden.map((p) => p.greedy_completion_ids));
        }
      } finally {
        backend.dispose();
      }
    });
  });
}
