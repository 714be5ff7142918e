/**
 * End-to-end check of the webgpu backend on a machine with a GPU: tiny-chat's golden activations/logits and
 * greedy completions on webgpu, then decode speed of tiny-chat and of a synthetic Qwen2.5-0.5B-shaped model.
 * Prints one JSON object. Needs a WebGPU adapter (exit 2 without one).
 *
 *   node --import tsx bench/webgpu-model.ts [--backend webgpu] [--model DIR] [--skip-05b]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { createBackend } from '../kernels/select.ts';
import type { BackendName } from '../kernels/types.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const backendName = arg('backend', 'webgpu') as BackendName;
const out: Record<string, unknown> = { backend: backendName };
const t0 = performance.now();
const backend = await createBackend(backendName).catch((e: Error) => {
  process.stdout.write(`${JSON.stringify({ backend: backendName, error: e.message })}\n`);
  process.exit(2);
});

// tiny-chat golden: logits of every position for the 8 prompts, and greedy completions (48 tokens).
const dir = path.resolve(arg('model', path.join(root, 'models/tiny-chat')));
const model = await loadModel(dir, { backend });
const prompts = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as Array<{
  file: string;
  input_ids: number[];
  greedy_completion_ids: number[];
}>;
let maxLogit = 0;
for (const p of prompts) {
  const g = openSafetensors(path.join(dir, 'golden', p.file));
  const want = g.readF32('logits');
  const r = await model.forward([p.input_ids]);
  for (let i = 0; i < want.length; i++) maxLogit = Math.max(maxLogit, Math.abs(r.logits[i] - want[i]));
  g.close();
}
const gen = await model.generate(
  prompts.map((p) => p.input_ids),
  { maxNewTokens: 48 },
);
const same = prompts.filter((p, i) => JSON.stringify(p.greedy_completion_ids) === JSON.stringify(gen.tokens[i])).length;
out.tinyChat = { goldenMaxAbsLogit: maxLogit, greedyMatches: `${same}/${prompts.length}`, batchTokensPerSecond: gen.tokensPerSecond };
const one = await model.generate([prompts[0].input_ids], { maxNewTokens: 32, stopTokens: [] });
(out.tinyChat as Record<string, unknown>).decodeTokensPerSecond = one.tokensPerSecond;
model.dispose();
process.stderr.write(`${JSON.stringify(out)}\n`);

if (!process.argv.includes('--skip-05b')) {
  const cfg = syntheticConfig({ family: 'qwen2', nLayers: 24, dModel: 896, nHeads: 14, nKvHeads: 2, dMlp: 4864, vocabSize: 151936 });
  for (const precision of ['int8', 'f32'] as const) {
    const b = await createBackend(backendName);
    const tl = performance.now();
    const m = new DecoderModel(syntheticProvider(cfg, 1), { backend: b, precision, retainWeights: false, ownsBackend: true });
    const loadS = (performance.now() - tl) / 1000;
    const ids = Array.from({ length: 32 }, (_, i) => 10 + i);
    const r = await m.generate([ids], { maxNewTokens: 16, stopTokens: [] });
    out[`qwen05bShaped_${precision}`] = { loadS, prefillMs: r.prefillMs, decodeTokensPerSecond: r.tokensPerSecond };
    process.stderr.write(`${JSON.stringify(out)}\n`);
    m.dispose();
  }
}
out.totalS = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
process.exit(0);
