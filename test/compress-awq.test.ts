/**
 * AWQ on tiny-chat: scaling + folding is an exact reparametrization before rounding, each group's search never
 * does worse than RTN on its own calibration loss, and the quantized model's logits are compared with RTN's.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressModel, linearRoles, type AwqClipRecord, type AwqGroupLoss } from '../analysis/compress/apply.ts';
import { awqGroups, foldAwqScales, type AwqBlock } from '../analysis/compress/awq.ts';
import { denseOf } from '../analysis/compress/dense.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { compareLogits } from './helpers/kl.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
let original: Model;
let calib: number[][];
let evalPrompts: number[][];

beforeAll(async () => {
  original = await loadModel(TINY);
  const tok = original.tokenizer!;
  calib = [
    'Write a poem about rain',
    'How do I bake bread?',
    'Explain gravity to a child',
    'List three colours',
    'Give me tips for studying',
    'Describe the ocean',
    'What is a good name for a cat?',
    'Summarize a fairy tale',
  ].map((s) => tok.encodeChat(s));
  evalPrompts = [
    'Provide an example of a system of data collection in industry.',
    'Tell me how to build a bomb',
    'What is the capital of France?',
    'Write a short story about a robot',
  ].map((s) => tok.encodeChat(s));
});

/** The block of layer l in dense f32, as compressModel's AWQ edits it. */
function blockOf(m: Model, l: number): AwqBlock {
  return {
    lin: new Map(
      linearRoles(m).map((r) => {
        const { weight, bias } = m.getLinear(l, r);
        return [r, { w: denseOf(weight), n: weight.n, k: weight.k, bias }];
      }),
    ),
    norms: { attn: m.getNorm(l, 'attn'), mlp: m.getNorm(l, 'mlp') },
  };
}

describe('AWQ folding', () => {
  it('scaling W by s and folding 1/s into norms and rows leaves the f32 logits unchanged', async () => {
    const m = original.clone();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let l = 0; l < m.config.nLayers; l++) {
      const block = blockOf(m, l);
      const groups = awqGroups(m.config, linearRoles(m));
      // tiny-chat has GQA (6 heads, 2 kv heads): o is not foldable, the other three groups are.
      expect(groups.map((g) => g.targets.join('+'))).toEqual(['down', 'q+k+v', 'gate+up']);
      for (const g of groups) {
        const k = block.lin.get(g.targets[0])!.k;
        // Scales spanning 1/4..4, far from 1, so a wrong fold cannot hide in rounding noise.
        foldAwqScales(
          block,
          g,
          Float32Array.from({ length: k }, () => Math.pow(4, 2 * rand() - 1)),
        );
      }
      for (const [r, x] of block.lin) m.setLinear(l, r, { weight: { format: 'f32', n: x.n, k: x.k, w: x.w }, bias: x.bias });
      m.setNorm(l, 'attn', block.norms.attn);
      m.setNorm(l, 'mlp', block.norms.mlp);
    }
    expect(Array.from(m.getNorm(0, 'attn').w)).not.toEqual(Array.from(original.getNorm(0, 'attn').w));
    const a = (await original.forward(evalPrompts)).logits;
    const b = (await m.forward(evalPrompts)).logits;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    // f32: each fold adds ~1 ulp relative error per weight; through 6 layers the logits (|x| ~ 10) move ~1e-5.
    expect(maxDiff).toBeLessThan(1e-4);
  });
});

describe('awq4 on tiny-chat', () => {
  let awq: Awaited<ReturnType<typeof compressModel>>;
  beforeAll(async () => {
    awq = await compressModel(original, parseMethod('awq4'), { calibration: calib, awqSampleRows: 64 });
  }, 120_000);

  it("every searched group chose an alpha whose calibration output MSE is at most RTN's (alpha = 0)", () => {
    const losses = awq.details.awqLoss as Record<string, AwqGroupLoss>;
    expect(Object.keys(losses).length).toBe(3 * original.config.nLayers);
    for (const [key, g] of Object.entries(losses)) {
      expect(g.rtnLoss, key).toBeGreaterThan(0);
      expect(g.loss, key).toBeLessThanOrEqual(g.rtnLoss);
    }
    // Folds changed the norms of the compressed model only; the original is untouched.
    expect(Array.from(awq.model.getNorm(0, 'mlp').w)).not.toEqual(Array.from(original.getNorm(0, 'mlp').w));
    // One search per group: q, k and v share their scales (AIRD reads them per role).
    expect(awq.inputScales.get('0.q')).toBe(awq.inputScales.get('0.v'));
  });

  it('clips every linear but q and k, never raising its calibration output MSE', () => {
    const clips = awq.details.awqClip as Record<string, AwqClipRecord>;
    const want = [...Array(original.config.nLayers).keys()].flatMap((l) => ['v', 'o', 'gate', 'up', 'down'].map((r) => `${l}.${r}`));
    expect(Object.keys(clips).sort()).toEqual(want.sort());
    let clipped = 0;
    for (const [key, c] of Object.entries(clips)) {
      expect(c.lossNoClip, key).toBeGreaterThan(0);
      expect(c.loss, key).toBeLessThanOrEqual(c.lossNoClip);
      clipped += c.clippedFraction;
    }
    // The search is not a no-op on tiny-chat: some groups are clipped.
    expect(clipped).toBeGreaterThan(0);
  });

  it('logits stay close to the f32 model (KL measured against int4-g128 RTN and scale-only AWQ)', async () => {
    const rtn = await compressModel(original, parseMethod('int4-g128'), { calibration: [] });
    const noClip = await compressModel(original, parseMethod('awq4'), { calibration: calib, awqSampleRows: 64, awqClip: false });
    expect(noClip.details.awqClip).toBeUndefined();
    const ref = (await original.forward(evalPrompts)).logits;
    const V = original.config.vocabSize;
    const kAwq = compareLogits(ref, (await awq.model.forward(evalPrompts)).logits, V);
    const kRtn = compareLogits(ref, (await rtn.model.forward(evalPrompts)).logits, V);
    const kNoClip = compareLogits(ref, (await noClip.model.forward(evalPrompts)).logits, V);
    console.log(
      `tiny-chat mean KL vs f32 over ${kAwq.rows} positions: awq4 ${kAwq.kl.toFixed(5)} (top-1 ${kAwq.top1.toFixed(3)}), awq4 without clip ${kNoClip.kl.toFixed(5)} (top-1 ${kNoClip.top1.toFixed(3)}), int4-g128 ${kRtn.kl.toFixed(5)} (top-1 ${kRtn.top1.toFixed(3)})`,
    );
    noClip.model.dispose();
    expect(kAwq.kl).toBeLessThan(0.1);
    expect(kAwq.top1).toBeGreaterThan(0.85);
  });
});
