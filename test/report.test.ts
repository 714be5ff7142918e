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
import { fixtureSummary } from './helpers/study-fixture.ts';
import { chromiumPath, loadInChromium } from './helpers/chromium.ts';

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
