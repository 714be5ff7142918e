/**
 * tiny-chat resident on the webgpu device (models/resident.ts), on whatever adapter exists: SwiftShader
 * in CI (GLASSBOX_REQUIRE_WEBGPU=1 makes a missing adapter a failure). Same answers as the CPU: golden
 * logits and residual activations within 1e-3 (f32 goldens, clarifications.md), wasm-simd's greedy
 * completions token for token, interventions declared as ops (no readback: one submit per step) equal to
 * the same hooks on wasm-simd, and JavaScript hooks still working (read back, call, upload).
 * Prompts are few and short: SwiftShader is slow (see docs/webgpu.md for the timings).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ablationHooks, additionHook, projectOut, ablationDirection } from '../analysis/interventions.ts';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { projectRoot } from './helpers/shared.ts';

const dir = path.join(projectRoot, 'models/tiny-chat');
const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as { file: string; input_ids: number[] }[];
const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';
/** The three shortest golden prompts (15, 22, 24 tokens): batched, so left padding is exercised. */
const pick = [3, 0, 7];
const prompts = pick.map((i) => golden[i].input_ids);

function worstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

describe.skipIf(available || !required)('tiny-chat on webgpu without an adapter', () => {
  it('GLASSBOX_REQUIRE_WEBGPU=1: an adapter must exist', () => expect.fail('no WebGPU adapter'));
});

