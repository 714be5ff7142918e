/**
 * Opening an HF model folder: config.json (+ quantize_config.json), the safetensors weights (single file or
 * sharded index), the tensor-name map, and the tokenizer when there is one. Every failure names the folder
 * or file and what is wrong with it.
 */
import { existsSync, lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { openWeights } from './checkpoint.ts';
import { readConfig } from './config.ts';
import { ModelFolderError } from './errors.ts';
import { moduleNames } from './names.ts';
import { checkLayerCount, checkTensorShapes } from './validate-shapes.ts';
import { loadTokenizer } from './tokenizer.ts';
import { protectSourceFolder } from './output-dir.ts';
import { folderRoots, resolveFolderFile } from './folder-files.ts';

/** The files of a model folder the loader opens (shards are checked when the index is read). */
const READ_FILES = [
  'config.json',
  'quantize_config.json',
  'model.safetensors',
  'model.safetensors.index.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'chat_template.jinja',
];

/** Exists as a directory entry (a dangling symlink included, so it is reported rather than skipped). */
function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
import type { ModelFolder, WeightSource } from './types.ts';

/** The weight files a folder may hold, in the order they are looked for (never a `*.safetensors` glob). */
export const WEIGHT_FILES = ['model.safetensors.index.json', 'model.safetensors'] as const;

export function openModelFolder(dir: string): ModelFolder {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new ModelFolderError(`${dir}: model folder not found`);
  if (!statSync(abs).isDirectory()) throw new ModelFolderError(`${dir}: not a folder (expected an HF model folder)`);
  // Nothing is ever written into a folder a model is read from (nor into its hub cache's blobs/).
  for (const root of folderRoots(abs)) protectSourceFolder(root);
  // Every file the loader reads may be a symlink (hub cache) but must resolve inside the folder's roots.
  for (const f of READ_FILES) if (lexists(path.join(abs, f))) resolveFolderFile(abs, f);
  const config = readConfig(abs);
  if (!WEIGHT_FILES.some((f) => existsSync(path.join(abs, f)))) {
    const other = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'model.gguf'].find((f) => existsSync(path.join(abs, f)));
    throw new ModelFolderError(
      `${dir}: no weights (expected ${WEIGHT_FILES.join(' or ')}${other ? `; ${other} is not supported, convert it to safetensors` : ''})`,
    );
  }
  const weights: WeightSource = openWeights(abs);
  try {
    // The one validation pass (engine/validate-shapes.ts): the layer count before the per-layer name table is
    // built (1e9 layers fail here, not in a heap abort), then every shape against the tensors present.
    checkLayerCount(config, weights);
    const names = moduleNames(config, weights);
    checkTensorShapes(config, names, weights);
    const tokenizer = loadTokenizer(abs);
    // Ids the tokenizer can produce must index the embedding: caught here, not when a decode fails.
    if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
      throw new ModelFolderError(
        `${path.join(dir, 'tokenizer.json')}: the tokenizer has ${tokenizer.vocabSize} ids, more than config.json vocab_size ${config.vocabSize}`,
      );
    }
    return { dir: abs, config, names, weights, tokenizer, close: () => weights.close() };
  } catch (e) {
    weights.close();
    throw e;
  }
}
