/**
 * In-memory weight orthogonalization of a loaded model (f32 weights): a clone whose embedding, o_proj and
 * down_proj (and their biases) are projected off r̂. As in the folder export, a tied unembedding is kept as
 * the original embedding so that the edit equals hook ablation.
 */
import { UsageError } from '../../engine/errors.ts';
import type { LinearRole, Model } from '../../models/types.ts';
import { orthogonalizeColumns, orthogonalizeRows } from './orthogonalize.ts';
import { unit } from '../vector-math.ts';

const WRITERS: LinearRole[] = ['o', 'down'];

export function orthogonalizeModel(model: Model, r: ArrayLike<number>): Model {
  const { config } = model;
  if (config.capabilities.learnedPositions)
    throw new UsageError(
      `orthogonalizeModel: ${config.modelType} position embeddings are not reachable through the Model API; use orthogonalizeFolder`,
    );
  if (r.length !== config.dModel) throw new UsageError(`orthogonalizeModel: direction has ${r.length} values, d_model is ${config.dModel}`);
  const rhat = unit(r);
  const m = model.clone();
  for (let l = 0; l < config.nLayers; l++)
    for (const role of WRITERS) {
      const lin = m.getLinear(l, role);
      if (lin.weight.format !== 'f32')
        throw new UsageError(`orthogonalizeModel: layer ${l} ${role} is ${lin.weight.format}; load the model in f32`);
      const w = orthogonalizeColumns(lin.weight.w, rhat);
      m.setLinear(l, role, { weight: { ...lin.weight, w }, bias: lin.bias ? orthogonalizeRows(lin.bias, rhat) : null });
    }
  const e = m.getEmbedding();
  const unembed = m.getUnembedding();
  const keepHead = unembed.format === 'f32' && unembed.w === e ? { ...unembed, w: e.slice() } : null;
  m.setEmbedding(orthogonalizeRows(e, rhat));
  if (keepHead) m.setUnembedding(keepHead);
  else if (config.tiedEmbeddings) m.setUnembedding(unembed);
  return m;
}
