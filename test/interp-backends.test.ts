/**
 * The interpretability views on every backend and precision: wasm-simd and gpu.js cpu against the reference
 * backend (same synthetic weights), tiny-chat quantized at load (int8 / int4) against its f32 self, and the
 * pre-quantized GPTQ / AWQ fixtures from ../shared (skipped with a message when absent). Each view keeps its
 * own invariants on every one: the lens' final entry is the model's output, clean-into-itself patching gives
 * the clean metric, projections equal cached activations · r̂.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attentionPatterns } from '../analysis/attention/patterns.ts';
import { logitLens } from '../analysis/lens/logit-lens.ts';
import { logSoftmax } from '../analysis/logit-math.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { projectDirection } from '../analysis/project/projection.ts';
import { saeAnalysis } from '../analysis/sae/analyze.ts';
import { loadSae } from '../analysis/sae/load.ts';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { createBackend, wasmSimdPresent } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { Model } from '../models/types.ts';
import { randomSaeTensors, writeSaeFixture } from './helpers/sae-fixture.ts';
import { projectRoot, sharedDir } from './helpers/shared.ts';

const cfg = syntheticConfig({ family: 'qwen2', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, vocabSize: 64 });
const build = (backend: Backend, precision: 'f32' | 'int8' | 'int4') =>
  new DecoderModel(syntheticProvider(cfg, 5), { backend, precision, groupSize: 16 });
const ids = [1, 6, 11, 3, 20];
const corrupt = [1, 6, 40, 3, 20];
const metric = { kind: 'logit-diff' as const, answer: 7, wrong: 9 };
const unitLike = (d: number) => Float32Array.from({ length: d }, (_, i) => Math.cos(i * 0.7));
const dir32 = unitLike(32);
const saeDir = writeSaeFixture(
  { d_in: 32, d_sae: 40, architecture: 'topk', k: 6, metadata: { hook_name: 'blocks.1.hook_resid_pre' } },
  randomSaeTensors(32, 40, 2),
);

/** Invariants every view keeps on any model. */
async function checkInvariants(model: Model, prompt: number[], m: { kind: 'logit-diff'; answer: number; wrong: number }, exact: boolean) {
  const V = model.config.vocabSize;
  const L = model.config.nLayers;
  const lens = await logitLens(model, prompt, { topK: 3, targets: [m.answer] });
  const own = await model.forward([prompt]);
  for (const pos of lens.layers[L].positions) {
    const lp = logSoftmax(own.logits, pos.position * V, V);
    for (const t of pos.top) expect(t.prob).toBe(Math.exp(lp[t.id]));
  }
  const self = await activationPatching(model, prompt, prompt, m, { batchSize: 4 });
  // Rows of a batch run the same math as a single row; backends whose kernels tile rows may round differently.
  const tol = exact ? 0 : 1e-4 * (1 + Math.abs(self.clean));
  for (const v of [...self.resid_pre.flat(), ...self.attn_out, ...self.mlp_out, ...self.heads.flat()])
    expect(Math.abs(v - self.clean)).toBeLessThanOrEqual(tol);
  const pr = await projectDirection(model, prompt, unitLike(model.config.dModel), { hooks: ['hook_resid_post'] });
  expect(pr.hooks.hook_resid_post).toHaveLength(L);
  const at = await attentionPatterns(model, prompt, { layers: [L - 1] });
  for (const h of at.layers[0].heads) for (const row of h.pattern) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
  return { lens, self };
}

const BACKENDS: [string, () => Promise<Backend>][] = [
  ...(wasmSimdPresent() ? [['wasm-simd', () => createBackend('wasm-simd')] as [string, () => Promise<Backend>]] : []),
  ['gpujs-cpu', () => createGpujsBackend('cpu')],
  // webgpu runs resident: the views' hooks take the read-back path there (SwiftShader in CI)
  ...((await webgpuAvailable()) ? [['webgpu', () => createGpujsBackend('webgpu')] as [string, () => Promise<Backend>]] : []),
];

