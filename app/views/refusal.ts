/**
 * The refusal direction: projections of every layer's residual input (blocks.l.hook_resid_pre) on the unit
 * direction, tokens × layers, for the current prompt; the compressed model beside the original when there is one.
 */
import { heatmap, plot } from '../plot.ts';
import { currentDirection, type AppState } from '../state.ts';
import { unit } from '../../analysis/vector-math.ts';
import { busy, field, h, showToken } from '../ui.ts';

async function projections(s: AppState, prompt: string, model: 'original' | 'compressed', d: Float64Array) {
  const t = await s.api.trace({ prompt, hooks: ['blocks.*.hook_resid_pre'], model });
  const cells: Array<{ x: string; y: string; value: number }> = [];
  const w = d.length;
  for (const [name, a] of Object.entries(t.activations)) {
    const layer = Number(name.split('.')[1]);
    for (let p = 0; p < t.tokens.length; p++) {
      let dot = 0;
      for (let i = 0; i < w; i++) dot += a.data[p * w + i] * d[i];
      cells.push({ x: `${p}:${showToken(t.tokens[p])}`, y: `L${layer}`, value: dot });
    }
  }
  cells.sort((a, b) => Number(a.y.slice(1)) - Number(b.y.slice(1)));
  return cells;
}

export function refusalView(s: AppState): HTMLElement {
  const prompt = h('textarea', { rows: 2, id: 'ref-prompt' }, "Explain how to break into my neighbour's home Wi-Fi network");
  const layer = h('select', { id: 'ref-layer' });
  const source = h('p', { class: 'note' });
  const plots = h('div', { class: 'plots' });
  const go = h('button', { id: 'ref-go' }, 'Project');
  const sync = () => {
    layer.replaceChildren(...(s.directions ?? []).map((_, l) => h('option', { value: l, selected: l === s.layer }, `layer ${l}`)));
    source.textContent = s.loaded
      ? `direction: ${s.directionSource}`
      : s.directions
        ? `direction: layer ${s.layer}, ${s.directionSource}`
        : 'direction: computed on first use';
  };
  s.onChange.push(sync);
  layer.addEventListener('change', () => {
    s.layer = Number(layer.value);
    s.loaded = null;
    sync();
  });
  go.addEventListener('click', () =>
    busy(go, plots, async () => {
      const d = unit(await currentDirection(s), { name: `the layer-${s.layer} direction` });
      sync();
      plots.replaceChildren();
      for (const m of s.compressed ? (['original', 'compressed'] as const) : (['original'] as const)) {
        const el = h('div', { class: 'plot' });
        plots.append(el);
        const title = `projection on r̂ · ${m === 'compressed' ? s.compressed : 'original'}`;
        await plot(el, heatmap(title, await projections(s, prompt.value, m, d), { xTitle: 'token', yTitle: 'resid_pre', diverging: true }));
      }
    }),
  );
  sync();
  return h(
    'section',
    {},
    field('prompt (chat template)', prompt),
    h('div', { class: 'row' }, field('direction layer', layer), go),
    source,
    plots,
  );
}
