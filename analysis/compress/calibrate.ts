/**
 * Calibration statistics of the inputs of each Linear, read through the model's hook points
 * (ln1.hook_normalized -> q/k/v, attn.hook_z -> o, ln2.hook_normalized -> gate/up, mlp.hook_post -> down).
 * Left-padding rows are skipped. What is accumulated is chosen per method, so a 1B model's Hessians are only
 * built when GPTQ/SparseGPT ask for them, one layer at a time.
 */
import type { Hook, LinearRole, Model } from '../../models/types.ts';
import { HessianAccumulator } from './linalg.ts';

export type InputPoint = 'attnIn' | 'oIn' | 'mlpIn' | 'downIn';

export const INPUT_OF: Record<LinearRole, InputPoint> = {
  q: 'attnIn',
  k: 'attnIn',
  v: 'attnIn',
  o: 'oIn',
  gate: 'mlpIn',
  up: 'mlpIn',
  down: 'downIn',
};

export const hookOf = (layer: number, p: InputPoint): string =>
  ({
    attnIn: `blocks.${layer}.ln1.hook_normalized`,
    oIn: `blocks.${layer}.attn.hook_z`,
    mlpIn: `blocks.${layer}.ln2.hook_normalized`,
    downIn: `blocks.${layer}.mlp.hook_post`,
  })[p];

export interface StatsWanted {
  /** Σ x_j² and max |x_j| and Σ |x_j| (cheap, always collected). */
  hessian?: boolean;
  /** Keep up to this many token rows (AWQ's loss needs real inputs). */
  sampleRows?: number;
}

export class InputStats {
  nTokens = 0;
  readonly sumSq: Float64Array;
  readonly absSum: Float64Array;
  readonly absMax: Float32Array;
  readonly hessian: HessianAccumulator | null;
  private readonly rows: Float32Array[] = [];
  constructor(
    readonly k: number,
    readonly want: StatsWanted,
  ) {
    this.sumSq = new Float64Array(k);
    this.absSum = new Float64Array(k);
    this.absMax = new Float32Array(k);
    this.hessian = want.hessian ? new HessianAccumulator(k) : null;
  }
  /** x [t, k] of real (non-padding) tokens. */
  add(x: Float32Array, t: number): void {
    const k = this.k;
    for (let i = 0; i < t; i++)
      for (let j = 0; j < k; j++) {
        const v = x[i * k + j];
        const a = Math.abs(v);
        this.sumSq[j] += v * v;
        this.absSum[j] += a;
        if (a > this.absMax[j]) this.absMax[j] = a;
      }
    this.hessian?.add(x, t);
    const keep = Math.min(t, (this.want.sampleRows ?? 0) - this.rows.length);
    for (let i = 0; i < keep; i++) this.rows.push(x.slice(i * k, (i + 1) * k));
    this.nTokens += t;
  }
  meanAbs(): Float32Array {
    return Float32Array.from(this.absSum, (s) => s / Math.max(1, this.nTokens));
  }
  /** Sampled rows as one [t, k] matrix. */
  sample(): { x: Float32Array; t: number } {
    const x = new Float32Array(this.rows.length * this.k);
    this.rows.forEach((r, i) => x.set(r, i * this.k));
    return { x, t: this.rows.length };
  }
}

export type LayerStats = Map<InputPoint, InputStats>;

/**
 * Hooks that accumulate the input statistics of every layer in `layers` (each point's InputStats is created on its
 * first activation). Activations arrive as [batch, pos, width]; rows whose position is -1 (left padding) are dropped.
 */
export function statsHooks(
  layers: number[],
  want: StatsWanted,
  points: InputPoint[] = ['attnIn', 'oIn', 'mlpIn', 'downIn'],
): { hooks: Hook[]; stats: Map<number, LayerStats> } {
  const stats = new Map<number, LayerStats>();
  const hooks: Hook[] = [];
  for (const l of layers) {
    const m: LayerStats = new Map();
    stats.set(l, m);
    for (const p of points)
      hooks.push({
        name: hookOf(l, p),
        fn: (act, ctx) => {
          const width = act.length / (ctx.batch * ctx.pos);
          let s = m.get(p);
          if (!s) m.set(p, (s = new InputStats(width, want)));
          const real: number[] = [];
          for (let r = 0; r < ctx.batch * ctx.pos; r++) if (ctx.positions[r] >= 0) real.push(r);
          const x = new Float32Array(real.length * width);
          real.forEach((r, i) => x.set(act.subarray(r * width, (r + 1) * width), i * width));
          s.add(x, real.length);
        },
      });
  }
  return { hooks, stats };
}

/** One forward of `prompts` through `model` (batches of `batchSize`), accumulating statsHooks' statistics. */
export async function collectInputStats(
  model: Model,
  prompts: number[][],
  layers: number[],
  want: StatsWanted,
  batchSize = 16,
  points: InputPoint[] = ['attnIn', 'oIn', 'mlpIn', 'downIn'],
): Promise<Map<number, LayerStats>> {
  const { hooks, stats } = statsHooks(layers, want, points);
  for (let s = 0; s < prompts.length; s += batchSize) await model.forward(prompts.slice(s, s + batchSize), { hooks, logits: 'none' });
  return stats;
}
