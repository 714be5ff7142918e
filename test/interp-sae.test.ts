/**
 * SAEs in SAELens format: config parsing (6.x and pre-6.0 spellings), encode/decode against an independent float64
 * computation for relu / topk / jumprelu and each normalisation, the hook (read and replace) on a model, decoder
 * alignment with a direction, and one-line typed errors naming the file and field/tensor for broken folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decoderAlignment, saeAnalysis } from '../analysis/sae/analyze.ts';
import { saeHook } from '../analysis/sae/hook.ts';
import { loadSae } from '../analysis/sae/load.ts';
import { decode, encode } from '../analysis/sae/sae.ts';
import { ConfigError, SafetensorsError } from '../engine/errors.ts';
import { makeRng } from '../models/sampler.ts';
import { randomSaeTensors, writeSaeFixture } from './helpers/sae-fixture.ts';
import { smallModel } from './helpers/synthetic-model.ts';

const dirs: string[] = [];
const fixture = (cfg: Record<string, unknown> | string, t: ReturnType<typeof randomSaeTensors>) => {
  const d = writeSaeFixture(cfg, t);
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const D_IN = 32;
const D_SAE = 48;
const v6 = (extra: Record<string, unknown> = {}) => ({
  d_in: D_IN,
  d_sae: D_SAE,
  architecture: 'standard',
  apply_b_dec_to_input: true,
  normalize_activations: 'none',
  metadata: { hook_name: 'blocks.1.hook_resid_pre', sae_lens_version: '6.5.0' },
  ...extra,
});

/** SAELens' forward written out in float64 from the fixture's tensors (independent of analysis/sae/sae.ts). */
function reference(cfg: { act: string; k?: number; norm: string; applyB: boolean }, t: ReturnType<typeof randomSaeTensors>, x: number[]) {
  const d = D_IN;
  const n = D_SAE;
  let xs = x.slice();
  let coeff = 1;
  let mu = 0;
  let std = 1;
  if (cfg.norm === 'constant_norm_rescale') {
    coeff = Math.sqrt(d) / Math.hypot(...xs);
    xs = xs.map((v) => v * coeff);
  } else if (cfg.norm === 'layer_norm') {
    mu = xs.reduce((s, v) => s + v, 0) / d;
    std = Math.sqrt(xs.reduce((s, v) => s + (v - mu) ** 2, 0) / (d - 1));
    xs = xs.map((v) => (v - mu) / (std + 1e-5));
  }
  if (cfg.applyB) xs = xs.map((v, i) => v - t.b_dec.data[i]);
  const pre = Array.from({ length: n }, (_, j) => t.b_enc.data[j] + xs.reduce((s, v, i) => s + v * t.W_enc.data[i * n + j], 0));
  let acts = pre.map((v) => Math.max(v, 0));
  if (cfg.act === 'jumprelu') acts = pre.map((v, j) => (v > t.threshold.data[j] ? Math.max(v, 0) : 0));
  if (cfg.act === 'topk') {
    const keep = new Set([...pre.keys()].sort((a, b) => pre[b] - pre[a]).slice(0, cfg.k));
    acts = pre.map((v, j) => (keep.has(j) ? Math.max(v, 0) : 0));
  }
  let out = Array.from({ length: d }, (_, i) => t.b_dec.data[i] + acts.reduce((s, a, j) => s + a * t.W_dec.data[j * d + i], 0));
  if (cfg.norm === 'constant_norm_rescale') out = out.map((v) => v / coeff);
  if (cfg.norm === 'layer_norm') out = out.map((v) => v * std + mu);
  return { acts, out };
}

const CASES = [
  { name: 'relu (6.x)', cfg: v6(), ref: { act: 'relu', norm: 'none', applyB: true } },
  { name: 'topk k=5 (6.x)', cfg: v6({ architecture: 'topk', k: 5 }), ref: { act: 'topk', k: 5, norm: 'none', applyB: true } },
  { name: 'jumprelu (6.x)', cfg: v6({ architecture: 'jumprelu' }), ref: { act: 'jumprelu', norm: 'none', applyB: true }, jump: true },
  {
    name: 'topk, legacy keys, constant_norm_rescale, no b_dec on input',
    cfg: {
      d_in: D_IN,
      d_sae: D_SAE,
      hook_point: 'blocks.1.hook_resid_pre',
      activation_fn_str: 'topk',
      activation_fn_kwargs: { k: 7 },
      normalize_activations: 'constant_norm_rescale',
      apply_b_dec_to_input: false,
    },
    ref: { act: 'topk', k: 7, norm: 'constant_norm_rescale', applyB: false },
  },
  {
    name: 'relu, legacy hook_name, layer_norm',
    cfg: { d_in: D_IN, d_sae: D_SAE, hook_name: 'blocks.1.hook_resid_pre', normalize_activations: 'layer_norm' },
    ref: { act: 'relu', norm: 'layer_norm', applyB: true },
  },
  {
    name: 'legacy boolean normalisation (expected_average_only_in: identity at inference)',
    cfg: { d_in: D_IN, d_sae: D_SAE, hook_name: 'blocks.1.hook_resid_pre', normalize_activations: true },
    ref: { act: 'relu', norm: 'none', applyB: true },
  },
];

