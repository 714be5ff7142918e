/**
 * ForwardOptions.stopAtLayer (TransformerLens's stop_at_layer): the blocks below the stop give the full forward's
 * activations bit for bit, alone and with a start residual (one block from its input, as the calibration stream
 * runs it); and the refusals: a stop that runs no block, logits asked for, a hook or cache at or above the stop.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { backendModels, cpuBackends, sameBits } from './helpers/backend-models.ts';

const synthetic = backendModels(4, 11);
// Different lengths, so rows are left-padded; two share a 3-token prefix.
const prompts = [
  [5, 9, 13, 2, 7, 30],
  [5, 9, 13, 8],
  [11, 12, 40, 41],
];

describe.each(cpuBackends())('stopAtLayer on %s', (backendName) => {
  it.each([
    ['qwen2', 'f32'],
    ['qwen2', 'int8'],
    ['gpt2', 'f32'],
  ] as const)('%s %s: the blocks below the stop equal the full forward, from the embedding and from a start', async (family, precision) => {
    const model = await synthetic(backendName, family, precision);
    const L = model.config.nLayers;
    const names = (below: number) =>
      Array.from({ length: below }, (_, l) => [
        `blocks.${l}.hook_resid_post`,
        `blocks.${l}.mlp.hook_post`,
        `blocks.${l}.attn.hook_z`,
      ]).flat();
    const full = await model.forward(prompts, { cache: names(L), logits: 'last' });
    for (let stop = 1; stop <= L; stop++) {
      const seen: number[] = [];
      const hooks = [{ name: `blocks.${stop - 1}.hook_resid_mid`, fn: () => void seen.push(stop) }];
      const part = await model.forward(prompts, { cache: names(stop), logits: 'none', stopAtLayer: stop, hooks });
      expect(part.logits.length).toBe(0);
      expect(seen).toEqual([stop]);
      for (const n of names(stop)) expect(sameBits(part.cache.get(n)!.data, full.cache.get(n)!.data), `stop ${stop}: ${n}`).toBe(true);
    }
    // One block from its input, for every block: block l's output as the full forward gives it.
    for (let l = 1; l < L; l++) {
      const residual = full.cache.get(`blocks.${l - 1}.hook_resid_post`)!.data;
      const out = `blocks.${l}.hook_resid_post`;
      const one = await model.forward(prompts, { cache: [out], logits: 'none', start: { layer: l, residual }, stopAtLayer: l + 1 });
      expect(sameBits(one.cache.get(out)!.data, full.cache.get(out)!.data), `block ${l} alone`).toBe(true);
    }
  });
});

describe.skipIf(!(await webgpuAvailable()))('stopAtLayer resident on webgpu (SwiftShader in CI)', () => {
  it('qwen2 int8: the blocks below the stop equal the resident full run bit for bit', async () => {
    const model = await synthetic('webgpu', 'qwen2', 'int8');
    expect((model as unknown as { residentActive: boolean }).residentActive).toBe(true);
    const L = model.config.nLayers;
    const names = (below: number) =>
      Array.from({ length: below }, (_, l) => [`blocks.${l}.hook_resid_post`, `blocks.${l}.mlp.hook_post`]).flat();
    const full = await model.forward(prompts, { cache: names(L), logits: 'last' });
    for (let stop = 1; stop <= L; stop++) {
      const part = await model.forward(prompts, { cache: names(stop), logits: 'none', stopAtLayer: stop });
      for (const n of names(stop)) expect(sameBits(part.cache.get(n)!.data, full.cache.get(n)!.data), `stop ${stop}: ${n}`).toBe(true);
    }
  });
});

describe('stopAtLayer refusals', () => {
  it('names the stop, the logits or the point that cannot run', async () => {
    const model = await synthetic('reference', 'qwen2', 'f32');
    const L = model.config.nLayers;
    const bad = (opts: Parameters<typeof model.forward>[1]) => model.forward(prompts, opts);
    for (const stop of [0, L + 1, 1.5, Number.NaN])
      await expect(bad({ logits: 'none', stopAtLayer: stop })).rejects.toThrow(
        new RegExp(`stopAtLayer ${stop} must be an integer in 1..${L}`),
      );
    const residual = new Float32Array(3 * 6 * model.config.dModel);
    await expect(bad({ logits: 'none', stopAtLayer: 2, start: { layer: 2, residual } })).rejects.toThrow(/integer in 3\.\./);
    await expect(bad({ stopAtLayer: 2 })).rejects.toThrow(/pass logits: 'none' \(got 'all'\)/);
    await expect(bad({ logits: 'last', stopAtLayer: 2 })).rejects.toThrow(UsageError);
    await expect(bad({ logits: 'none', stopAtLayer: 2, cache: ['blocks.*.hook_resid_post'] })).rejects.toThrow(
      /names blocks\.2\.hook_resid_post, at or above stopAtLayer 2/,
    );
    await expect(bad({ logits: 'none', stopAtLayer: L, cache: ['ln_final.hook_normalized'] })).rejects.toThrow(/ln_final/);
    await expect(bad({ logits: 'none', stopAtLayer: 1, hooks: [{ name: 'blocks.1.hook_resid_pre', fn: () => {} }] })).rejects.toThrow(
      /blocks\.1\.hook_resid_pre/,
    );
  });
});
