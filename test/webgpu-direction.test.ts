/**
 * The Arditi direction pipeline (small profile) on webgpu (resident, SwiftShader in CI) and on wasm-simd
 * selects the same (position, layer), with cosine ≥ 0.9999 between the two directions (issue 12). The full
 * small profile (all 6 layers, with the refusal filter) took 7.4 min on SwiftShader under load ~20; this one scores
 * the last two layers only.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDirection } from '../analysis/direction/direction-pipeline.ts';
import { cosine } from '../analysis/vector-math.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import { loadModel } from '../models/load.ts';
import { projectRoot } from './helpers/shared.ts';

const available = await webgpuAvailable();
const dir = path.join(projectRoot, 'models/tiny-chat');

describe.skipIf(!available)('direction pipeline: webgpu vs wasm-simd', () => {
  it('same selected (pos, layer), cosine >= 0.9999', async () => {
    const inputs = {
      harmful: loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json')),
      harmless: loadPrompts(path.join(projectRoot, 'data/prompts/harmless.json')),
    };
    const run = async (name: 'webgpu' | 'wasm-simd') => {
      const backend = await createBackend(name);
      try {
        const model = await loadModel(dir, { backend });
        // small profile: candidates at the last two layers only (tiny-chat's direction forms at the input of its last
        // block), no refusal filter; the same restriction on both backends keeps the comparison exact
        return await runDirection(model, inputs, {
          nTrain: 8,
          nVal: 4,
          maxLayerFraction: 1.0,
          seed: 7,
          filter: false,
          include: (_pos: number, layer: number) => layer >= 4,
        });
      } finally {
        backend.dispose();
      }
    };
    const g = await run('webgpu');
    const c = await run('wasm-simd');
    expect([g.selection.selected.pos, g.selection.selected.layer]).toEqual([c.selection.selected.pos, c.selection.selected.layer]);
    expect(cosine(g.direction, c.direction)!).toBeGreaterThanOrEqual(0.9999);
  }, 600_000);
});