describe('SAE encode/decode against a float64 reference', () => {
  it.each(CASES)('$name', (c) => {
    const t = randomSaeTensors(D_IN, D_SAE, 11, c.jump);
    const sae = loadSae(fixture(c.cfg, t));
    expect(sae.cfg.hookName).toBe('blocks.1.hook_resid_pre');
    const rng = makeRng(5);
    const rows = 3;
    const x = Float32Array.from({ length: rows * D_IN }, () => (rng() * 2 - 1) * 2);
    const { acts, state } = encode(sae, x, rows);
    const out = decode(sae, acts, rows, state);
    let active = 0;
    for (let r = 0; r < rows; r++) {
      const ref = reference(c.ref, t, Array.from(x.subarray(r * D_IN, (r + 1) * D_IN)));
      // Encode/decode sum in float64 and round once to f32: relative error ~6e-8.
      ref.acts.forEach((v, j) => expect(Math.abs(acts[r * D_SAE + j] - v)).toBeLessThan(1e-6 * (1 + Math.abs(v))));
      ref.out.forEach((v, i) => expect(Math.abs(out[r * D_IN + i] - v)).toBeLessThan(1e-5 * (1 + Math.abs(v))));
      active += ref.acts.filter((v) => v > 0).length;
    }
    expect(active).toBeGreaterThan(0);
    if (c.ref.act === 'topk')
      for (let r = 0; r < rows; r++)
        expect(acts.subarray(r * D_SAE, (r + 1) * D_SAE).filter((v) => v !== 0).length).toBeLessThanOrEqual(c.ref.k!);
  });
});

describe('SAE on a model', () => {
  const model = smallModel('llama');
  const ids = [2, 9, 14, 33, 8];
  const t = randomSaeTensors(D_IN, D_SAE, 21);
  const sae = loadSae(fixture(v6(), t));

  it('reads feature activations at its hook point; replace mode splices x̂ in', async () => {
    const res = await saeAnalysis(model, sae, ids, { topK: 4, all: true });
    const c = await model.forward([ids], { cache: ['blocks.1.hook_resid_pre'] });
    const x = c.cache.get('blocks.1.hook_resid_pre')!.data;
    const { acts, state } = encode(sae, x, ids.length);
    const recon = decode(sae, acts, ids.length, state);
    expect(res.hook).toBe('blocks.1.hook_resid_pre');
    expect(res.dSae).toBe(D_SAE);
    expect(res.activations).toEqual(Array.from({ length: ids.length }, (_, p) => Array.from(acts.subarray(p * D_SAE, (p + 1) * D_SAE))));
    for (let p = 0; p < ids.length; p++) {
      const row = Array.from(acts.subarray(p * D_SAE, (p + 1) * D_SAE));
      const order = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b);
      expect(res.top[p].map((f) => f.feature)).toEqual(order.slice(0, 4));
    }
    let e = 0;
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      e += (x[i] - recon[i]) ** 2;
      s += x[i] ** 2;
    }
    expect(res.reconstructionError).toBeCloseTo(e / s, 10);
    expect(res.splicedKl).toBeGreaterThan(0);
    const spliced = await model.forward([ids], { hooks: [saeHook(sae, { mode: 'replace' })], cache: ['blocks.1.hook_resid_pre'] });
    expect(spliced.cache.get('blocks.1.hook_resid_pre')!.data).toEqual(recon);
  });

  it('runs as a hook during generation: read mode changes nothing and sees the prompt, then one row per step', async () => {
    const rows: number[] = [];
    const plain = await model.generate([ids], { maxNewTokens: 3, stopTokens: [] });
    const read = await model.generate([ids], {
      maxNewTokens: 3,
      stopTokens: [],
      hooks: [saeHook(sae, { mode: 'read', onActs: (a) => rows.push(a.length / D_SAE) })],
    });
    expect(read.tokens).toEqual(plain.tokens);
    expect(rows).toEqual([ids.length, 1, 1]);
    const spliced = await model.generate([ids], { maxNewTokens: 3, stopTokens: [], hooks: [saeHook(sae, { mode: 'replace' })] });
    const first = await model.forward([ids], { hooks: [saeHook(sae, { mode: 'replace' })], logits: 'last' });
    let best = 0;
    for (let i = 1; i < first.logits.length; i++) if (first.logits[i] > first.logits[best]) best = i;
    expect(spliced.tokens[0][0]).toBe(best);
  });

  it('ranks decoder rows by cosine with a direction (a planted row comes first, cosine 1)', () => {
    const r = Float32Array.from({ length: D_IN }, (_, i) => Math.sin(i + 1));
    const planted = randomSaeTensors(D_IN, D_SAE, 21);
    planted.W_dec.data.set(
      r.map((v) => v * 3),
      17 * D_IN,
    );
    const s2 = loadSae(fixture(v6(), planted));
    const top = decoderAlignment(s2, r, 3);
    expect(top[0].feature).toBe(17);
    expect(top[0].cosine).toBeCloseTo(1, 6);
    const f = 4;
    const row = planted.W_dec.data.subarray(f * D_IN, (f + 1) * D_IN);
    const cos = row.reduce((a, v, i) => a + v * r[i], 0) / (Math.hypot(...row) * Math.hypot(...r));
    expect(decoderAlignment(s2, r, D_SAE).find((x) => x.feature === f)!.cosine).toBeCloseTo(cos, 10);
    expect(() => decoderAlignment(s2, new Float32Array(5), 3)).toThrow(/direction has 5 values, the SAE's d_in is 32/);
  });

  it('refuses a hook point the model lacks and an activation of the wrong width', async () => {
    const far = loadSae(fixture(v6({ metadata: { hook_name: 'blocks.9.hook_resid_pre' } }), t));
    await expect(saeAnalysis(model, far, ids)).rejects.toThrow(/hook_name 'blocks.9.hook_resid_pre' is not a hook point of this model/);
    const wide = loadSae(fixture(v6({ metadata: { hook_name: 'blocks.0.mlp.hook_post' } }), t));
    await expect(saeAnalysis(model, wide, ids)).rejects.toThrow(
      /SAE at blocks.0.mlp.hook_post: the activation is 48 wide, the SAE's d_in is 32/,
    );
  });
});

