/**
 * The HTML report: rendered from a summary, every plot present as vega-generated SVG, tables showing the
 * summary's numbers, and loading in headless Chromium without console errors (skipped where Chromium is absent).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReportHtml, textSummary } from '../analysis/report/html.ts';
import { studyPlots } from '../analysis/report/plots.ts';
import type { MethodResult, StudySummary } from '../analysis/study/summary.ts';
import { chromiumPath, loadInChromium } from './helpers/chromium.ts';
import { wilson } from '../analysis/stats/intervals.ts';

const rate = (k: number, n: number) => wilson(k, n);
const ivl = (value: number, d = 0.001) => ({ value, lo: value - d, hi: value + d });

function method(name: string, i: number, aird: boolean): MethodResult {
  const ev = { refusalRate: { harmful: rate(18 - 2 * i, 20), harmless: rate(i, 20) }, refusalScore: { harmful: 3 - i, harmless: -4 + i }, kl: ivl(0.01 * (i + 1), 0.002), perplexity: 20 + i };
  return {
    name, bits: i < 2 ? [8, 4][i] : undefined, bitsPerWeight: [8.2, 4.5, 32][i], sparsity: [0.01, 0.05, 0.5][i], sparsityPerLayer: [0.5, 0.5, 0.5, 0.5],
    selected: { pos: -1 - (i % 2), layer: 2 + (i % 2), filtered: i !== 1, bypass: -2, induce: 3, kl: 0.05 }, perLayerCosine: [null, ivl(0.999 - 0.01 * i), ivl(0.998 - 0.02 * i), ivl(0.997 - 0.03 * i)],
    selectedCosine: ivl(0.9987 - 0.02 * i), splitHalfCosine: ivl(0.995, 0.003), compressSeconds: 1, details: {}, ...ev,
    aird: aird ? { label: 'AIRD (reconstruction)', variant: 'A', layer: 1, layerRule: 'source', matrices: ['o', 'down'], sparsity: [0.01, 0.05, 0.47][i], bitsPerWeight: [8.2, 4.5, 32][i],
      survival: { o: 0.5, down: null }, keptF32: false, fellBack: i === 1, ...ev, refusalRate: { harmful: rate(19, 20), harmless: rate(2, 20) }, kl: ivl(0.0123),
      search: i === 1 ? [{ layer: 0, harmfulScore: 1, harmlessScore: 0.5, kl: 0.2, passed: false }] : undefined } : undefined,
  };
}

export function fixtureSummary(): StudySummary {
  const methods = [method('int8', 0, true), method('int4-g128', 1, true), method('wanda-50', 2, false)];
  return {
    model: 'fixture<&>', nLayers: 4, dModel: 8,
    settings: { methods: methods.map((m) => m.name), nTrain: 16, nVal: 8, nTest: 20, maxTokens: 16, seed: 1, maxLayerFraction: 1, nCalibration: 32, calibration: 'generic', bootstrap: 200,
      evalPrompts: { harmful: 8, harmless: 8, perplexityPairs: 8 }, refusalTokens: [78], backend: 'reference', aird: { variant: 'A', layerRule: 'source', keepF32: false } },
    original: { refusalRate: { harmful: rate(20, 20), harmless: rate(0, 20) }, refusalScore: { harmful: 4, harmless: -5 }, kl: ivl(0, 0), perplexity: 19.5, bitsPerWeight: 32, sparsity: 0,
      selected: { pos: -1, layer: 2, filtered: true, bypass: -2, induce: 3, kl: 0.05 }, splitHalfCosine: ivl(0.996, 0.002) },
    methods,
    splits: {
      harmful: { train: { file: 'h', indices: [0, 1] }, val: { file: 'h', indices: [2] }, test: { file: 'h', indices: [3] } },
      harmless: { train: { file: 's', indices: [0, 1] }, val: { file: 's', indices: [2] }, test: { file: 's', indices: [3] } },
      disjoint: true,
    },
    orderings: { bySelectedCosineDesc: ['int8', 'int4-g128', 'wanda-50'], byHarmfulRefusalDesc: ['int8', 'int4-g128', 'wanda-50'], byKlAsc: ['int8', 'int4-g128', 'wanda-50'] },
    warnings: ['a <warning>'], seconds: 12.3,
  };
}

describe('report.html', () => {
  const s = fixtureSummary();
  let html = '';

  it('inlines one vega SVG per plot and shows the summary numbers, escaped', async () => {
    html = await renderReportHtml(s);
    const plots = studyPlots(s);
    expect(plots.length).toBe(7);
    for (const p of plots) {
      const m = new RegExp(`<figure class="plot" id="plot-${p.id}"><figcaption>[^<]*</figcaption><svg[^>]*class="marks"`).exec(html);
      expect(m, p.id).not.toBeNull();
    }
    expect(html).not.toMatch(/<script|https?:\/\/(?!vega\.github\.io|www\.w3\.org)/);
    expect(html).toContain('fixture&lt;&amp;&gt;');
    expect(html).toContain('a &lt;warning&gt;');
    expect(html).toContain('0.9987 [0.9977, 0.9997]'); // int8's selected cosine with its interval
    expect(html).toContain('90.0% [69.9, 97.2] n=20'); // int8's harmful refusal rate, Wilson 18/20
    expect(html).toContain('fell back');
    expect(html).toContain('0.0123'); // AIRD KL
    expect(html).toContain('AIRD (reconstruction)');
    expect(html.match(/<td>null<\/td>/g)?.length).toBe(3); // layer 0 of every method
    expect(textSummary(s)).toContain('int4-g128');
    // The per-layer cosine plot draws one point per non-null cosine (9), nothing for the nulls.
    const cosSvg = html.slice(html.indexOf('id="plot-per-layer-cosine"'), html.indexOf('id="plot-refusal-rates"'));
    expect(cosSvg.match(/<path[^>]*role-graphics-symbol|aria-roledescription="point"/g)?.length ?? 0).toBeGreaterThanOrEqual(9);
  });

  it.skipIf(!chromiumPath)('loads in headless Chromium without console errors, every plot in the DOM', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-report-'));
    try {
      const file = path.join(dir, 'report.html');
      fs.writeFileSync(file, html);
      const r = loadInChromium(file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.consoleLines).toEqual([]);
      for (const p of studyPlots(s)) expect(r.dom).toMatch(new RegExp(`id="plot-${p.id}"><figcaption>[^<]*</figcaption><svg`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!chromiumPath)('the console check catches a page that logs an error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-report-'));
    try {
      const file = path.join(dir, 'bad.html');
      fs.writeFileSync(file, '<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>');
      expect(loadInChromium(file).consoleLines.join('\n')).toContain('boom');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
