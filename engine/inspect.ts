/**
 * What `glassbox inspect` reports about a model folder: architecture, sizes, dtypes, parameter count
 * (see param-count.ts for the rule), bytes on disk, run-time memory estimates (memory-estimate.ts),
 * tokenizer / chat template presence, quantization, and optionally every tensor.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { estimateMemory, type MemoryEstimate } from './memory-estimate.ts';
import { openModelFolder } from './model-folder.ts';
import { countParameters } from './param-count.ts';
import type { DType, ModelFolder, RopeConfig } from './types.ts';

export interface TensorRow {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: number;
  /** File name relative to the model folder. */
  file: string;
}

export interface InspectReport {
  dir: string;
  family: string;
  modelType: string;
  architectures: string[];
  layers: number;
  dModel: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  dMlp: number;
  vocabSize: number;
  maxPositions: number;
  tiedEmbeddings: boolean;
  norm: 'rms' | 'layer';
  act: string;
  rope: RopeConfig | null;
  slidingWindow: number | null;
  torchDtype: string | null;
  /** Stored tensors per dtype: how many and how many bytes. */
  dtypes: Record<string, { tensors: number; bytes: number }>;
  tensorCount: number;
  /** Logical parameters (packed quantized weights count N*K; metadata and buffers excluded). */
  parameters: number;
  /** Total size of the weight files (safetensors shards + index). */
  bytesOnDisk: number;
  weightFiles: string[];
  /** Estimated run-time weight bytes per precision, plus KV cache bytes per token. */
  memory: MemoryEstimate;
  tokenizer: boolean;
  chatTemplate: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  quantization: {
    method: string;
    bits: number;
    groupSize: number;
    sym: boolean;
    descAct: boolean;
    checkpointFormat?: string;
    notConverted: string[];
  } | null;
  tensors?: TensorRow[];
}

export interface InspectOptions {
  tensors?: boolean;
}

export function inspectFolder(folder: ModelFolder, opts: InspectOptions = {}): InspectReport {
  const { config: c, weights, tokenizer } = folder;
  const dtypes: Record<string, { tensors: number; bytes: number }> = {};
  const files = new Set<string>();
  const rows: TensorRow[] = [];
  const names = weights.names().slice().sort(naturalCompare);
  for (const name of names) {
    const info = weights.info(name);
    const d = (dtypes[info.dtype] ??= { tensors: 0, bytes: 0 });
    d.tensors++;
    d.bytes += info.byteLength;
    files.add(info.file);
    if (opts.tensors) {
      rows.push({ name, dtype: info.dtype, shape: info.shape, bytes: info.byteLength, file: path.relative(folder.dir, info.file) });
    }
  }
  const index = path.join(folder.dir, 'model.safetensors.index.json');
  const weightFiles = [...files].sort();
  let bytesOnDisk = weightFiles.reduce((sum, f) => sum + statSync(f).size, 0);
  try {
    bytesOnDisk += statSync(index).size;
    weightFiles.unshift(index);
  } catch {
    // single-file checkpoint: no index
  }
  const q = c.quantization;
  return {
    dir: folder.dir,
    family: c.family,
    modelType: c.modelType,
    architectures: c.architectures,
    layers: c.nLayers,
    dModel: c.dModel,
    heads: c.nHeads,
    kvHeads: c.nKvHeads,
    headDim: c.headDim,
    dMlp: c.dMlp,
    vocabSize: c.vocabSize,
    maxPositions: c.maxPositions,
    tiedEmbeddings: c.tiedEmbeddings,
    norm: c.norm,
    act: c.act,
    rope: c.rope,
    slidingWindow: c.slidingWindow,
    torchDtype: c.torchDtype,
    dtypes,
    tensorCount: names.length,
    parameters: countParameters(c, weights),
    bytesOnDisk,
    weightFiles: weightFiles.map((f) => path.relative(folder.dir, f)),
    memory: estimateMemory(c),
    tokenizer: tokenizer !== null,
    chatTemplate: tokenizer?.hasChatTemplate ?? false,
    bosTokenId: c.bosTokenId,
    eosTokenIds: c.eosTokenIds,
    quantization: q && {
      method: q.method,
      bits: q.bits,
      groupSize: q.groupSize,
      sym: q.sym,
      descAct: q.descAct,
      ...(q.checkpointFormat ? { checkpointFormat: q.checkpointFormat } : {}),
      notConverted: q.notConverted,
    },
    ...(opts.tensors ? { tensors: rows } : {}),
  };
}

/** Open, inspect and close a model folder. */
export function inspectModel(dir: string, opts: InspectOptions = {}): InspectReport {
  const folder = openModelFolder(dir);
  try {
    return inspectFolder(folder, opts);
  } finally {
    folder.close();
  }
}

/** Orders `layers.10` after `layers.9`. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
