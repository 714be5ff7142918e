/**
 * Benchmark: the full direction pipeline (filter, difference in means, 3 x |EOI| x L candidate scores,
 * selection) on tiny-chat with Arditi's sizes (128 train / 32 val per class). Uses ../shared/data splits when
 * present, else the shipped data/prompts lists. Prints wall time per stage and the selection as JSON.
 *   npm run bench:direction [-- --model DIR --max-layer-fraction F --n-train N --n-val N --backend NAME]
 *                           [--synthetic qwen0.5b]
 * --synthetic qwen0.5b: a Qwen2.5-0.5B-shaped model (24 layers, d 896, 14/2 heads, d_mlp 4864, vocab 151936,
 * seeded random weights, int8 by default: --precision) with the embedded model's tokenizer and chat template
 * (its ids are < 2048): the selection is meaningless, the timing is that of a 0.5B model.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRootFrom } from './root.ts';
import { runDirection } from '../analysis/direction/direction-pipeline.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { stderrProgress } from '../cli/progress-bar.ts';
import { loadModel } from '../models/load.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { WeightPrecision } from '../models/types.ts';
import { createBackend } from '../kernels/select.ts';
import type { BackendName } from '../kernels/types.ts';
import { describeAdapter } from '../kernels/gpujs/webgpu.ts';
import { QWEN_05B_SHAPE } from './shapes.ts';

const root = projectRootFrom(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const modelDir = arg('model', path.join(root, 'models/tiny-chat'));
const shared = path.resolve(root, '../shared/data');
const useShared = existsSync(shared);
const inputs = useShared
  ? {
      harmful: loadPrompts(path.join(shared, 'harmful_train.json')),
      harmless: loadPrompts(path.join(shared, 'harmless_train.json')),
      harmfulVal: loadPrompts(path.join(shared, 'harmful_val.json')),
      harmlessVal: loadPrompts(path.join(shared, 'harmless_val.json')),
    }
  : {
      harmful: loadPrompts(path.join(root, 'data/prompts/harmful.json')),
      harmless: loadPrompts(path.join(root, 'data/prompts/harmless.json')),
    };

const t0 = performance.now();
const backendArg = arg('backend', '');
const backend = await createBackend((backendArg || undefined) as BackendName | undefined);
const synthetic = arg('synthetic', '');
async function build() {
  if (!synthetic) return loadModel(modelDir, { backend });
  if (synthetic !== 'qwen0.5b') throw new Error(`--synthetic: only qwen0.5b, got ${synthetic}`);
  const tok = (await loadModel(path.join(root, 'models/tiny-chat'), { backend: await createBackend('reference') })).tokenizer;
  const cfg = syntheticConfig(QWEN_05B_SHAPE);
  const cfgWithTok = { ...cfg, bosTokenId: 1, eosTokenIds: [2], padTokenId: 0 };
  const provider = { ...syntheticProvider(cfgWithTok, 1), tokenizer: tok };
  return new DecoderModel(provider, { backend, precision: arg('precision', 'int8') as WeightPrecision, retainWeights: false });
}
const model = await build();
const loadMs = performance.now() - t0;
const res = await runDirection(model, inputs, {
  nTrain: Number(arg('n-train', '128')),
  nVal: Number(arg('n-val', '32')),
  maxLayerFraction: Number(arg('max-layer-fraction', '1.0')),
  progress: stderrProgress(),
});
const totalMs = performance.now() - t0;
const { selected, filtered, survivors } = res.selection;
console.log(
  JSON.stringify(
    {
      model: synthetic || path.basename(modelDir),
      adapter: backend.resident ? describeAdapter(backend.resident.adapter) : 'none (not webgpu)',
      data: useShared ? '../shared/data splits' : 'data/prompts',
      backend: model.backendName,
      cpus: os.cpus().length,
      loadMs: Math.round(loadMs),
      ...Object.fromEntries(Object.entries(res.timings).map(([k, v]) => [k, Math.round(v)])),
      totalSeconds: +(totalMs / 1000).toFixed(1),
      candidates: res.scores.length,
      survivors: survivors.length,
      selected: { pos: selected.pos, layer: selected.layer, bypass: selected.bypass, induce: selected.induce, kl: selected.kl, filtered },
    },
    null,
    2,
  ),
);
// the webgpu device (and wasm-simd's worker pool) would keep the process alive after the JSON: device-check.sh's
// timeout then recorded a finished run as a failure
model.dispose();
backend.dispose();
process.exit(0);
