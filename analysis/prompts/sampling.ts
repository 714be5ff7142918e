/** Seeded sampling of prompt splits, reproducible across runs and platforms. */

import { mulberry32 } from '../../engine/prng.ts';

/** The seeded PRNG prompt sampling uses (engine/prng.ts). */
export const rng = mulberry32;

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const r = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The first n of a seeded shuffle (all items, shuffled, when n >= length). */
export function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  return shuffled(items, seed).slice(0, Math.max(0, n));
}

/**
 * Disjoint train / val samples from one list. When the list holds fewer than nTrain + nVal items it is
 * split 80/20 (train gets the rounded-down 80%) so both splits stay non-empty for lists of >= 2.
 */
export function trainValSplit<T>(items: readonly T[], nTrain: number, nVal: number, seed: number): { train: T[]; val: T[] } {
  const s = shuffled(items, seed);
  if (s.length >= nTrain + nVal) return { train: s.slice(0, nTrain), val: s.slice(nTrain, nTrain + nVal) };
  let t = Math.floor(s.length * 0.8);
  if (s.length >= 2) t = Math.min(Math.max(t, 1), s.length - 1);
  return { train: s.slice(0, t), val: s.slice(t) };
}

/**
 * Disjoint train / val / test samples from one list (held-out evaluation: val selects, test reports). When the
 * list holds fewer than nTrain + nVal + nTest items it is split 60/20/20 (val and test rounded down, each kept
 * non-empty for lists of >= 3), so no prompt is ever in two splits.
 */
export function threeWaySplit<T>(
  items: readonly T[],
  nTrain: number,
  nVal: number,
  nTest: number,
  seed: number,
): { train: T[]; val: T[]; test: T[] } {
  const s = shuffled(items, seed);
  if (s.length >= nTrain + nVal + nTest)
    return { train: s.slice(0, nTrain), val: s.slice(nTrain, nTrain + nVal), test: s.slice(nTrain + nVal, nTrain + nVal + nTest) };
  let v = Math.floor(s.length * 0.2);
  let t = Math.floor(s.length * 0.2);
  if (s.length >= 3) {
    v = Math.max(v, 1);
    t = Math.max(t, 1);
  }
  const tr = s.length - v - t;
  return { train: s.slice(0, tr), val: s.slice(tr, tr + v), test: s.slice(tr + v) };
}
