/**
 * AWQ-style 4-bit (Lin et al. 2024, `llm-awq: auto_scale.py`): per-input-channel scales
 * s_j = mean|x_j|^α, normalized by sqrt(max(s)·min(s)), with α searched on the grid {0, 1/20, ..., 19/20}
 * to minimize the MSE of the outputs of all matrices that share this input; W·diag(s) is then rounded to the
 * group-wise asymmetric int4 grid, and 1/s is folded into whatever produces the input, so the model computes
 * Q(W·diag(s)) · (x/s) ≈ W x. What is folded where (awqGroups, llm-awq scale_ln_fcs / scale_fc_fc):
 *   q, k, v  (one search, joint loss)  -> 1/s into input_layernorm's weight (and bias for gpt2's LayerNorm)
 *   gate, up (one search, joint loss)  -> 1/s into post_attention_layernorm's weight (and bias)
 *   down                               -> 1/s into up's output rows and bias (gated MLPs only; gpt2: RTN)
 *   o                                  -> 1/s into v's output rows and bias (no GQA only; else RTN)
 * α = 0 gives s = 1, i.e. plain RTN, so a group's chosen loss never exceeds RTN's on the calibration rows.
 * After the scales, the clipping search (awq-clip.ts, llm-awq auto_clip) picks each group's clamp before rounding.
 */
import type { ModelConfig } from '../../engine/types.ts';
import type { Int4Weight } from '../../models/weight-formats.ts';
import type { LinearRole, ModelNorm, NormWhich } from '../../models/types.ts';
import { dequantize } from '../../models/weight-formats.ts';
import { checkMatrix, CompressionError } from './errors.ts';
import { quantizeInt4Group } from './rtn.ts';

export interface AwqSearchResult {
  scales: Float32Array;
  alpha: number;
  loss: number;
  /** Output MSE of plain RTN (α = 0), for the report. */
  rtnLoss: number;
}

export function awqScaledWeight(w: Float32Array, n: number, k: number, s: Float32Array): Float32Array {
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[r * k + j] = w[r * k + j] * s[j];
  return out;
}

/** AWQ's candidate scales s_j = max(1e-4, meanAbs_j^α), divided by sqrt(max s · min s). */
export function scalesFor(meanAbs: Float32Array, alpha: number): Float32Array {
  const s = new Float32Array(meanAbs.length);
  let mx = 0;
  let mn = Infinity;
  for (let j = 0; j < s.length; j++) {
    s[j] = Math.max(1e-4, Math.pow(meanAbs[j], alpha));
    mx = Math.max(mx, s[j]);
    mn = Math.min(mn, s[j]);
  }
  const norm = Math.sqrt(mx * mn);
  for (let j = 0; j < s.length; j++) s[j] /= norm;
  return s;
}

/**
 * Searches the scales for matrices `ws` (each [n_i, k]) that read the same calibration input x [t, k].
 * `meanAbs[j]` = mean |x_j| over all calibration tokens (x may be a subsample of them).
 */
export function awqSearchScales(
  ws: { w: Float32Array; n: number }[],
  k: number,
  x: Float32Array,
  t: number,
  meanAbs: Float32Array,
  groupSize = 128,
  nGrid = 20,
  name = 'weight',
): AwqSearchResult {
  if (x.length !== t * k) throw new CompressionError(`${name}: AWQ calibration input has ${x.length} values, want ${t}x${k}`);
  if (meanAbs.length !== k) throw new CompressionError(`${name}: AWQ meanAbs has ${meanAbs.length} values, want ${k}`);
  for (const m of ws) checkMatrix(name, m.w, m.n, k);
  let best: AwqSearchResult | null = null;
  let rtnLoss = NaN;
  const dw = new Float64Array(k);
  for (let gi = 0; gi < nGrid; gi++) {
    const alpha = gi / nGrid;
    const s = scalesFor(meanAbs, alpha);
    let loss = 0;
    let count = 0;
    for (const m of ws) {
      const q = dequantize(quantizeInt4Group(awqScaledWeight(m.w, m.n, k, s), m.n, k, groupSize, name));
      // Effective weight Q(W·s)/s against the original: output error on the calibration rows.
      for (let r = 0; r < m.n; r++) {
        for (let j = 0; j < k; j++) dw[j] = q[r * k + j] / s[j] - m.w[r * k + j];
        // Four tokens at a time: four independent chains, each summed over j in order, added to the loss in token
        // order (the bits of one token at a time).
        let tt = 0;
        for (; tt + 4 <= t; tt += 4) {
          const x0 = tt * k;
          const x1 = x0 + k;
          const x2 = x1 + k;
          const x3 = x2 + k;
          let e0 = 0;
          let e1 = 0;
          let e2 = 0;
          let e3 = 0;
          for (let j = 0; j < k; j++) {
            const d = dw[j];
            e0 += d * x[x0 + j];
            e1 += d * x[x1 + j];
            e2 += d * x[x2 + j];
            e3 += d * x[x3 + j];
          }
          loss += e0 * e0;
          loss += e1 * e1;
          loss += e2 * e2;
          loss += e3 * e3;
        }
        for (; tt < t; tt++) {
          let e = 0;
          for (let j = 0; j < k; j++) e += dw[j] * x[tt * k + j];
          loss += e * e;
        }
      }
      count += m.n * t;
    }
    loss /= Math.max(1, count);
    if (gi === 0) rtnLoss = loss;
    if (!best || loss < best.loss) best = { scales: s, alpha, loss, rtnLoss };
  }
  best!.rtnLoss = rtnLoss;
  return best!;
}