describe('broken SAE folders: one-line typed errors naming the file and field/tensor', () => {
  const good = () => randomSaeTensors(D_IN, D_SAE, 3, true);
  const cfgErr = (cfg: Record<string, unknown> | string, re: RegExp) => {
    const dir = fixture(cfg, good());
    expect(() => loadSae(dir)).toThrow(ConfigError);
    expect(() => loadSae(dir)).toThrow(re);
    try {
      loadSae(dir);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message).toContain(path.join(dir, 'cfg.json'));
    }
  };
  const tensorErr = (edit: (t: ReturnType<typeof good>) => void, re: RegExp, cfg = v6({ architecture: 'jumprelu' })) => {
    const t = good();
    edit(t);
    const dir = fixture(cfg, t);
    expect(() => loadSae(dir)).toThrow(SafetensorsError);
    expect(() => loadSae(dir)).toThrow(re);
    try {
      loadSae(dir);
    } catch (e) {
      expect((e as Error).message).toContain(path.join(dir, 'sae_weights.safetensors'));
    }
  };

  it('cfg.json fields', () => {
    cfgErr('{ not json', /invalid JSON/);
    cfgErr('[1]', /expected a JSON object/);
    cfgErr({ ...v6(), d_in: undefined }, /field d_in must be a positive integer/);
    cfgErr({ ...v6(), d_sae: '48' }, /field d_sae must be a positive integer, got "48"/);
    cfgErr({ d_in: D_IN, d_sae: D_SAE }, /field hook_name \(or metadata.hook_name\) is missing/);
    cfgErr(v6({ architecture: 'gated' }), /field architecture "gated" is not supported/);
    cfgErr(v6({ architecture: 'topk' }), /field k \(or activation_fn_kwargs.k\) must be an integer in 1..48/);
    cfgErr(v6({ normalize_activations: 'whiten' }), /field normalize_activations "whiten"/);
    cfgErr(v6({ apply_b_dec_to_input: 'yes' }), /field apply_b_dec_to_input/);
    cfgErr(v6({ hook_head_index: 2 }), /field hook_head_index 2/);
  });

  it('tensors', () => {
    tensorErr((t) => {
      t.W_enc.shape = [D_SAE, D_IN];
    }, /tensor W_enc has shape \[48,32\], cfg.json implies \[32,48\]/);
    tensorErr((t) => {
      delete (t as Record<string, unknown>).b_dec;
    }, /missing tensor b_dec/);
    tensorErr((t) => {
      delete (t as Record<string, unknown>).threshold;
    }, /missing tensor threshold/);
    tensorErr((t) => {
      t.W_dec.data[5] = NaN;
    }, /tensor W_dec holds NaN at flat index 5/);
  });

  it('missing files', () => {
    const dir = fixture(v6(), good());
    fs.rmSync(path.join(dir, 'sae_weights.safetensors'));
    expect(() => loadSae(dir)).toThrow(/sae_weights.safetensors: no SAE weights file/);
    fs.rmSync(path.join(dir, 'cfg.json'));
    expect(() => loadSae(dir)).toThrow(/cfg.json: cannot read the SAE config \(ENOENT\)/);
  });

  it('topk larger than d_sae', () => {
    expect(() => loadSae(fixture(v6({ architecture: 'topk', k: 49 }), good()))).toThrow(
      /must be an integer in 1..48 for a topk SAE, got 49/,
    );
  });
});
