/**
 * Plots with the report's grammar (Vega-Lite, rendered to SVG by analysis/report/render.ts). Vega is loaded on
 * first use, as its own chunk, so the app starts without it.
 */
import type { VlSpec } from '../analysis/report/plots.ts';

export async function plot(el: HTMLElement, spec: VlSpec): Promise<void> {
  const { renderSvg } = await import('../analysis/report/render.ts');
  el.innerHTML = await renderSvg(spec);
}

const base = (title: string, values: unknown[], rest: VlSpec): VlSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title,
  data: { values },
  config: { font: 'sans-serif', view: { stroke: null } },
  ...rest,
});

/** A heatmap of value over (x: ordered labels, y: ordered labels). */
export function heatmap(
  title: string,
  cells: Array<{ x: string; y: string; value: number; text?: string }>,
  opts: { xTitle: string; yTitle: string; diverging?: boolean; width?: number; domain?: [number, number] },
): VlSpec {
  const xs = [...new Set(cells.map((c) => c.x))];
  const ys = [...new Set(cells.map((c) => c.y))];
  const enc = {
    x: { field: 'x', type: 'ordinal', sort: xs, title: opts.xTitle, axis: { labelAngle: -60 } },
    y: { field: 'y', type: 'ordinal', sort: ys, title: opts.yTitle },
  };
  const layers: VlSpec[] = [
    {
      mark: 'rect',
      encoding: {
        ...enc,
        color: {
          field: 'value',
          type: 'quantitative',
          title: null,
          scale: {
            ...(opts.diverging ? { scheme: 'redblue', reverse: true, domainMid: 0 } : { scheme: 'blues' }),
            ...(opts.domain ? { domain: opts.domain, clamp: true } : {}),
          },
        },
        tooltip: [{ field: 'x' }, { field: 'y' }, { field: 'value', format: '.3f' }],
      },
    },
  ];
  if (cells.some((c) => c.text !== undefined))
    layers.push({ mark: { type: 'text', fontSize: 8 }, encoding: { ...enc, text: { field: 'text' } } });
  return base(title, cells, {
    width: opts.width ?? Math.max(200, xs.length * (cells.some((c) => c.text) ? 34 : 22)),
    height: Math.max(120, ys.length * 20),
    layer: layers,
  });
}

export function linePlot(
  title: string,
  points: Array<{ x: number; y: number; series: string }>,
  opts: { xTitle: string; yTitle: string; yDomain?: [number, number] },
): VlSpec {
  return base(title, points, {
    width: 380,
    height: 200,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'ordinal', title: opts.xTitle },
      y: { field: 'y', type: 'quantitative', title: opts.yTitle, scale: opts.yDomain ? { domain: opts.yDomain } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
}
