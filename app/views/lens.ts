/** Logit lens (each layer's top token and its probability, per position) and attention patterns for a prompt. */
import { heatmap, plot } from '../plot.ts';
import type { AppState } from '../state.ts';
import { busy, field, h, num, showToken } from '../ui.ts';

export function lensView(s: AppState): HTMLElement {
  const prompt = h('textarea', { rows: 2, id: 'lens-prompt' }, 'Give three tips for staying focused while studying');
  const chat = h('input', { type: 'checkbox', checked: true });
  const layer = h('input', { type: 'number', value: 0, min: 0 });
  const head = h('input', { type: 'number', value: 0, min: 0 });
  const lensPlot = h('div', { class: 'plot' });
  const attnPlot = h('div', { class: 'plot' });
  const go = h('button', { id: 'lens-go' }, 'Run');
  go.addEventListener('click', () =>
    busy(go, lensPlot, async () => {
      const r = await s.api.lens({ prompt: prompt.value, chat: chat.checked });
      const cells = r.layers.flatMap((row, l) =>
        row.map((c, p) => ({ x: `${p}:${showToken(r.tokens[p])}`, y: r.rows[l], value: c.prob, text: showToken(c.token) })),
      );
      await plot(
        lensPlot,
        heatmap('logit lens: top token decoded from each block input (colour: its probability)', cells, {
          xTitle: 'position',
          yTitle: 'residual stream',
        }),
      );
      const L = Math.min(Math.max(0, Math.floor(num(layer, 0))), (s.info?.nLayers ?? 1) - 1);
      const H = Math.min(Math.max(0, Math.floor(num(head, 0))), (s.info?.nHeads ?? 1) - 1);
      const name = `blocks.${L}.attn.hook_pattern`;
      const t = await s.api.trace({ prompt: prompt.value, chat: chat.checked, hooks: [name] });
      const a = t.activations[name];
      const T = a.shape[2];
      const acells: Array<{ x: string; y: string; value: number }> = [];
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          acells.push({ x: `${k}:${showToken(t.tokens[k])}`, y: `${q}:${showToken(t.tokens[q])}`, value: a.data[(H * T + q) * T + k] });
      await plot(attnPlot, heatmap(`attention pattern, layer ${L} head ${H}`, acells, { xTitle: 'key', yTitle: 'query' }));
    }),
  );
  return h(
    'section',
    {},
    field('prompt', prompt),
    h('div', { class: 'row' }, field('chat template', chat), field('attention layer', layer), field('head', head), go),
    lensPlot,
    attnPlot,
  );
}
