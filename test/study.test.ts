/**
 * End-to-end study on the embedded tiny-chat model, quick profile (16 train / 8 val prompts per class,
 * 16 new tokens, int8 + wanda-50, AIRD A), then independent recomputations of summary.json's numbers from
 * the files the study wrote (direction files, saved compressed models) and from the model itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectDirection } from '../analysis/project/projection.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { parseMethods } from '../analysis/compress/methods.ts';
import { weightStats } from '../analysis/compress/apply.ts';
import { runStudy, type StudyOutput } from '../analysis/study/run-study.ts';
import { saveCompressedModel } from '../analysis/study/save-model.ts';
import { writeReport } from '../analysis/report/write.ts';
import { readDirection } from '../analysis/direction/direction-io.ts';
import { sampleSplits } from '../analysis/direction/direction-pipeline.ts';
import { evaluateRefusal, klBetween } from '../analysis/eval/evaluate.ts';
import { cosine } from '../analysis/vector-math.ts';
import type { StudySummary } from '../analysis/study/summary.ts';
import { projectRoot } from './helpers/shared.ts';
import { chromiumPath, loadInChromium } from './helpers/chromium.ts';
import { studyPlots } from '../analysis/report/plots.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const PROMPTS = path.join(projectRoot, 'data/prompts');
const Q = { nTrain: 16, nVal: 8, nTest: 8, maxTokens: 16, seed: 42, bootstrap: 200 };

describe('study on tiny-chat (quick profile)', () => {
  let original: Model;
  let out: StudyOutput;
  let dir: string;
  let summary: StudySummary;
  const harmful = loadPrompts(path.join(PROMPTS, 'harmful.json'));
  const harmless = loadPrompts(path.join(PROMPTS, 'harmless.json'));
  const pairs = fs
    .readFileSync(path.join(PROMPTS, 'harmless_responses.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, 8)
    .map((l) => JSON.parse(l));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-study-'));
    original = await loadModel(TINY);
    out = await runStudy(
      original,
      { modelName: 'tiny-chat', harmful, harmless, pairs },
      {
        ...Q,
        methods: parseMethods('int8,wanda-50'),
        maxLayerFraction: 1.0,
        aird: { variant: 'A', layerRule: 'source', keepF32: false },
        onCompressed: (name, m) => void saveCompressedModel(TINY, m, path.join(dir, 'models', name)),
      },
    );
    await writeReport(dir, out);
    summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  }, 600_000);
  afterAll(() => {
    original?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes report.html, summary.json and one direction folder per model', () => {
    expect(fs.statSync(path.join(dir, 'report.html')).size).toBeGreaterThan(10_000);
    for (const n of ['original', 'int8', 'wanda-50'])
      expect(fs.existsSync(path.join(dir, 'directions', n, 'direction.safetensors'))).toBe(true);
    expect(summary.model).toBe('tiny-chat');
    expect(summary.methods.map((m) => m.name)).toEqual(['int8', 'wanda-50']);
    expect(summary.original.selected.layer).toBeGreaterThanOrEqual(0);
  });

  it('projects one harmful prompt onto the original direction for every model (report heatmaps)', async () => {
    const pj = summary.projection!;
    expect(pj.models.map((m) => m.name)).toEqual(['original', 'int8', 'wanda-50']);
    const ids = original.tokenizer!.encodeChat(pj.prompt);
    expect(pj.tokens).toHaveLength(ids.length);
    for (const m of pj.models) {
      expect(m.values).toHaveLength(summary.nLayers);
      for (const row of m.values) expect(row).toHaveLength(ids.length);
    }
    const again = await projectDirection(original, ids, out.directions.get('original')!.r, { hooks: ['hook_resid_pre'] });
    expect(pj.models[0].values).toEqual(again.hooks.hook_resid_pre);
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Refusal-direction projection per token and layer');
    expect(html.match(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="heatmap"/g)).toHaveLength(3);
  });

  it.skipIf(!chromiumPath)('the written report.html loads in headless Chromium without console errors, every plot present', () => {
    const r = loadInChromium(path.join(dir, 'report.html'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.consoleLines).toEqual([]);
    for (const p of studyPlots(summary)) expect(r.dom).toMatch(new RegExp(`id="plot-${p.id}"><figcaption>[^<]*</figcaption><svg`));
  });

  it("int8's per-layer cosine is >= 0.99 at every layer past the first (null at layer 0)", () => {
    const c = summary.methods[0].perLayerCosine;
    expect(c.length).toBe(6);
    expect(c[0]).toBeNull();
    for (const x of c.slice(1)) {
      expect(x!.value).toBeGreaterThanOrEqual(0.99);
      expect(x!.lo).toBeLessThanOrEqual(x!.value + 1e-12);
      expect(x!.hi).toBeGreaterThanOrEqual(x!.value - 1e-12);
    }
  });

  it('every rate carries a Wilson interval, every cosine and KL a bootstrap interval, every model a split-half floor', () => {
    const rates = [summary.original, ...summary.methods, ...summary.methods.map((m) => m.aird!)].flatMap((e) => [
      e.refusalRate.harmful,
      e.refusalRate.harmless,
    ]);
    for (const r of rates) {
      expect(r.n).toBeGreaterThan(0);
      expect(r.lo).toBeLessThanOrEqual(r.rate);
      expect(r.hi).toBeGreaterThanOrEqual(r.rate);
      expect(Number.isInteger(Math.round(r.rate * r.n)) && Math.abs(r.rate * r.n - Math.round(r.rate * r.n)) < 1e-9).toBe(true);
    }
    for (const m of summary.methods) {
      for (const x of [m.selectedCosine, m.kl, m.splitHalfCosine]) {
        expect(Number.isFinite(x.lo) && Number.isFinite(x.hi)).toBe(true);
        expect(x.lo).toBeLessThanOrEqual(x.hi);
      }
      expect(m.kl.lo).toBeLessThanOrEqual(m.kl.value);
      expect(m.kl.hi).toBeGreaterThanOrEqual(m.kl.value);
    }
    const sh = summary.original.splitHalfCosine;
    expect(sh.value).toBeGreaterThan(0);
    expect(sh.value).toBeLessThanOrEqual(1);
  });

  it('splits: the test prompts are disjoint from the selecting (train, val) prompts, by index and by text', () => {
    expect(summary.splits.disjoint).toBe(true);
    for (const side of ['harmful', 'harmless'] as const) {
      const sp = summary.splits[side];
      const sel = new Set([...sp.train.indices, ...sp.val.indices]);
      expect(sp.test.indices.length).toBe(summary.settings.evalPrompts[side]);
      expect(sp.test.indices.every((i) => i >= 0 && !sel.has(i))).toBe(true);
      const list = side === 'harmful' ? harmful : harmless;
      const selText = new Set([...sel].map((i) => list[i].instruction));
      expect(sp.test.indices.some((i) => selText.has(list[i].instruction))).toBe(false);
    }
  });

  it('selected cosines match the saved direction files', () => {
    const o = readDirection(path.join(dir, 'directions', 'original'));
    expect({ pos: o.pos, layer: o.layer }).toEqual({ pos: summary.original.selected.pos, layer: summary.original.selected.layer });
    for (const m of summary.methods) {
      const d = readDirection(path.join(dir, 'directions', m.name));
      expect({ pos: d.pos, layer: d.layer }).toEqual({ pos: m.selected.pos, layer: m.selected.layer });
      // Direction files hold f32 copies of float64 vectors: cosines agree to ~1e-7.
      expect(cosine(o.r, d.r)).toBeCloseTo(m.selectedCosine.value, 5);
    }
  });

  it('saved compressed models reload with the reported sparsity, format and KL', async () => {
    const sets = sampleSplits({ harmful, harmless }, Q.nTrain, Q.nVal, Q.seed, Q.nTest);
    for (const m of summary.methods) {
      const re = await loadModel(path.join(dir, 'models', m.name));
      const fmt = re.getLinear(0, 'q').weight.format;
      expect(fmt).toBe(m.name === 'int8' ? 'int8' : 'f32');
      const st = weightStats(re);
      expect(st.sparsity.global.sparsity).toBe(m.sparsity);
      expect(st.bitsPerWeight).toBeCloseTo(m.bitsPerWeight, 10);
      // Same weights, same prompts, same backend: the KL recomputed from the reloaded model is the same number.
      const kl = await klBetween({ model: original }, { model: re }, sets.harmlessTest);
      expect(kl).toBeCloseTo(m.kl.value, 8);
      re.dispose();
    }
  });

  it("the original's refusal rates match a recomputation on the held-out test prompts", async () => {
    const sets = sampleSplits({ harmful, harmless }, Q.nTrain, Q.nVal, Q.seed, Q.nTest);
    const h = await evaluateRefusal(original, sets.harmfulTest, {
      maxNewTokens: Q.maxTokens,
      refusalTokens: summary.settings.refusalTokens,
    });
    expect(h.refusalRate).toBe(summary.original.refusalRate.harmful.rate);
    expect(h.n).toBe(summary.original.refusalRate.harmful.n);
    expect(h.refusalScore).toBeCloseTo(summary.original.refusalScore.harmful, 8);
    expect(summary.settings.evalPrompts.harmful).toBe(sets.harmfulTest.length);
  });

  it('AIRD (reconstruction) is labelled, densifies one block of the pruned model and reports survival', () => {
    const w = summary.methods.find((m) => m.name === 'wanda-50')!;
    expect(w.aird!.label).toBe('AIRD (reconstruction)');
    expect(w.aird!.layer).toBe(Math.max(0, summary.original.selected.layer - 1));
    expect(w.aird!.sparsity).toBeLessThan(w.sparsity);
    // Densifying o and down of one block out of six lowers global sparsity a little, never to 0.
    expect(w.aird!.sparsity).toBeGreaterThan(0.4);
    expect(w.aird!.survival.o).toBeCloseTo(1, 6);
    const i8 = summary.methods.find((m) => m.name === 'int8')!;
    expect(i8.aird!.survival.down).not.toBeNull();
    for (const m of summary.methods)
      for (const x of [m.aird!.kl.value, m.aird!.perplexity, m.aird!.refusalRate.harmful.rate]) expect(Number.isFinite(x)).toBe(true);
    for (const m of summary.methods) expect(m.aird!.fellBack).toBe(false);
  });
});
