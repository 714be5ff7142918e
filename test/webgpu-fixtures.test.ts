/**
 * The architecture fixtures and pre-quantized checkpoints (../shared, float64 goldens: 1e-4) run resident on
 * webgpu: qwen2 (q/k/v biases), llama3 (rope scaling, explicit head_dim), gpt2 (LayerNorm, gelu, learned
 * positions, Conv1D), f16, GPTQ act-order (input perm), GPTQ int8, AWQ and compressed-tensors int4, stories260k.
 * Skips where ../shared is absent (a fresh clone, CI) or no adapter answers.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { loadModel } from '../models/load.ts';
import { checkFixture } from './helpers/fixture-check.ts';
import { describeShared, sharedDir } from './helpers/shared.ts';

const available = await webgpuAvailable();
const backend: Backend | null = available ? await createBackend('webgpu') : null;
afterAll(() => backend?.dispose());

describeShared('fixtures resident on webgpu (float64 goldens: 1e-4)', () => {
  it
    .skipIf(!available)
    .each([
      'models/fixtures/qwen2',
      'models/fixtures/llama3',
      'models/fixtures/gpt2',
      'models/fixtures/llama_f16',
      'models/quantized/gptq4_g32_actorder',
      'models/quantized/gptq8_g128_sym',
      'models/quantized/awq4_g32',
      'models/quantized/ct_w4a16_g32',
      'models/stories260k',
    ])('%s', async (rel) => {
    const dir = path.join(sharedDir!, rel);
    const model = await loadModel(dir, { backend: backend! });
    expect((model as unknown as { residentActive: boolean }).residentActive).toBe(true);
    await checkFixture(model, path.join(dir, 'golden.safetensors'), 1e-4);
    model.dispose();
  });
});
