/**
 * tiny-chat quantized at load (RTN int8 per channel; int4 asymmetric group 128) vs its f32 run, over the 8
 * golden prompts (233 real positions). Measured on the reference backend (2026-11-27):
 *   int8:      mean KL 1.3e-4, top-1 agreement 0.991 (all positions), 1.0 at the last position
 *   int4-g128: mean KL 2.6e-2, top-1 agreement 0.708 (all positions), 1.0 at the last position (KL 5.5e-3)
 * The bounds below keep a margin of ~2-5x on KL and ~0.05-0.1 on agreement (other backends sum differently).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { loadModel } from '../models/load.ts';
import type { LinearRole, Model } from '../models/types.ts';
import { projectRoot } from './helpers/shared.ts';
import { compareLogits } from './helpers/kl.ts';

const dir = path.join(projectRoot, 'models/tiny-chat');
const prompts = (JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as { input_ids: number[] }[]).map(
  (p) => p.input_ids,
);
const backend = createReferenceBackend();
const ROLES: LinearRole[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** Logits at real (unpadded) positions, and at each prompt's last position. */
async function logitsOf(m: Model): Promise<{ all: Float32Array; last: Float32Array }> {
  const r = await m.forward(prompts);
  const [B, T, V] = r.logitsShape;
  const all: Float32Array[] = [];
  const last = new Float32Array(B * V);
  for (let b = 0; b < B; b++) {
    all.push(r.logits.slice((b * T + r.padding[b]) * V, (b + 1) * T * V));
    last.set(r.logits.subarray(((b + 1) * T - 1) * V, (b + 1) * T * V), b * V);
  }
  const flat = new Float32Array(all.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of all) {
    flat.set(x, o);
    o += x.length;
  }
  return { all: flat, last };
}

describe('tiny-chat int8 / int4 quantized at load', async () => {
  const base = await logitsOf(await loadModel(dir, { backend }));
  const V = 2048;

  it.each([
    ['int8', { kl: 5e-4, top1: 0.95, lastKl: 2e-4, lastTop1: 1 }],
    ['int4', { kl: 0.06, top1: 0.6, lastKl: 0.02, lastTop1: 0.875 }],
  ] as const)('%s: runs on its own kernels, KL and top-1 agreement within the measured bounds', async (precision, bound) => {
    const m = await loadModel(dir, { backend, precision });
    expect(m.precision).toBe(precision);
    for (let l = 0; l < m.config.nLayers; l++) for (const r of ROLES) expect(m.getLinear(l, r).weight.format).toBe(precision);
    expect(m.getUnembedding().format).toBe(precision);
    expect(m.getEmbedding()).toBeInstanceOf(Float32Array);
    if (precision === 'int4') {
      const w = m.getLinear(0, 'q').weight;
      expect(w.format === 'int4' && w.groupSize === 128 && w.zeros !== null).toBe(true);
    }
    const q = await logitsOf(m);
    const all = compareLogits(base.all, q.all, V);
    const last = compareLogits(base.last, q.last, V);
    expect(all.rows).toBe(prompts.reduce((a, p) => a + p.length, 0));
    expect(all.kl).toBeLessThan(bound.kl);
    expect(all.top1).toBeGreaterThanOrEqual(bound.top1);
    expect(last.kl).toBeLessThan(bound.lastKl);
    expect(last.top1).toBeGreaterThanOrEqual(bound.lastTop1);
  });
});
