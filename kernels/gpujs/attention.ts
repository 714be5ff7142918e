/**
 * Causal GQA attention with a padding mask, as four kernels: masked scores [Sb, H, T], per-row max and
 * softmax denominator [2, H, T], probabilities [Sb, H, T], and the probability-weighted sum of values
 * [headDim, H, T]. Splitting keeps each cell's loop to one row (a fused kernel would redo the softmax
 * statistics in every cell). The key count is padded up to a multiple of KEY_BUCKET with masked slots,
 * so a decode loop rebuilds its kernels once per bucket instead of on every token; the causal limit
 * comes in as a number argument (it is not a loop bound, so gpu.js' loopMaxIterations never applies).
 * Softmax is the stable form in f32: exp(score - rowMax) / Σ.
 * NaN/Inf: GLSL/WGSL max() and comparisons with NaN are undefined, so a NaN score could be taken for a masked
 * slot and the row come out as zeros. The host checks q and the visible keys first (O(T·d + S·d), small beside
 * the kernels) and returns NaN for the whole call when any is non-finite, so the NaN guard always fires.
 */
import { ShapeError } from '../../engine/errors.ts';
import type { AttentionArgs } from '../types.ts';
import { expectDim, expectLength } from './check.ts';
import { flatten, input, type GpujsRuntime, type KernelThis } from './runtime.ts';

export const KEY_BUCKET = 64;
/** Score of a masked slot; any real score is far above it. */
const MASKED = -3.0e38;

function scoresKernel(this: KernelThis, q: Float32Array[][], k: Float32Array[][], valid: Float32Array, sOff: number): number {
  const j = this.thread.x;
  if (valid[j] < 0.5 || j > sOff + this.thread.z) return -3.0e38;
  const kh = Math.floor(this.thread.y / this.constants.GROUP);
  let dot = 0;
  for (let c = 0; c < this.constants.HD; c++) dot += q[this.thread.z][this.thread.y][c] * k[j][kh][c];
  return dot * this.constants.SCALE;
}

function statsKernel(this: KernelThis, sc: Float32Array[][]): number {
  let m = -3.0e38;
  for (let j = 0; j < this.constants.SB; j++) m = Math.max(m, sc[this.thread.z][this.thread.y][j]);
  if (this.thread.x === 0) return m;
  let l = 0;
  for (let j = 0; j < this.constants.SB; j++) {
    if (sc[this.thread.z][this.thread.y][j] > -1.0e38) l += Math.exp(sc[this.thread.z][this.thread.y][j] - m);
  }
  return l;
}

function probsKernel(this: KernelThis, sc: Float32Array[][], st: Float32Array[][]): number {
  const s = sc[this.thread.z][this.thread.y][this.thread.x];
  if (s < -1.0e38) return 0;
  return Math.exp(s - st[this.thread.z][this.thread.y][0]) / st[this.thread.z][this.thread.y][1];
}

function mixKernel(this: KernelThis, p: Float32Array[][], v: Float32Array[][]): number {
  const kh = Math.floor(this.thread.y / this.constants.GROUP);
  let acc = 0;
  for (let j = 0; j < this.constants.SB; j++) acc += p[this.thread.z][this.thread.y][j] * v[j][kh][this.thread.x];
  return acc;
}

function checkArgs(a: AttentionArgs): void {
  const { t, s, nHeads, nKvHeads, headDim } = a;
  for (const [f, v] of Object.entries({ t, s, nHeads, nKvHeads, headDim })) expectDim('attention', f, v);
  if (nHeads % nKvHeads) throw new ShapeError(`gpujs attention: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (t > s) throw new ShapeError(`gpujs attention: t ${t} exceeds s ${s}`);
  expectLength('attention', 'q', a.q, t * nHeads * headDim);
  expectLength('attention', 'k', a.k, s * nKvHeads * headDim);
  expectLength('attention', 'v', a.v, s * nKvHeads * headDim);
  expectLength('attention', 'keyValid', a.keyValid, s);
  if (a.patternOut) expectLength('attention', 'patternOut', a.patternOut, nHeads * t * s);
}

/** True when q or any visible key holds NaN/Inf (see the header comment). */
function nonFiniteInputs(a: AttentionArgs): boolean {
  for (let i = 0; i < a.q.length; i++) if (a.q[i] - a.q[i] !== 0) return true;
  const w = a.nKvHeads * a.headDim;
  for (let j = 0; j < a.s; j++) {
    if (!a.keyValid[j]) continue;
    for (let c = j * w; c < (j + 1) * w; c++) if (a.k[c] - a.k[c] !== 0) return true;
  }
  return false;
}

export async function gpujsAttention(rt: GpujsRuntime, a: AttentionArgs): Promise<Float32Array> {
  checkArgs(a);
  const { t, s, nHeads: H, nKvHeads: KV, headDim: HD } = a;
  if (nonFiniteInputs(a)) {
    a.patternOut?.fill(NaN);
    return new Float32Array(t * H * HD).fill(NaN);
  }
  const sb = Math.ceil(s / KEY_BUCKET) * KEY_BUCKET;
  const kvLen = sb * KV * HD;
  const k = new Float32Array(kvLen);
  const v = new Float32Array(kvLen);
  k.set(a.k);
  v.set(a.v);
  const valid = new Float32Array(sb);
  for (let j = 0; j < s; j++) valid[j] = a.keyValid[j] ? 1 : 0;
  const constants = { GROUP: H / KV, HD, SB: sb, SCALE: a.scale };
  const key = `${t}:${sb}:${H}:${KV}:${HD}`;
  const build = (fn: unknown, output: number[]) => () => rt.build(fn as never, { output, constants });
  const kScores = rt.cached(`attScores:${key}:${a.scale}`, build(scoresKernel, [sb, H, t]));
  const kStats = rt.cached(`attStats:${key}`, build(statsKernel, [2, H, t]));
  const kProbs = rt.cached(`attProbs:${key}`, build(probsKernel, [sb, H, t]));
  const kMix = rt.cached(`attMix:${key}`, build(mixKernel, [HD, H, t]));

  const rows = [sb, H, t];
  const sc = input(flatten(await kScores(input(a.q, [HD, H, t]), input(k, [HD, KV, sb]), valid, s - t), sb * H * t), rows);
  const st = input(flatten(await kStats(sc), 2 * H * t), [2, H, t]);
  const p = flatten(await kProbs(sc, st), sb * H * t);
  if (a.patternOut) {
    // Kernel rows are [t][h][j]; the pattern is [h][t][j] over the real s keys.
    for (let i = 0; i < t; i++)
      for (let h = 0; h < H; h++) a.patternOut.set(p.subarray((i * H + h) * sb, (i * H + h) * sb + s), (h * t + i) * s);
  }
  return flatten(await kMix(input(p, rows), input(v, [HD, KV, sb])), t * H * HD);
}
