/** Small SAELens-format folders written by the tests (cfg.json + sae_weights.safetensors) with seeded weights. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../engine/safetensors-writer.ts';
import { makeRng } from '../../models/sampler.ts';

export interface SaeFixture {
  dir: string;
  cfg: Record<string, unknown>;
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

export function randomSaeTensors(dIn: number, dSae: number, seed: number, jumprelu = false): SaeFixture['tensors'] {
  const rng = makeRng(seed);
  const r = (n: number, s: number) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * s);
  const t: SaeFixture['tensors'] = {
    W_enc: { shape: [dIn, dSae], data: r(dIn * dSae, 0.5) },
    b_enc: { shape: [dSae], data: r(dSae, 0.3) },
    W_dec: { shape: [dSae, dIn], data: r(dSae * dIn, 0.5) },
    b_dec: { shape: [dIn], data: r(dIn, 0.2) },
  };
  if (jumprelu) t.threshold = { shape: [dSae], data: Float32Array.from({ length: dSae }, () => rng() * 0.6) };
  return t;
}

/** Writes a fixture folder; `tensors` may be edited (or entries deleted) to build broken ones. */
export function writeSaeFixture(cfg: Record<string, unknown> | string, tensors: SaeFixture['tensors']): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-sae-'));
  fs.writeFileSync(path.join(dir, 'cfg.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
  writeSafetensors(
    path.join(dir, 'sae_weights.safetensors'),
    Object.entries(tensors).map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: t.data })),
  );
  return dir;
}
