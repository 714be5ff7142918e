/**
 * The refusal-direction method on the embedded tiny-chat model, checked against the independent PyTorch
 * goldens (models/tiny-chat/golden) and against its own definitions (ablation leaves no component along d;
 * orthogonalized weights reproduce hook ablation). Quick profile: few prompts, short generations.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { openWeights } from '../engine/checkpoint.ts';
import { bf16ToF32, f32ToBf16 } from '../engine/dtype.ts';
import { accumulateMeans, candidateDirections } from '../analysis/direction/candidate-directions.ts';
import type { Candidates } from '../analysis/direction/diff-means.ts';
import { ablationDirection, ablationHooks } from '../analysis/interventions.ts';
import { crossEntropy, evaluateRefusal, responseSequences, textSequences } from '../analysis/eval/evaluate.ts';
import { logSoftmax } from '../analysis/logit-math.ts';
import { defaultRefusalTokens, encodeInstructions, lastLogits, refusalScores } from '../analysis/model-runs.ts';
import { refusalScore } from '../analysis/logit-math.ts';
import { orthogonalizeModel } from '../analysis/orthogonalize/orthogonalize-model.ts';
import { orthogonalizeFolder } from '../analysis/orthogonalize/orthogonalize-export.ts';
import { orthogonalizeColumns, orthogonalizeRows } from '../analysis/orthogonalize/orthogonalize.ts';
import { unit } from '../analysis/vector-math.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { runDirection } from '../analysis/direction/direction-pipeline.ts';
import { InterruptedError } from '../engine/errors.ts';
import { loadModel } from '../models/load.ts';
import type { Hook, Model } from '../models/types.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const GOLDEN = path.join(TINY, 'golden');
interface GoldenPrompt {
  file: string;
  set: string;
  instruction: string;
  input_ids: number[];
  greedy_completion: string;
  refusal: boolean;
}
const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'prompts.json'), 'utf8')) as GoldenPrompt[];
const readGolden = (g: GoldenPrompt, name: string) => {
  const f = openSafetensors(path.join(GOLDEN, g.file));
  try {
    return { data: f.readF32(name), shape: f.info(name).shape };
  } finally {
    f.close();
  }
};

let model: Model;
let r: Float64Array; // a refusal-direction candidate from our own prompts (pos -1, layer 5)
let cands: Candidates;
const harmful = loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json')).slice(0, 16);
const harmless = loadPrompts(path.join(projectRoot, 'data/prompts/harmless.json')).slice(0, 16);
const probe = [...harmful.slice(0, 3), ...harmless.slice(0, 3)].map((p) => p.instruction);

beforeAll(async () => {
  model = await loadModel(TINY);
  const tok = model.tokenizer!;
  cands = await candidateDirections(
    model,
    harmful.map((p) => tok.encodeChat(p.instruction)),
    harmless.map((p) => tok.encodeChat(p.instruction)),
    4,
  );
  r = cands.get(3, 5);
});

describe('direction pipeline', () => {
  it('stops with InterruptedError when its signal fires mid-run', async () => {
    const ctl = new AbortController();
    let batches = 0;
    const progress = {
      start() {},
      stop() {},
      increment() {
        if (++batches === 1) ctl.abort();
      },
    };
    await expect(
      runDirection(model, { harmful, harmless }, { nTrain: 8, nVal: 4, batchSize: 4, signal: ctl.signal, progress }),
    ).rejects.toThrow(InterruptedError);
    expect(batches).toBe(1);
  });

  it('does not score candidates at layers the layer filter drops, unless asked (--score-all-layers)', async () => {
    const o = { nTrain: 4, nVal: 2, maxLayerFraction: 0.5, filter: false, include: (pos: number) => pos === -1 };
    const cut = await runDirection(model, { harmful, harmless }, o);
    const all = await runDirection(model, { harmful, harmless }, { ...o, scoreAllLayers: true });
    for (const c of cut.scores) if (c.pos === -1 && c.layer >= 3) expect(Number.isNaN(c.bypass)).toBe(true);
    expect(all.scores.some((c) => c.layer >= 3 && Number.isFinite(c.bypass))).toBe(true);
    // Layers below the cut are scored identically, and both pick the same candidate.
    for (const c of cut.scores.filter((x) => x.layer < 3)) {
      const a = all.scores.find((x) => x.pos === c.pos && x.layer === c.layer)!;
      expect(Number.isNaN(c.bypass) ? Number.isNaN(a.bypass) : c.bypass === a.bypass).toBe(true);
    }
    expect([cut.selection.selected.pos, cut.selection.selected.layer]).toEqual([all.selection.selected.pos, all.selection.selected.layer]);
  });

  it('sums the train residuals during the filter pass: the same candidates, bit for bit, as a separate pass over the kept prompts', async () => {
    // Harmless instructions among the harmful ones, so that the filter drops some (tiny-chat does not refuse them).
    const mixed = [...harmful.slice(0, 6), ...harmless.slice(8, 12)];
    const d = await runDirection(
      model,
      { harmful: mixed, harmless },
      { nTrain: 8, nVal: 2, seed: 3, include: (pos: number, layer: number) => pos === -1 && layer === 2 },
    );
    expect(d.splits.harmfulTrain.length).toBeGreaterThan(0);
    expect(d.splits.harmfulTrain.length).toBeLessThan(d.sampled.harmfulTrain);
    const enc = (xs: { instruction: string }[]) =>
      encodeInstructions(
        model,
        xs.map((x) => x.instruction),
      );
    const separate = await candidateDirections(model, enc(d.splits.harmfulTrain), enc(d.splits.harmlessTrain), d.candidates.nPos);
    expect(d.candidates.r).toEqual(separate.r);
  });
});

describe('tiny-chat specifics', () => {
  it('refusal tokens default to "I" (78) and "As" (1568); four post-instruction tokens', () => {
    expect(defaultRefusalTokens(model.tokenizer!)).toEqual([78, 1568]);
    expect(model.tokenizer!.postInstructionIds()).toEqual([2, 15, 4, 15]);
  });
});

describe('against the PyTorch goldens', () => {
  it('refusal scores of left-padded batches match the goldens (logits within 1e-3 => log-odds within 4e-3)', async () => {
    const ids = golden.map((g) => g.input_ids);
    expect(golden.map((g) => model.tokenizer!.encodeChat(g.instruction))).toEqual(ids);
    const ours = await refusalScores(model, ids, [78, 1568]);
    golden.forEach((g, i) => {
      const { data, shape } = readGolden(g, 'logits');
      const V = shape[1];
      const want = refusalScore(data, [78, 1568], (shape[0] - 1) * V, V);
      // d(log-odds)/d(logit_j) is at most 1 in magnitude for each of the two terms: 2 x 2 x 1e-3.
      expect(Math.abs(ours[i] - want)).toBeLessThan(4e-3);
    });
  });

  it('difference-in-means accumulation matches means of the golden resid_pre (1e-3, the goldens f32 tolerance)', async () => {
    for (const set of ['harmful_val', 'harmless_val']) {
      const gs = golden.filter((g) => g.set === set);
      const acc = await accumulateMeans(
        model,
        gs.map((g) => g.input_ids),
        4,
        { batchSize: 3 },
      );
      const means = acc.means();
      for (let l = 0; l < 6; l++)
        for (let p = 0; p < 4; p++) {
          const want = new Float64Array(192);
          for (const g of gs) {
            const { data, shape } = readGolden(g, `resid_pre.${l}`);
            const row = shape[0] - 4 + p;
            for (let i = 0; i < 192; i++) want[i] += data[row * 192 + i] / gs.length;
          }
          const o = (p * 6 + l) * 192;
          for (let i = 0; i < 192; i++) expect(Math.abs(means[o + i] - want[i])).toBeLessThan(1e-3);
        }
    }
  });

  it('greedy 48-token completions and substring judgements match the goldens', async () => {
    const items = golden.map((g) => ({ instruction: g.instruction, category: g.set }));
    const ev = await evaluateRefusal(model, items, { maxNewTokens: 48, refusalTokens: [78, 1568] });
    expect(ev.completions.map((c) => c.completion)).toEqual(golden.map((g) => g.greedy_completion));
    expect(ev.completions.map((c) => c.refused)).toEqual(golden.map((g) => g.refusal));
    expect(ev.perCategory.harmful_val.refusalRate).toBe(golden.filter((g) => g.set === 'harmful_val' && g.refusal).length / 4);
  });
});

describe('cross-entropy on prompt + response pairs', () => {
  it('batched, left-padded, response-only CE equals per-sequence unpadded sums', async () => {
    const pairs = fs
      .readFileSync(path.join(projectRoot, 'data/prompts/harmless_responses.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 5)
      .map((l) => JSON.parse(l));
    const seqs = responseSequences(model, pairs);
    const got = await crossEntropy(model, seqs, { batchSize: 5 });
    let nll = 0,
      count = 0;
    for (const [i, s] of seqs.entries()) {
      const promptLen = model.tokenizer!.encodeChat(pairs[i].instruction).length;
      const res = await model.forward([s.ids]);
      for (let t = promptLen - 1; t + 1 < s.ids.length; t++) {
        nll -= logSoftmax(res.logits, t * 2048, 2048)[s.ids[t + 1]];
        count++;
      }
    }
    expect(got.tokens).toBe(count);
    // Padded and unpadded forwards agree to f32 rounding (~1e-5 on logits), far inside 1e-4 on a mean CE.
    expect(Math.abs(got.ce - nll / count)).toBeLessThan(1e-4);
    expect(got.perplexity).toBeCloseTo(Math.exp(got.ce), 9);
  });

  it('plain text windows overlap by one token so each prediction counts once', async () => {
    const text = pairsText();
    const n = model.tokenizer!.encode(text).length;
    const seqs = textSequences(model, text, 16);
    expect(seqs.length).toBe(Math.ceil((n - 1) / 15));
    const got = await crossEntropy(model, seqs);
    expect(got.tokens).toBe(n - 1);
    const whole = await crossEntropy(model, textSequences(model, text, n));
    expect(whole.tokens).toBe(n - 1);
    expect(Number.isFinite(got.ce) && Number.isFinite(whole.ce)).toBe(true);
    // A window of one token would never advance (each window starts at the previous window's last token).
    expect(() => textSequences(model, text, 1)).toThrow(/window 1 must be an integer >= 2/);
  });
});

function pairsText(): string {
  return fs
    .readFileSync(path.join(projectRoot, 'data/prompts/harmless_responses.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, 3)
    .map((l) => JSON.parse(l).output)
    .join(' ');
}

describe('interventions on the model', () => {
  it('candidate at layer 0 is zero (identical post-instruction embeddings); later layers are not', () => {
    for (let p = 0; p < 4; p++) {
      expect(Math.hypot(...cands.get(p, 0))).toBe(0);
      for (let l = 1; l < 6; l++) expect(Math.hypot(...cands.get(p, l))).toBeGreaterThan(1);
    }
  });

  const dot = (x: Float32Array, o: number, d: Float32Array) => {
    let s = 0,
      n = 0;
    for (let i = 0; i < d.length; i++) ((s += x[o + i] * d[i]), (n += x[o + i] * x[o + i]));
    return [Math.abs(s), Math.sqrt(n)];
  };

  it('after ablation every residual activation has zero projection on d, generated tokens included', async () => {
    const d = ablationDirection(r);
    const tok = model.tokenizer!;
    const ids = probe.map((s) => tok.encodeChat(s));
    const points = ['hook_resid_pre', 'hook_attn_out', 'hook_mlp_out', 'hook_resid_mid', 'hook_resid_post'].map((p) => `blocks.*.${p}`);
    const res = await model.forward(ids, { hooks: ablationHooks(r), cache: points, logits: 'none' });
    let checked = 0;
    for (const [name, a] of res.cache) {
      const w = a.shape[2];
      for (let o = 0; o < a.data.length; o += w) {
        const [s, n] = dot(a.data, o, d);
        // f32: the residual sum and the projection each round at ~6e-8 relative; 1e-5 x |x| is ample.
        expect(s, name).toBeLessThanOrEqual(1e-5 * n + 1e-6);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    const steps = new Set<number>();
    const reader: Hook = {
      name: 'blocks.*.hook_resid_post',
      fn: (act, ctx) => {
        steps.add(ctx.step);
        for (let o = 0; o < act.length; o += 192) {
          const [s, n] = dot(act, o, d);
          expect(s).toBeLessThanOrEqual(1e-5 * n + 1e-6);
        }
      },
    };
    await model.generate(ids.slice(0, 2), { maxNewTokens: 6, hooks: [...ablationHooks(r), reader], stopTokens: [] });
    expect(Math.max(...steps)).toBeGreaterThanOrEqual(5);
  });

  it('orthogonalized f32 weights reproduce hook ablation (all-position logits within 1e-4)', async () => {
    const tok = model.tokenizer!;
    const ids = probe.map((s) => tok.encodeChat(s));
    const hooked = await model.forward(ids, { hooks: ablationHooks(r) });
    const ortho = orthogonalizeModel(model, r);
    const edited = await ortho.forward(ids);
    let max = 0;
    for (let i = 0; i < hooked.logits.length; i++) max = Math.max(max, Math.abs(hooked.logits[i] - edited.logits[i]));
    // Same math in another order: f32 rounding (eps 6e-8) through 6 layers on logits up to ~26 gives a few
    // 1e-6 (measured 6e-6); 1e-4 leaves margin yet is far below any real difference.
    expect(max).toBeLessThan(1e-4);
    // ... and the edit matters: the unablated model differs by far more.
    const base = await model.forward(ids);
    let diff = 0;
    for (let i = 0; i < base.logits.length; i++) diff = Math.max(diff, Math.abs(base.logits[i] - edited.logits[i]));
    expect(diff).toBeGreaterThan(1);
  });
});

describe('orthogonalized checkpoint export', () => {
  const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  let out: string;
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-ortho-'));
    out = path.join(tmp, 'ortho');
  });

  it('writes a complete untied bf16 folder, leaves the source untouched, and matches hook ablation', async () => {
    const before = sha(path.join(TINY, 'model.safetensors'));
    const rep = orthogonalizeFolder(TINY, r, out, { pos: -1, layer: 5, source: 'test' });
    expect(sha(path.join(TINY, 'model.safetensors'))).toBe(before);
    expect(rep.untied).toBe(true);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'])
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(fs.existsSync(path.join(out, 'golden'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).tie_word_embeddings).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual(['ortho']); // no temp folder left behind

    // Tensor by tensor: names and dtypes as the source; edited ones = bf16(RNE) of the f32 edit; others identical.
    const src = openWeights(TINY);
    const dst = openWeights(out);
    try {
      expect(dst.names().sort()).toEqual([...src.names(), 'lm_head.weight'].sort());
      expect(dst.metadata().glassbox_direction_layer).toBe('5');
      const rh = unit(r);
      for (const n of src.names()) {
        expect(dst.info(n).dtype).toBe(src.info(n).dtype);
        const a = src.readRaw(n) as Uint16Array;
        const b = dst.readRaw(n) as Uint16Array;
        let want: Uint16Array = a;
        if (n === 'model.embed_tokens.weight') want = f32ToBf16(orthogonalizeRows(bf16ToF32(a), rh));
        else if (/o_proj|down_proj/.test(n)) want = f32ToBf16(orthogonalizeColumns(bf16ToF32(a), rh));
        expect(
          Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)),
          n,
        ).toBe(true);
      }
      expect(
        Buffer.from((dst.readRaw('lm_head.weight') as Uint16Array).buffer).equals(
          Buffer.from((src.readRaw('model.embed_tokens.weight') as Uint16Array).buffer),
        ),
      ).toBe(true);
    } finally {
      src.close();
      dst.close();
    }

    const reloaded = await loadModel(out);
    const tok = model.tokenizer!;
    const ids = probe.map((s) => tok.encodeChat(s));
    const hooked = await lastLogits(model, ids, { hooks: ablationHooks(r) });
    const edited = await lastLogits(reloaded, ids);
    let max = 0;
    for (let i = 0; i < hooked.length; i++) max = Math.max(max, Math.abs(hooked[i] - edited[i]));
    // bf16 keeps 8 significant bits: each edited weight moves by up to 2^-9 relative (~0.2%), so logits of
    // magnitude ~26 shift by a few 0.01 (measured 0.022); 0.1 bounds that with margin and stays far below the
    // effect of the edit itself (> 1, checked above; measured 8.1).
    expect(max).toBeLessThan(0.1);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses to overwrite the source or a non-empty folder', () => {
    expect(() => orthogonalizeFolder(TINY, r, TINY)).toThrow(/source/);
    expect(() => orthogonalizeFolder(TINY, r, path.join(projectRoot, 'models'))).toThrow(/not empty/);
    expect(() => orthogonalizeFolder(TINY, [1, 2], path.join(os.tmpdir(), 'gb-x-never'))).toThrow(/d_model/);
  });

  it('does not copy weights in other formats (they would hold the unedited weights); reports each file written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-ortho-src-'));
    try {
      const src = path.join(dir, 'src');
      fs.mkdirSync(src);
      for (const f of fs.readdirSync(TINY))
        if (fs.statSync(path.join(TINY, f)).isFile()) fs.copyFileSync(path.join(TINY, f), path.join(src, f));
      for (const f of ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'stories.llama2c.bin', 'model.gguf'])
        fs.writeFileSync(path.join(src, f), 'weights');
      fs.writeFileSync(path.join(src, 'NOTES.txt'), 'kept');
      const seen: [string, number, number][] = [];
      const rep = orthogonalizeFolder(src, r, path.join(dir, 'out'), { onFile: (f, done, total) => seen.push([f, done, total]) });
      expect(seen).toEqual([['model.safetensors', 1, 1]]);
      expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(rep.files.slice().sort());
      expect(rep.files).toContain('NOTES.txt');
      for (const f of ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'stories.llama2c.bin', 'model.gguf'])
        expect(rep.files).not.toContain(f);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
