/** Next-token choice: greedy argmax, or temperature / top-k / top-p sampling from a seeded PRNG. */

import { mulberry32 } from '../engine/prng.ts';

/** The sampler's seeded PRNG (engine/prng.ts). */
export const makeRng = mulberry32;

export interface SamplerOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Samples from softmax(logits / temperature), restricted to the top-k tokens and then to the smallest
 * most-likely prefix whose mass reaches top-p (HF order of warpers). Only the head of the distribution
 * is sorted when that decides the result exactly: tokens more than 30 nats below the best come after every
 * head token, so a nucleus the head already fills never reaches them.
 */
export function sampleToken(logits: Float32Array, opts: SamplerOptions, rng: () => number): number {
  const temp = opts.temperature ?? 0;
  if (!(temp > 0)) return argmax(logits);
  const topK = opts.topK && opts.topK > 0 ? opts.topK : Infinity;
  const topP = opts.topP ?? 1;
  const max = logits[argmax(logits)];
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp((logits[i] - max) / temp);
  if (topK >= logits.length && topP >= 1) return drawFrom(logits, null, max, temp, total, rng);
  // Candidates: the head of the distribution, widened to everything when it cannot decide.
  let idx: number[] = [];
  for (let i = 0; i < logits.length; i++) if ((max - logits[i]) / temp < 30) idx.push(i);
  const headMass = idx.reduce((a, i) => a + Math.exp((logits[i] - max) / temp), 0);
  const kLimits = topK < logits.length;
  if (idx.length < Math.min(topK, logits.length) && (kLimits || headMass < topP * total)) idx = Array.from(logits.keys());
  idx.sort((a, b) => logits[b] - logits[a]);
  if (idx.length > topK) idx = idx.slice(0, topK);
  // Without a top-k cut the nucleus is relative to the whole distribution, tail included.
  let mass = kLimits ? idx.reduce((a, i) => a + Math.exp((logits[i] - max) / temp), 0) : total;
  if (topP < 1) {
    // HF: keep tokens while the mass before them is below top_p (always at least one).
    const limit = topP * mass;
    let acc = 0;
    let keep = 0;
    while (keep < idx.length && acc < limit) acc += Math.exp((logits[idx[keep++]] - max) / temp);
    idx = idx.slice(0, Math.max(1, keep));
    mass = acc;
  }
  return drawFrom(logits, idx, max, temp, mass, rng);
}

function drawFrom(logits: Float32Array, idx: number[] | null, max: number, temp: number, mass: number, rng: () => number): number {
  let r = rng() * mass;
  const n = idx ? idx.length : logits.length;
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j] : j;
    r -= Math.exp((logits[i] - max) / temp);
    if (r < 0) return i;
  }
  return idx ? idx[n - 1] : argmax(logits);
}
