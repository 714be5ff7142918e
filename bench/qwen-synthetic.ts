/**
 * What the direction benches share: the Qwen2.5-0.5B-shaped synthetic model (seeded random weights, the embedded
 * tiny-chat tokenizer and chat template) and the val prompts bench:direction scores on: ../shared/data's when
 * present, else the shipped lists.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { encodeInstructions } from '../analysis/model-runs.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { Model, WeightPrecision } from '../models/types.ts';
import { QWEN_05B_SHAPE } from './shapes.ts';

/** The 0.5B-shaped model at `precision`; inference only unless `retainWeights` (compression reads them). */
export async function qwenSynthetic(
  root: string,
  backend: Backend,
  precision: WeightPrecision,
  retainWeights = false,
): Promise<DecoderModel> {
  const tok = (await loadModel(path.join(root, 'models/tiny-chat'), { backend: await createBackend('reference') })).tokenizer;
  const cfg = { ...syntheticConfig(QWEN_05B_SHAPE), bosTokenId: 1, eosTokenIds: [2], padTokenId: 0 };
  return new DecoderModel({ ...syntheticProvider(cfg, 1), tokenizer: tok }, { backend, precision, retainWeights });
}

/** The first `nVal` harmful and harmless val prompts, chat-encoded for `model`, and where they came from. */
export function valPrompts(root: string, model: Model, nVal: number) {
  const shared = path.resolve(root, '../shared/data');
  const useShared = existsSync(shared);
  const enc = (f: string) =>
    encodeInstructions(
      model,
      loadPrompts(useShared ? path.join(shared, f.replace('.json', '_val.json')) : path.join(root, 'data/prompts', f))
        .slice(0, nVal)
        .map((p) => p.instruction),
    );
  return { harmful: enc('harmful.json'), harmless: enc('harmless.json'), source: useShared ? '../shared/data val splits' : 'data/prompts' };
}
