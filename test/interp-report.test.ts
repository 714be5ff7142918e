/**
 * The interpretability HTML views: one cell per value with its tooltip, escaped token text, the colour scales,
 * and a page that loads in headless Chromium without console errors (skipped where Chromium is absent).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attentionPatterns } from '../analysis/attention/patterns.ts';
import { logitLens } from '../analysis/lens/logit-lens.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { projectDirection } from '../analysis/project/projection.ts';
import { colorOf, displayToken, heatmapSvg } from '../analysis/report/heatmap.ts';
import {
  attentionView,
  interpPage,
  lensView,
  patchView,
  projectionComparisonView,
  projectionView,
} from '../analysis/report/interp-views.ts';
import { writeHtml } from '../analysis/report/write-page.ts';
import { chromiumPath, loadInChromium } from './helpers/chromium.ts';
import { smallModel } from './helpers/synthetic-model.ts';

const cells = (svg: string) => (svg.match(/<rect x="[\d.]+" y="[\d.]+" width="\d+" height="\d+" fill="[^"]+"><title>/g) ?? []).length;

describe('heatmaps', () => {
  it('draw one titled cell per value, escape labels, grey out NaN', () => {
    const svg = heatmapSvg({
      rows: ['a<b', 'c'],
      cols: ['x&y', 'z', 'w'],
      values: [
        [1, -1, NaN],
        [0, 0.5, 2],
      ],
      cellText: [
        ['<t>', '', ''],
        ['', '', ''],
      ],
    });
    expect(cells(svg)).toBe(6);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('x&amp;y');
    expect(svg).toContain('&lt;t&gt;');
    expect(svg).not.toContain('<t>');
    expect(svg).toContain('fill="#bbb"');
  });
  it('colour scales: diverging white at the centre, saturated at the ends; sequential white to blue', () => {
    expect(colorOf(0, -1, 1, 'diverging', 0)).toBe('rgb(247,247,247)');
    expect(colorOf(1, -1, 1, 'diverging', 0)).toBe('rgb(178,24,43)');
    expect(colorOf(-1, -1, 1, 'diverging', 0)).toBe('rgb(33,102,172)');
    expect(colorOf(0, 0, 1, 'sequential', 0)).toBe('rgb(247,247,247)');
    expect(colorOf(5, 0, 1, 'sequential', 0)).toBe('rgb(33,102,172)');
    expect(displayToken('\n a\tb')).toBe('↵·a⇥b');
  });
});

describe('interpretability page', () => {
  it('holds every view with one cell per value and loads in a browser', async () => {
    const model = smallModel('llama');
    const ids = [1, 4, 9, 16];
    const L = model.config.nLayers;
    const H = model.config.nHeads;
    const lens = await logitLens(model, ids, { topK: 2, targets: [3] });
    const proj = await projectDirection(
      model,
      ids,
      Float32Array.from({ length: 32 }, (_, i) => i - 16),
      { hooks: ['hook_resid_pre', 'hook_mlp_out'] },
    );
    const attn = await attentionPatterns(model, ids);
    const patch = await activationPatching(model, ids, [1, 4, 10, 16], { kind: 'logit-diff', answer: 2, wrong: 3 });
    const views = {
      lens: lensView(lens),
      proj: projectionView(proj),
      cmp: projectionComparisonView({
        prompt: 'p',
        tokens: proj.tokens,
        hook: 'hook_resid_pre',
        models: [
          { name: 'original', values: proj.hooks.hook_resid_pre },
          { name: 'int8', values: proj.hooks.hook_mlp_out },
        ],
      }),
      attn: attentionView(attn),
      patch: patchView(patch),
    };
    expect(cells(views.lens)).toBe(2 * (L + 1) * ids.length);
    expect(cells(views.proj)).toBe(2 * L * ids.length);
    expect(cells(views.cmp)).toBe(2 * L * ids.length);
    expect(cells(views.attn)).toBe(L * H * ids.length * ids.length);
    expect(cells(views.patch)).toBe(L * ids.length + 2 * L + L * H);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-interp-page-')), 'page.html');
    writeHtml(file, interpPage('test <page>', Object.values(views)));
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<title>test &lt;page&gt;</title>');
    if (chromiumPath) {
      const r = loadInChromium(file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.consoleLines).toEqual([]);
      expect((r.dom.match(/class="heatmap"/g) ?? []).length).toBe((html.match(/class="heatmap"/g) ?? []).length);
    }
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
