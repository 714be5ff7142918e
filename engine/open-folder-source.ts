/**
 * A ModelFolder over FolderSource: what openModelFolder does for a path, for folders whose files are not on
 * Node's file system (the web app's fetched or picked folders). Same rules: config.json (+ quantize_config.json),
 * model.safetensors.index.json or model.safetensors (never a glob), shard names that stay inside the folder.
 */
import { source } from './checkpoint.ts';
import { parseConfig } from './config.ts';
import { ConfigError, ModelFolderError, SafetensorsError } from './errors.ts';
import { filePath, readJson, safeRelativeName, type FolderSource } from './folder-source.ts';
import { moduleNames } from './names.ts';
import { checkLayerCount, checkTensorShapes } from './validate-shapes.ts';
import { openSource, type SafetensorsFile } from './safetensors-reader.ts';
import { quote } from './safetensors-header.ts';
import { loadTokenizerFrom } from './tokenizer.ts';
import type { ModelConfig, ModelFolder, WeightSource } from './types.ts';

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

export function openFolderSource(files: FolderSource): ModelFolder {
  const config = configFrom(files);
  if (!files.has(INDEX) && !files.has(SINGLE)) throw new ModelFolderError(`${files.label}: no weights (expected ${INDEX} or ${SINGLE})`);
  const weights = weightsFrom(files);
  try {
    // The same validation pass as openModelFolder (engine/validate-shapes.ts).
    checkLayerCount(config, weights);
    const names = moduleNames(config, weights);
    checkTensorShapes(config, names, weights);
    const tokenizer = loadTokenizerFrom(files);
    // As openModelFolder: ids the tokenizer can produce must index the embedding.
    if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
      throw new ModelFolderError(
        `${filePath(files, 'tokenizer.json')}: the tokenizer has ${tokenizer.vocabSize} ids, more than config.json vocab_size ${config.vocabSize}`,
      );
    }
    return { dir: files.label, config, names, weights, tokenizer, close: () => weights.close() };
  } catch (e) {
    weights.close();
    throw e;
  }
}

function configFrom(files: FolderSource): ModelConfig {
  const file = filePath(files, 'config.json');
  if (!files.has('config.json')) throw new ConfigError(`${file}: file not found`);
  const raw = readJson(files, 'config.json', ConfigError);
  if (
    raw &&
    typeof raw === 'object' &&
    !Array.isArray(raw) &&
    (raw as Record<string, unknown>).quantization_config == null &&
    files.has('quantize_config.json')
  ) {
    const q = readJson(files, 'quantize_config.json', ConfigError);
    if (!q || typeof q !== 'object' || Array.isArray(q))
      throw new ConfigError(`${filePath(files, 'quantize_config.json')}: expected a JSON object`);
    // AutoGPTQ's quantize_config.json often omits quant_method: its presence alone means GPTQ.
    return parseConfig({ ...(raw as object), quantization_config: { quant_method: 'gptq', ...(q as object) } }, file);
  }
  return parseConfig(raw, file);
}

function openFile(files: FolderSource, name: string): SafetensorsFile {
  const where = filePath(files, name);
  return openSource(files.open(name), where, where);
}

function weightsFrom(files: FolderSource): WeightSource {
  if (!files.has(INDEX)) {
    let st: SafetensorsFile | null = openFile(files, SINGLE);
    const open = () => (st ??= openFile(files, SINGLE));
    return source(
      files.label,
      () => open().tensors.map((t) => t.name),
      (n) => open().has(n),
      (n) => (open().has(n) ? open() : null),
      open,
      () => {
        st?.close();
        st = null;
      },
    );
  }
  const f = filePath(files, INDEX);
  const wm = (readJson(files, INDEX, SafetensorsError) as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new SafetensorsError(`${f}: weight_map is not an object`);
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') throw new SafetensorsError(`${f}: weight_map entry ${quote(name)} is not a file name`);
    if (!safeRelativeName(shard)) throw new ModelFolderError(`${f}: shard ${quote(shard)} (tensor ${quote(name)}) leaves the folder`);
    if (!files.has(shard)) throw new ModelFolderError(`${f}: shard ${quote(shard)} (tensor ${quote(name)}) does not exist`);
    map.set(name, shard);
  }
  const opened = new Map<string, SafetensorsFile>();
  const shards = [...new Set(map.values())].sort();
  const openShard = (shard: string): SafetensorsFile => {
    const have = opened.get(shard);
    if (have) return have;
    const file = openFile(files, shard);
    for (const [name, s] of map)
      if (s === shard && !file.has(name)) {
        file.close();
        throw new ModelFolderError(`${filePath(files, shard)}: tensor ${quote(name)} listed in ${INDEX} is not in the shard`);
      }
    opened.set(shard, file);
    return file;
  };
  return source(
    files.label,
    () => [...map.keys()],
    (n) => map.has(n),
    (n) => {
      const s = map.get(n);
      return s === undefined ? null : openShard(s);
    },
    () => (shards.length ? openShard(shards[0]) : null),
    () => {
      for (const file of opened.values()) file.close();
      opened.clear();
    },
  );
}
