/**
 * The calibration prompts' residual stream, carried from block to block as the references carry it (Wanda
 * `prune_wanda`, SparseGPT `llama_sequential`, GPTQ `llama_sequential`, AWQ `run_awq`: `inps` → layer → `outs`, which
 * become the next layer's `inps`). Block l's statistics, and its output once compressed, each cost one run of block l
 * from the kept residual, where a forward from the embedding would rerun blocks 0..l every time: on 24 layers that
 * is 2 forwards' worth of blocks instead of 24 (docs/direction-cost.md §12).
 *
 * The results are the forward's, bit for bit: a forward started at block l from the residual a forward cached there
 * equals the forward from the embedding (models/types.ts StartResidual), batch by batch, and the batches are the ones
 * collectInputStats makes (slices of `batchSize` in prompt order). Memory: one residual [batch, T, d_model] per
 * batch, as the references keep `inps`.
 */
import type { Hook, Model } from '../../models/types.ts';
import { CompressionError } from './errors.ts';

export class CalibrationStream {
  private readonly batches: number[][][] = [];
  /** Per batch, the residual entering block `layer` (null at block 0: the forward starts from the embedding). */
  private readonly residuals: (Float32Array | null)[];
  /** The block whose input `residuals` hold. */
  layer = 0;

  constructor(
    private readonly model: Model,
    prompts: number[][],
    batchSize = 16,
  ) {
    for (let s = 0; s < prompts.length; s += batchSize) this.batches.push(prompts.slice(s, s + batchSize));
    this.residuals = this.batches.map(() => null);
  }

  /** Runs block `layer` as the model now holds it over every batch, with `hooks` on its points. */
  async run(layer: number, hooks: Hook[]): Promise<void> {
    this.expect(layer);
    for (let b = 0; b < this.batches.length; b++) await this.forward(b, hooks, false);
  }

  /** Runs block `layer` as the model now holds it (compressed) and keeps its output as block layer + 1's input. */
  async advance(layer: number): Promise<void> {
    this.expect(layer);
    for (let b = 0; b < this.batches.length; b++) this.residuals[b] = await this.forward(b, [], true);
    this.layer++;
  }

  private async forward(b: number, hooks: Hook[], keep: boolean): Promise<Float32Array | null> {
    const l = this.layer;
    const out = `blocks.${l}.hook_resid_post`;
    const res = this.residuals[b];
    const r = await this.model.forward(this.batches[b], {
      hooks,
      logits: 'none',
      stopAtLayer: l + 1,
      start: res ? { layer: l, residual: res } : undefined,
      cache: keep ? [out] : undefined,
    });
    return keep ? r.cache.get(out)!.data : null;
  }

  private expect(layer: number): void {
    if (layer !== this.layer)
      throw new CompressionError(`calibration: the stream holds block ${this.layer}'s input, asked to run block ${layer}`);
  }
}
