/** Vega-Lite -> Vega -> SVG, headless (no canvas, no DOM): vega's View with renderer 'none' and toSVG(). */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { VlSpec } from './plots.ts';

export async function renderSvg(spec: VlSpec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