/** Int4 of W·diag(s): the stored weight; the input must be divided by s before it. */
export function awqQuantize(w: Float32Array, n: number, k: number, s: Float32Array, groupSize = 128, name = 'weight'): Int4Weight {
  checkMatrix(name, w, n, k);
  if (s.length !== k) throw new CompressionError(`${name}: AWQ scales have ${s.length} values, want ${k}`);
  return quantizeInt4Group(awqScaledWeight(w, n, k, s), n, k, groupSize, name);
}

/**
 * Where a scaling group's 1/s goes: the norm that produces the shared input (its weight, and its bias for
 * LayerNorm: both are per-channel factors of the output), or the output rows (and bias) of the previous Linear.
 */
export type AwqFold = { kind: 'norm'; which: NormWhich } | { kind: 'rows'; role: LinearRole };

/** Matrices that read one input and are scaled together (one search, one s), and where 1/s is folded. */
export interface AwqGroup {
  targets: LinearRole[];
  fold: AwqFold;
}

/**
 * The scaling groups of a block, in the order they are searched and folded. Row folds come first: dividing
 * up's (v's) rows by s_down (s_o) changes the weights that the gate/up (q/k/v) search then quantizes, so every
 * search sees exactly the matrix that is stored. down folds into up only when the MLP is gated (act(gate)·up
 * is linear in up's rows); gpt2's gelu(up) is not, so its down is plain RTN. o folds into v only without GQA
 * (a v row feeds several heads otherwise), as in llm-awq.
 */
export function awqGroups(cfg: Pick<ModelConfig, 'nHeads' | 'nKvHeads'>, roles: LinearRole[]): AwqGroup[] {
  const gated = roles.includes('gate');
  const groups: AwqGroup[] = [];
  if (gated) groups.push({ targets: ['down'], fold: { kind: 'rows', role: 'up' } });
  if (cfg.nHeads === cfg.nKvHeads) groups.push({ targets: ['o'], fold: { kind: 'rows', role: 'v' } });
  groups.push({ targets: ['q', 'k', 'v'], fold: { kind: 'norm', which: 'attn' } });
  groups.push({ targets: gated ? ['gate', 'up'] : ['up'], fold: { kind: 'norm', which: 'mlp' } });
  return groups;
}

/** A block in dense f32, as AWQ edits it before quantizing. */
export interface AwqBlock {
  lin: Map<LinearRole, { w: Float32Array; n: number; k: number; bias: Float32Array | null }>;
  norms: Record<NormWhich, ModelNorm>;
}

/**
 * Scales the targets' input columns by s and folds 1/s into the group's producer, in place: the block computes
 * the same function in exact arithmetic (float rounding aside) and its targets now hold W·diag(s).
 */
export function foldAwqScales(block: AwqBlock, g: AwqGroup, s: Float32Array): void {
  for (const r of g.targets) {
    const m = block.lin.get(r);
    if (!m) throw new CompressionError(`AWQ: block has no '${r}' linear to scale`);
    if (m.k !== s.length) throw new CompressionError(`AWQ: ${r} has ${m.k} inputs, scales have ${s.length}`);
    m.w = awqScaledWeight(m.w, m.n, m.k, s);
  }
  if (g.fold.kind === 'norm') {
    const nw = block.norms[g.fold.which];
    if (nw.w.length !== s.length)
      throw new CompressionError(`AWQ: ${g.fold.which} norm has ${nw.w.length} channels, scales have ${s.length}`);
    block.norms[g.fold.which] = { w: nw.w.map((v, j) => v / s[j]), b: nw.b ? nw.b.map((v, j) => v / s[j]) : null };
    return;
  }
  const p = block.lin.get(g.fold.role);
  if (!p || p.n !== s.length) throw new CompressionError(`AWQ: cannot fold ${s.length} scales into the rows of '${g.fold.role}'`);
  const w = Float32Array.from(p.w);
  for (let j = 0; j < p.n; j++) for (let c = 0; c < p.k; c++) w[j * p.k + c] /= s[j];
  block.lin.set(g.fold.role, { ...p, w, bias: p.bias ? p.bias.map((v, j) => v / s[j]) : null });
}