describe.each(BACKENDS)('interpretability views on %s match the reference backend', (name, make) => {
  it.each(['f32', 'int8'] as const)('%s', async (precision) => {
    const backend = await make();
    try {
      const a = build(backend, precision);
      const b = build(createReferenceBackend(), precision);
      const la = await logitLens(a, ids, { topK: 3, targets: [7] });
      const lb = await logitLens(b, ids, { topK: 3, targets: [7] });
      la.layers.forEach((l, i) =>
        l.positions.forEach((p, j) => {
          const q = lb.layers[i].positions[j];
          p.top.forEach((t, k) => expect(Math.abs(t.prob - q.top[k].prob)).toBeLessThan(1e-4));
          expect(Math.abs(p.targets[0].prob - q.targets[0].prob)).toBeLessThan(1e-4);
        }),
      );
      const pa = await activationPatching(a, ids, corrupt, metric, { batchSize: 8 });
      const pb = await activationPatching(b, ids, corrupt, metric, { batchSize: 8 });
      const close = (x: number[], y: number[]) => x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-3));
      close(
        [pa.clean, pa.corrupted, ...pa.resid_pre.flat(), ...pa.attn_out, ...pa.mlp_out, ...pa.heads.flat()],
        [pb.clean, pb.corrupted, ...pb.resid_pre.flat(), ...pb.attn_out, ...pb.mlp_out, ...pb.heads.flat()],
      );
      const ja = await projectDirection(a, ids, dir32);
      const jb = await projectDirection(b, ids, dir32);
      for (const h of Object.keys(ja.hooks)) close(ja.hooks[h].flat(), jb.hooks[h].flat());
      const aa = await attentionPatterns(a, ids);
      const ab = await attentionPatterns(b, ids);
      close(
        aa.layers.flatMap((l) => l.heads.flatMap((h) => h.pattern.flat())),
        ab.layers.flatMap((l) => l.heads.flatMap((h) => h.pattern.flat())),
      );
      const sae = loadSae(saeDir);
      const sa = await saeAnalysis(a, sae, ids);
      const sb = await saeAnalysis(b, sae, ids);
      expect(Math.abs(sa.reconstructionError - sb.reconstructionError)).toBeLessThan(1e-4);
      await checkInvariants(a, ids, metric, false);
    } finally {
      backend.dispose();
    }
  });
});

describe('the same views across compressions of tiny-chat (int8 / int4 at load)', async () => {
  const dir = path.join(projectRoot, 'models/tiny-chat');
  const models = new Map<string, Model>();
  for (const p of ['f32', 'int8', 'int4'] as const) models.set(p, await loadModel(dir, { precision: p }));
  afterAll(() => [...models.values()].forEach((m) => m.dispose()));
  const tok = models.get('f32')!.tokenizer!;
  const clean = tok.encodeChat('Explain how to steal a car');
  const corr = tok.encodeChat('Explain how to wash a car');
  const m = { kind: 'logit-diff' as const, answer: 78, wrong: tok.encode('Sure', { addSpecialTokens: false })[0] };

  it.each(['f32', 'int8', 'int4'])("%s keeps every view's invariants", async (p) => {
    const model = models.get(p)!;
    expect(model.precision).toBe(p);
    const { lens } = await checkInvariants(model, clean, m, process.env.INTERP_EXACT === '1');
    // The refusal answer "I" leads at the last position on every compression (p = 0.83 in f32).
    expect(lens.layers.at(-1)!.positions.at(-1)!.top[0].token).toBe('I');
    const patched = await activationPatching(model, clean, corr, m, { sites: ['resid_pre'] });
    expect(patched.clean).toBeGreaterThan(patched.corrupted);
    // Before the last block the difference sits at the last position: restoring it there recovers most of the gap.
    const row = patched.resid_pre[5];
    expect(row.indexOf(Math.max(...row))).toBe(clean.length - 1);
    expect((row[clean.length - 1] - patched.corrupted) / (patched.clean - patched.corrupted)).toBeGreaterThan(0.5);
  });
});

(sharedDir ? describe : describe.skip)('pre-quantized checkpoints from ../shared/models/quantized', () => {
  it.each(['gptq4_g32_actorder', 'awq4_g32'])('%s', async (name) => {
    const model = await loadModel(path.join(sharedDir!, 'models/quantized', name), { backend: createReferenceBackend() });
    try {
      expect(model.precision).not.toBe('f32');
      const V = model.config.vocabSize;
      const p = [3, 50, 7, 120, 9];
      await checkInvariants(model, p, { kind: 'logit-diff', answer: 5 % V, wrong: 17 % V }, true);
      const d = model.config.dModel;
      const r = Float32Array.from({ length: d }, (_, i) => Math.sin(i));
      const pr = await projectDirection(model, p, r, { hooks: ['hook_resid_pre'] });
      const cache = await model.forward([p], { cache: ['blocks.1.hook_resid_pre'] });
      const x = cache.cache.get('blocks.1.hook_resid_pre')!.data;
      const n = Math.hypot(...r);
      for (let pos = 0; pos < p.length; pos++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += x[pos * d + i] * r[i];
        expect(pr.hooks.hook_resid_pre[1][pos]).toBeCloseTo(dot / n, 9);
      }
    } finally {
      model.dispose();
    }
  });
});
if (!sharedDir) console.log('[tests] ../shared absent: the pre-quantized interpretability checks are skipped');
