/**
 * The resident webgpu model checks as a standalone script (for a GPU machine without node_modules, where
 * vitest cannot run: bench/device-check.sh runs its esbuild bundle). Same assertions as
 * test/webgpu-model.test.ts, on all 8 golden prompts: golden logits (1e-3), golden greedy completions
 * (48 tokens), one submit per forward step, ablation/addition kernels equal to the same hooks on the plain-TS
 * reference backend (1e-3), a JS hook by readback, activation patching (patch kernels, one submit per forward)
 * against the reference backend. Prints one JSON object; exit 1 when a check fails,
 * 2 without an adapter.
 *
 *   node --import tsx bench/webgpu-resident-check.ts [--model DIR]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRootFrom } from './root.ts';
import { ablationHooks, additionHook, projectOut, ablationDirection } from '../analysis/interventions.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { describeAdapter, webgpuAdapter } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import { loadModel } from '../models/load.ts';

const i = process.argv.indexOf('--model');
const dir = i >= 0 ? process.argv[i + 1] : path.join(projectRootFrom(import.meta.url), 'models/tiny-chat');
const info = await webgpuAdapter();
if (!info) {
  process.stdout.write(`${JSON.stringify({ adapter: 'none', pass: false })}\n`);
  process.exit(2);
}
const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as {
  file: string;
  input_ids: number[];
  greedy_completion_ids: number[];
}[];
const prompts = golden.map((g) => g.input_ids);
const gpuBe = await createBackend('webgpu');
// the plain-TS reference (not wasm-simd): the esbuild bundle run on GPU machines cannot locate the .wat kernels
const refBe = await createBackend('reference');
const gpu = await loadModel(dir, { backend: gpuBe });
const cpu = await loadModel(dir, { backend: refBe });
const rt = gpuBe.resident!;
const checks: { name: string; value: number | boolean; limit?: number; pass: boolean; ms: number }[] = [];
const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = a.length === b.length ? 0 : Infinity;
  for (let j = 0; j < Math.min(a.length, b.length); j++) w = Math.max(w, Math.abs(a[j] - b[j]));
  return w;
};
async function check(name: string, f: () => Promise<number | boolean>, limit?: number) {
  const t0 = performance.now();
  let value: number | boolean;
  try {
    value = await f();
  } catch (e) {
    value = false;
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
  }
  const pass = typeof value === 'boolean' ? value : value <= limit!;
  checks.push({ name, value, limit, pass, ms: Math.round(performance.now() - t0) });
  process.stderr.write(`${pass ? 'ok  ' : 'FAIL'} ${name}: ${value}${limit !== undefined ? ` (limit ${limit})` : ''}\n`);
}

await check('resident', async () => (gpu as unknown as { residentActive: boolean }).residentActive);
await check(
  'golden logits, 8 prompts batched (max abs diff)',
  async () => {
    const s0 = rt.submits;
    const r = await gpu.forward(prompts);
    if (rt.submits - s0 !== 1) return Infinity;
    const [B, T, V] = r.logitsShape;
    let w = 0;
    for (let b = 0; b < B; b++) {
      const g = openSafetensors(path.join(dir, 'golden', golden[b].file));
      w = Math.max(w, worst(r.logits.subarray((b * T + r.padding[b]) * V, (b + 1) * T * V), g.readF32('logits')));
      g.close();
    }
    return w;
  },
  1e-3,
);
await check('golden greedy completions, 8 prompts x 48 tokens', async () => {
  const g = await gpu.generate(prompts, { maxNewTokens: 48 });
  return JSON.stringify(g.tokens) === JSON.stringify(golden.map((p) => p.greedy_completion_ids));
});
const act = (await cpu.forward(prompts, { cache: ['blocks.3.hook_resid_pre'], cachePositions: [-1], logits: 'none' })).cache.get(
  'blocks.3.hook_resid_pre',
)!.data;
const d = gpu.config.dModel;
const r = new Float32Array(d);
for (let j = 0; j < act.length; j++) r[j % d] += act[j] / prompts.length;
for (const [name, hooks] of [
  ['ablation kernels vs reference hooks', ablationHooks(r)],
  ['addition kernel vs reference hook', [additionHook(r, 3)]],
] as const)
  await check(
    `${name} (max abs diff of last logits)`,
    async () => {
      const s0 = rt.submits;
      const a = await gpu.forward(prompts, { hooks: [...hooks], logits: 'last' });
      if (rt.submits - s0 !== 1) return Infinity;
      return worst(a.logits, (await cpu.forward(prompts, { hooks: [...hooks], logits: 'last' })).logits);
    },
    1e-3,
  );
await check(
  'JS hook by readback vs reference (max abs diff)',
  async () => {
    const u = ablationDirection(r);
    const hooks = [{ name: 'blocks.*.hook_resid_pre', fn: (a: Float32Array) => projectOut(a, u) }];
    return worst(
      (await gpu.forward(prompts, { hooks, logits: 'last' })).logits,
      (await cpu.forward(prompts, { hooks, logits: 'last' })).logits,
    );
  },
  1e-3,
);
await check(
  'activation patching (resid_pre, heads) vs reference, one submit per forward (max abs diff of the metric)',
  async () => {
    // golden prompt 3 and a corruption of one instruction token; the metric: refusal score (tokens 'I', 'As')
    const clean = golden[3].input_ids;
    const corrupted = clean.map((id, j) => (j === 6 ? 1010 : id));
    const metric = { kind: 'refusal-score' as const, refusalTokens: [78, 1568] };
    const opts = { sites: ['resid_pre', 'heads'] as const, batchSize: 32 };
    const s0 = rt.submits;
    const g = await activationPatching(gpu, clean, corrupted, metric, opts);
    if (rt.submits - s0 !== 2 + g.forwards) return Infinity;
    const c = await activationPatching(cpu, clean, corrupted, metric, opts);
    const flat = (x: typeof g) => [x.clean, x.corrupted, ...x.resid_pre.flat(), ...x.heads.flat()];
    return worst(flat(g), flat(c));
  },
  4e-3,
);
const pass = checks.every((c) => c.pass);
process.stdout.write(`${JSON.stringify({ adapter: describeAdapter(info), serial: rt.serial, pass, checks })}\n`);
gpuBe.dispose();
refBe.dispose();
process.exit(pass ? 0 : 1);
