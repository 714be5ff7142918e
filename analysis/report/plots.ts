/**
 * Vega-Lite specs of the study report, built from summary.json alone. Each returns a spec with inline data;
 * render.ts turns it into SVG. Nulls (no cosine at layer 0) are dropped from the data, not drawn as 0.
 */
import type { Interval, Rate, StudySummary } from '../study/summary.ts';

const STAGES = ['original', 'compressed', 'AIRD (reconstruction)'];
const finiteOr = (x: number, fallback: number) => (Number.isFinite(x) ? x : fallback);

export type VlSpec = Record<string, unknown>;

export interface PlotDef {
  id: string;
  title: string;
  spec: VlSpec;
}

const base = (title: string, data: unknown[], rest: VlSpec): VlSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title,
  data: { values: data },
  config: { font: 'sans-serif', view: { stroke: null } },
  ...rest,
});

export function perLayerCosinePlot(s: StudySummary): PlotDef {
  const data = s.methods.flatMap((m) =>
    m.perLayerCosine.flatMap((c, layer) => (c === null ? [] : [{ method: m.name, layer, cosine: c.value, lo: finiteOr(c.lo, c.value), hi: finiteOr(c.hi, c.value) }])));
  const x = { field: 'layer', type: 'ordinal', title: 'layer (resid_pre)' };
  const color = { field: 'method', type: 'nominal', scale: { scheme: 'category20' } };
  return {
    id: 'per-layer-cosine',
    title: 'Per-layer cosine with the original direction (bars: bootstrap 95% over train prompts)',
    spec: base(`cos(r_o, r_c) per layer at the original's position ${s.original.selected.pos}`, data, {
      width: 420, height: 240,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'cosine', type: 'quantitative', title: 'cosine', scale: { zero: false } }, color } },
        { mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      ],
    }),
  };
}

export function refusalRatePlot(s: StudySummary): PlotDef {
  const data: unknown[] = [];
  for (const set of ['harmful', 'harmless'] as const) {
    const row = (model: string, stage: string, r: Rate) => ({ model, stage, set, rate: r.rate, lo: r.lo, hi: r.hi });
    data.push(row('original', 'original', s.original.refusalRate[set]));
    for (const m of s.methods) {
      data.push(row(m.name, 'compressed', m.refusalRate[set]));
      if (m.aird) data.push(row(m.name, 'AIRD (reconstruction)', m.aird.refusalRate[set]));
    }
  }
  return {
    id: 'refusal-rates',
    title: 'Refusal rate per method, before and after AIRD (reconstruction); bars: Wilson 95%',
    spec: base(`Refusal rate on held-out test prompts (${s.settings.judge ?? 'substring'} judge, greedy)`, data, {
      // Facets stacked in rows so that a dozen methods still fit the page width.
      facet: { row: { field: 'set', type: 'nominal', title: 'prompts' } },
      spec: {
        width: { step: 36 }, height: 160,
        encoding: {
          x: { field: 'model', type: 'nominal', title: null, sort: null },
          xOffset: { field: 'stage', type: 'nominal', sort: STAGES },
          color: { field: 'stage', type: 'nominal', sort: STAGES },
        },
        layer: [
          { mark: 'bar', encoding: { y: { field: 'rate', type: 'quantitative', title: 'refusal rate', scale: { domain: [0, 1] } } } },
          { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { value: 'black' } } },
        ],
      },
    }),
  };
}

/** KL or perplexity against bits per weight or sparsity: one point per model (AIRD points hollow). */
export function tradeoffPlot(s: StudySummary, y: 'kl' | 'perplexity', x: 'bitsPerWeight' | 'sparsity'): PlotDef {
  const yOf = (e: { kl: Interval; perplexity: number }) =>
    y === 'kl' ? { y: e.kl.value, lo: finiteOr(e.kl.lo, e.kl.value), hi: finiteOr(e.kl.hi, e.kl.value) } : { y: e.perplexity, lo: e.perplexity, hi: e.perplexity };
  const data: unknown[] = [{ model: 'original', stage: 'original', x: s.original[x], ...yOf(s.original) }];
  for (const m of s.methods) {
    data.push({ model: m.name, stage: 'compressed', x: m[x], ...yOf(m) });
    if (m.aird) data.push({ model: m.name, stage: 'AIRD (reconstruction)', x: m.aird[x], ...yOf(m.aird) });
  }
  const yTitle = y === 'kl' ? 'KL(original || model), harmless' : 'response perplexity';
  const xTitle = x === 'bitsPerWeight' ? 'stored bits per weight' : 'global sparsity';
  return {
    id: `${y}-vs-${x}`,
    title: `${y === 'kl' ? 'KL' : 'Perplexity'} against ${x === 'bitsPerWeight' ? 'bits per weight' : 'sparsity'}`,
    spec: base(`${yTitle} vs ${xTitle}`, data.filter((d) => Number.isFinite((d as { y: number }).y)), {
      width: 300, height: 220,
      layer: [
        {
          mark: { type: 'point', size: 90, filled: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false, padding: 12 } },
            y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false, padding: 12 } },
            color: { field: 'model', type: 'nominal', scale: { scheme: 'category20' } },
            shape: { field: 'stage', type: 'nominal' },
          },
        },
        {
          mark: { type: 'rule' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { field: 'model', type: 'nominal' } },
        },
        {
          mark: { type: 'text', dx: 8, align: 'left', fontSize: 9 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'model' } },
        },
      ],
    }),
  };
}

export function selectedSourcePlot(s: StudySummary): PlotDef {
  const data = [
    { model: 'original', layer: s.original.selected.layer, pos: s.original.selected.pos },
    ...s.methods.map((m) => ({ model: m.name, layer: m.selected.layer, pos: m.selected.pos })),
  ];
  return {
    id: 'selected-source',
    title: 'Selected direction source (position, layer) per model',
    spec: base('Selected (pos, layer)', data, {
      width: 360, height: 160,
      mark: { type: 'point', filled: true, size: 120, opacity: 0.7 },
      encoding: {
        x: { field: 'layer', type: 'quantitative', scale: { domain: [0, s.nLayers - 1] }, axis: { tickMinStep: 1 } },
        y: { field: 'pos', type: 'ordinal', title: 'position (from the end)', sort: 'descending' },
        color: { field: 'model', type: 'nominal', scale: { scheme: 'category20' } },
        yOffset: { field: 'model', type: 'nominal' },
      },
    }),
  };
}

export function studyPlots(s: StudySummary): PlotDef[] {
  return [
    perLayerCosinePlot(s), refusalRatePlot(s), selectedSourcePlot(s),
    tradeoffPlot(s, 'kl', 'bitsPerWeight'), tradeoffPlot(s, 'perplexity', 'bitsPerWeight'),
    tradeoffPlot(s, 'kl', 'sparsity'), tradeoffPlot(s, 'perplexity', 'sparsity'),
  ];
}
