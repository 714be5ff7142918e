/**
 * What `glassbox trace` computes: one forward pass caching the hook points that match some globs, written with the
 * logits and the input ids to a safetensors file. `TraceJson` is the command's --json output.
 */
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { type TensorToWrite, writeSafetensors } from '../../engine/safetensors-writer.ts';
import type { Model } from '../../models/types.ts';

export interface TraceJson {
  out: string;
  promptIds: number[];
  tensors: { name: string; shape: number[] }[];
}

export interface TraceOptions {
  /** Hook names or globs (`*` within a segment, `**` across); the flag text is quoted when none matches. */
  globs: string[];
  hooksFlag: string;
  /** The output .safetensors file. */
  out: string;
  /** The model folder, recorded in the file's metadata. */
  modelDir: string;
}

/**
 * Activations (TransformerLens names, f32 [batch, pos, width], in firing order), `logits` [batch, pos, vocab] and
 * `input_ids` I32 [batch, pos] of one forward pass over `ids`.
 */
export async function traceToFile(model: Model, ids: number[], o: TraceOptions): Promise<TraceJson> {
  const known = model.hookNames();
  const r = await model.forward([ids], { cache: o.globs });
  if (r.cache.size === 0)
    throw new UsageError(`--hooks: '${o.hooksFlag}' matches no hook point (e.g. ${known[1]}, blocks.*.hook_resid_pre)`);
  // Keep firing order in the file, as hookNames() lists them.
  const tensors: TensorToWrite[] = known
    .filter((n) => r.cache.has(n))
    .map((name) => {
      const a = r.cache.get(name)!;
      return { name, dtype: 'F32', shape: a.shape, data: a.data };
    });
  tensors.push({ name: 'logits', dtype: 'F32', shape: r.logitsShape, data: r.logits });
  tensors.push({ name: 'input_ids', dtype: 'I32', shape: [1, ids.length], data: Int32Array.from(ids) });
  writeSafetensors(o.out, tensors, {
    format: 'pt',
    model: path.resolve(o.modelDir),
    precision: model.precision,
    hooks: o.globs.join(','),
    prompt_ids: ids.join(','),
  });
  return { out: path.resolve(o.out), promptIds: ids, tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })) };
}
