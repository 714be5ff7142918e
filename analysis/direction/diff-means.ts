/**
 * Difference-in-means accumulation: float64 running sums of resid_pre activations at the post-instruction
 * positions, per (position, layer). Float64 because r = mu - nu is a small difference of large means.
 */
import { GlassboxError } from '../../engine/errors.ts';

export class MeanAccumulator {
  readonly sums: Float64Array;
  count = 0;
  constructor(
    readonly nPos: number,
    readonly nLayers: number,
    readonly dModel: number,
  ) {
    this.sums = new Float64Array(nPos * nLayers * dModel);
  }

  /** Adds one batch of layer `layer`'s cached activations [batch, nPos, dModel]. Call once per layer per batch. */
  addLayer(layer: number, act: Float32Array, batch: number): void {
    const { nPos, dModel, nLayers } = this;
    if (act.length !== batch * nPos * dModel)
      throw new GlassboxError(`diff-in-means: layer ${layer} activation has ${act.length} values, want ${batch}x${nPos}x${dModel}`);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < nPos; p++) {
        const src = (b * nPos + p) * dModel;
        const dst = (p * nLayers + layer) * dModel;
        for (let i = 0; i < dModel; i++) this.sums[dst + i] += act[src + i];
      }
  }

  /** Record that `batch` more prompts were added (to every layer). */
  addCount(batch: number): void {
    this.count += batch;
  }

  means(): Float64Array {
    if (this.count === 0) throw new GlassboxError('diff-in-means: no prompts accumulated');
    return this.sums.map((s) => s / this.count);
  }
}

/** Candidate directions r[pos, layer] = mean(harmful) - mean(harmless), layout [nPos, nLayers, dModel]. */
export class Candidates {
  constructor(
    readonly r: Float64Array,
    readonly nPos: number,
    readonly nLayers: number,
    readonly dModel: number,
  ) {}

  static fromMeans(harmful: MeanAccumulator, harmless: MeanAccumulator): Candidates {
    const mu = harmful.means();
    const nu = harmless.means();
    const r = new Float64Array(mu.length);
    for (let i = 0; i < r.length; i++) r[i] = mu[i] - nu[i];
    return new Candidates(r, harmful.nPos, harmful.nLayers, harmful.dModel);
  }

  /** Position index p in 0..nPos-1 corresponds to relative position p - nPos (-nPos .. -1). */
  get(p: number, layer: number): Float64Array {
    const o = (p * this.nLayers + layer) * this.dModel;
    return this.r.slice(o, o + this.dModel);
  }
}
