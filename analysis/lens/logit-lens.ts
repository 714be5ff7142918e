/**
 * Logit lens: every layer's residual stream decoded through the final norm and the unembedding.
 *
 *   logitLens(model, ids, opts?): Promise<LensResult>
 *     opts.topK (5), opts.targets (token ids whose prob/rank to follow), opts.positions (default all; negative =
 *     from the end), opts.scale ('final' | 'own', see lens-norm.ts), opts.batchSize (layers per forward; default: all
 *     that keep one forward's logits under 64M floats),
 *     opts.signal.
 *
 * Entries follow TransformerLens `cache.accumulated_resid(apply_ln=True)`: layer l in 0..L-1 decodes
 * `blocks.l.hook_resid_pre` (layer 0 = the embeddings), and a final entry (layer L) is the model's own output
 * distribution — taken from the model's own logits, not re-derived, so it equals `model.forward` exactly.
 *
 * How it decodes without touching weights: the residuals of a plain forward are normalised here (lens-norm.ts), then
 * a forward over copies of the prompt replaces `ln_final.hook_normalized` row by row with them, so the model's own
 * unembedding runs them — whatever its backend and its lm_head format (f32, int8, int4).
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { throwIfAborted } from '../batches.ts';
import { logSoftmax } from '../logit-math.ts';
import { tokenLabels, yieldToLoop } from '../token-labels.ts';
import { lensNormalize } from './lens-norm.ts';
import { targetStats, topTokens } from './top-tokens.ts';

const LOGIT_BUDGET = 64 * 1024 * 1024;

export interface LensOptions {
  topK?: number;
  targets?: number[];
  positions?: number[];
  scale?: 'final' | 'own';
  batchSize?: number;
  signal?: AbortSignal;
}

export interface LensToken {
  id: number;
  token: string;
  prob: number;
}

export interface LensPosition {
  position: number;
  top: LensToken[];
  targets: (LensToken & { rank: number })[];
}

export interface LensLayer {
  layer: number;
  /** The hook point decoded, or 'logits' for the model's own output. */
  hook: string;
  positions: LensPosition[];
}

export interface LensResult {
  tokens: string[];
  ids: number[];
  /** Which norm scale decoded the intermediate layers (see lens-norm.ts). */
  scale: 'final' | 'own';
  targets: { id: number; token: string }[];
  layers: LensLayer[];
}

export async function logitLens(model: Model, ids: number[], opts: LensOptions = {}): Promise<LensResult> {
  const cfg = model.config;
  const { nLayers: L, dModel: d, vocabSize: V } = cfg;
  const topK = opts.topK ?? 5;
  if (!(Number.isInteger(topK) && topK >= 1 && topK <= V)) throw new UsageError(`logit lens: topK ${topK} is not in 1..${V}`);
  const targets = opts.targets ?? [];
  for (const t of targets)
    if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new UsageError(`logit lens: target id ${t} is outside 0..${V - 1}`);
  if (ids.length === 0) throw new UsageError('logit lens: empty prompt');
  const T = ids.length;
  const positions = resolvePositions(opts.positions, T);
  const scale = opts.scale ?? 'final';

  const last = `blocks.${L - 1}.hook_resid_post`;
  const plain = await model.forward([ids], { cache: ['blocks.*.hook_resid_pre', last] });
  const final = plain.cache.get(last)!.data;
  const norm = model.getFinalNorm();
  const kind = cfg.norm === 'layer' ? 'layer' : 'rms';
  const normed = (l: number) =>
    lensNormalize({ x: plain.cache.get(`blocks.${l}.hook_resid_pre`)!.data, final, norm, kind, eps: cfg.normEps, d, scale });

  const labels = tokenLabels(model, ids);
  const label = (id: number) => tokenLabels(model, [id])[0];
  const entry = (logits: Float32Array, rowOffset: number, layer: number, hook: string): LensLayer => ({
    layer,
    hook,
    positions: positions.map((p) => {
      const lp = logSoftmax(logits, (rowOffset + p) * V, V);
      return {
        position: p,
        top: topTokens(lp, topK).map((t) => ({ ...t, token: label(t.id) })),
        targets: targetStats(lp, targets).map((t) => ({ ...t, token: label(t.id) })),
      };
    }),
  });

  const layers: LensLayer[] = [];
  // Default: as many layers per forward as keep its logits under ~64M floats (256 MB), all of them on small models.
  const per = Math.max(1, Math.min(opts.batchSize ?? Math.floor(LOGIT_BUDGET / (T * V)), L));
  for (let start = 0; start < L; start += per) {
    throwIfAborted(opts.signal, 'logit lens');
    const group = Array.from({ length: Math.min(per, L - start) }, (_, i) => start + i);
    const rows = group.map(normed);
    const r = await model.forward(
      group.map(() => ids),
      {
        logits: 'all',
        hooks: [
          {
            name: 'ln_final.hook_normalized',
            fn: (act) => {
              const out = new Float32Array(act.length);
              rows.forEach((x, i) => out.set(x, i * T * d));
              return out;
            },
          },
        ],
      },
    );
    group.forEach((l, i) => layers.push(entry(r.logits, i * T, l, `blocks.${l}.hook_resid_pre`)));
    await yieldToLoop();
  }
  layers.push(entry(plain.logits, 0, L, 'logits'));
  return { tokens: labels, ids: [...ids], scale, targets: targets.map((id) => ({ id, token: label(id) })), layers };
}

/** Positions in 0..T-1 from a list that may count from the end (-1 = last); all when undefined. */
export function resolvePositions(ps: number[] | undefined, T: number): number[] {
  if (!ps) return Array.from({ length: T }, (_, i) => i);
  return ps.map((p) => {
    const q = p < 0 ? T + p : p;
    if (!(Number.isInteger(q) && q >= 0 && q < T)) throw new UsageError(`position ${p} is outside the prompt's ${T} tokens`);
    return q;
  });
}