describe.skipIf(!available)('tiny-chat resident on webgpu', () => {
  let gpuBe: Backend;
  let cpuBe: Backend;
  let gpu: Model;
  let cpu: Model;
  const submits = () => gpuBe.resident!.submits;
  beforeAll(async () => {
    gpuBe = await createBackend('webgpu');
    cpuBe = await createBackend('wasm-simd');
    gpu = await loadModel(dir, { backend: gpuBe });
    cpu = await loadModel(dir, { backend: cpuBe });
  });
  afterAll(() => {
    gpuBe?.dispose();
    cpuBe?.dispose();
  });

  it('runs resident, and matches the golden logits and residual activations (1e-3) in one submit', async () => {
    expect((gpu as unknown as { residentActive: boolean }).residentActive).toBe(true);
    const before = submits();
    const r = await gpu.forward(prompts, { cache: ['blocks.*.hook_resid_pre', 'blocks.*.hook_resid_mid', 'blocks.*.hook_resid_post'] });
    expect(submits() - before).toBe(1);
    const [B, T, V] = r.logitsShape;
    const d = gpu.config.dModel;
    for (let b = 0; b < B; b++) {
      const g = openSafetensors(path.join(dir, 'golden', golden[pick[b]].file));
      try {
        const pad = r.padding[b];
        expect(
          worstDiff(r.logits.subarray((b * T + pad) * V, (b + 1) * T * V), g.readF32('logits')),
          `logits prompt ${pick[b]}`,
        ).toBeLessThan(1e-3);
        for (let l = 0; l < gpu.config.nLayers; l++)
          for (const [mine, theirs] of [
            ['hook_resid_pre', 'resid_pre'],
            ['hook_resid_mid', 'resid_mid'],
            ['hook_resid_post', 'resid_post'],
          ]) {
            const act = r.cache.get(`blocks.${l}.${mine}`)!;
            expect(act.shape).toEqual([B, T, d]);
            const got = act.data.subarray((b * T + pad) * d, (b + 1) * T * d);
            expect(worstDiff(got, g.readF32(`${theirs}.${l}`)), `${mine} layer ${l} prompt ${pick[b]}`).toBeLessThan(1e-3);
          }
      } finally {
        g.close();
      }
    }
  });

  it('the workgroup-parallel kernels (a hardware GPU: tiled prefill GEMM, row reductions) match the golden logits too', async () => {
    const rt = gpuBe.resident!;
    const was = rt.serial;
    rt.serial = false;
    try {
      const r = await gpu.forward([prompts[0]]);
      const g = openSafetensors(path.join(dir, 'golden', golden[pick[0]].file));
      try {
        expect(worstDiff(r.logits, g.readF32('logits'))).toBeLessThan(1e-3);
      } finally {
        g.close();
      }
    } finally {
      rt.serial = was;
    }
  });

  it("reproduces wasm-simd's greedy completions (48 tokens), one submit per forward step", async () => {
    const want = await cpu.generate(prompts, { maxNewTokens: 48 });
    const got = await gpu.generate(prompts, { maxNewTokens: 48 });
    expect(got.tokens).toEqual(want.tokens);
    const before = submits();
    const short = await gpu.generate([prompts[0]], { maxNewTokens: 4, stopTokens: [] });
    expect(short.tokens[0]).toHaveLength(4);
    expect(submits() - before).toBe(4); // the prompt forward + 3 decode steps (the 4th token needs no forward)
  });

  it('directional ablation and activation addition run as kernels (no readback) and equal the hooks on wasm-simd', async () => {
    // the direction: the mean last-position residual at layer 3 (any fixed vector works for equality)
    const cached = await cpu.forward(prompts, { cache: ['blocks.3.hook_resid_pre'], cachePositions: [-1], logits: 'none' });
    const act = cached.cache.get('blocks.3.hook_resid_pre')!.data;
    const d = gpu.config.dModel;
    const r = new Float32Array(d);
    for (let i = 0; i < act.length; i++) r[i % d] += act[i] / prompts.length;
    for (const hooks of [ablationHooks(r), [additionHook(r, 3, { coeff: 1 })]]) {
      const before = submits();
      const g = await gpu.forward(prompts, { hooks, logits: 'last' });
      expect(submits() - before).toBe(1);
      const c = await cpu.forward(prompts, { hooks, logits: 'last' });
      expect(worstDiff(g.logits, c.logits)).toBeLessThan(1e-3);
    }
    // prompt-only addition in generation: added at the prompt forward, not at generated tokens
    const add = [additionHook(r, 3, { coeff: 1, promptOnly: true })];
    const want = await cpu.generate(prompts.slice(0, 2), { maxNewTokens: 12, hooks: add });
    const got = await gpu.generate(prompts.slice(0, 2), { maxNewTokens: 12, hooks: add });
    expect(got.tokens).toEqual(want.tokens);
  });

  it('a JavaScript hook still works on webgpu (read back, call, upload) and sees what the CPU sees', async () => {
    const d = ablationDirection(Float32Array.from({ length: gpu.config.dModel }, (_, i) => Math.sin(i)));
    const seen: number[] = [];
    const jsHooks = [
      {
        name: 'blocks.*.hook_resid_pre',
        fn: (a: Float32Array, ctx: { layer: number | null }) => {
          seen.push(ctx.layer!);
          projectOut(a, d);
        },
      },
    ];
    const before = submits();
    const g = await gpu.forward(prompts, { hooks: jsHooks, logits: 'last', cache: ['blocks.5.hook_resid_post'], cachePositions: [-1] });
    expect(submits() - before).toBe(1 + gpu.config.nLayers); // one readback per hooked site, then the rest
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    const c = await cpu.forward(prompts, { hooks: jsHooks, logits: 'last', cache: ['blocks.5.hook_resid_post'], cachePositions: [-1] });
    expect(worstDiff(g.logits, c.logits)).toBeLessThan(1e-3);
    expect(g.cache.get('blocks.5.hook_resid_post')!.shape).toEqual([3, 1, gpu.config.dModel]);
    expect(worstDiff(g.cache.get('blocks.5.hook_resid_post')!.data, c.cache.get('blocks.5.hook_resid_post')!.data)).toBeLessThan(1e-3);
  });

  it('refuses a model or a KV cache that does not fit the GPU memory, before uploading, naming the sizes', async () => {
    const saved = process.env.GLASSBOX_GPU_MEMORY_MB;
    try {
      process.env.GLASSBOX_GPU_MEMORY_MB = '4';
      const be = await createBackend('webgpu');
      try {
        const before = be.resident!.allocated;
        await expect(loadModel(dir, { backend: be })).rejects.toThrow(
          /needs 0\.0\d GiB of GPU memory for its f32 weights .* 0\.00 GiB \(GLASSBOX_GPU_MEMORY_MB\)/,
        );
        expect(be.resident!.allocated).toBe(before); // nothing was uploaded
        const m = await loadModel(dir, { backend: be, precision: 'int4' }); // ~3 MB: fits
        await expect(
          m.forward(
            Array.from({ length: 8 }, () => new Array(250).fill(5)),
            { logits: 'none' },
          ),
        ).rejects.toThrow(/KV cache of 8 x 250 tokens needs/);
        m.dispose();
      } finally {
        be.dispose();
      }
      process.env.GLASSBOX_GPU_MEMORY_MB = 'lots';
      const be2 = await createBackend('webgpu');
      try {
        await expect(loadModel(dir, { backend: be2 })).rejects.toThrow(/GLASSBOX_GPU_MEMORY_MB/);
      } finally {
        be2.dispose();
      }
    } finally {
      if (saved === undefined) delete process.env.GLASSBOX_GPU_MEMORY_MB;
      else process.env.GLASSBOX_GPU_MEMORY_MB = saved;
    }
  });

  it('a JavaScript hook that may edit hook_pattern sends the call to the per-op path (z is recomputed there)', async () => {
    const before = submits();
    const hooks = [{ name: 'blocks.4.attn.hook_pattern', fn: () => {} }];
    const g = await gpu.forward([prompts[0].slice(0, 2)], { hooks, logits: 'last' });
    expect(submits()).toBe(before); // nothing went through the resident runtime
    const c = await cpu.forward([prompts[0].slice(0, 2)], { hooks, logits: 'last' });
    expect(worstDiff(g.logits, c.logits)).toBeLessThan(1e-3);
  });

  it('setLinear re-uploads: the resident copy follows weight edits', async () => {
    const m = gpu.clone();
    const w = m.getLinear(2, 'down');
    m.setLinear(2, 'down', { weight: { ...w.weight, format: 'f32', w: new Float32Array(w.weight.n * w.weight.k) } as never, bias: null });
    const c = cpu.clone();
    c.setLinear(2, 'down', m.getLinear(2, 'down'));
    const a = await m.forward([prompts[0]], { logits: 'last' });
    const b = await c.forward([prompts[0]], { logits: 'last' });
    expect(worstDiff(a.logits, b.logits)).toBeLessThan(1e-3);
    m.dispose();
    c.dispose();
  });
});
