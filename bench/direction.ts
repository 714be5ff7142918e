/**
 * Benchmark: the full direction pipeline (filter, difference in means, 3 x |EOI| x L candidate scores,
 * selection) on tiny-chat with Arditi's sizes (128 train / 32 val per class). Uses ../shared/data splits when
 * present, else the shipped data/prompts lists. Prints wall time per stage and the selection as JSON.
 *   npm run bench:direction [-- --model DIR --max-layer-fraction F --n-train N --n-val N]
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDirection } from '../analysis/direction/direction-pipeline.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { stderrProgress } from '../cli/progress-bar.ts';
import { loadModel } from '../models/load.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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
  : { harmful: loadPrompts(path.join(root, 'data/prompts/harmful.json')), harmless: loadPrompts(path.join(root, 'data/prompts/harmless.json')) };

const t0 = performance.now();
const model = await loadModel(modelDir);
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
      model: path.basename(modelDir),
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
