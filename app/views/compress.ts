/**
 * Compression in the tab: int8 / int4 (RTN, group 128) / Wanda 50% on the loaded model, then the per-layer cosine
 * between the refusal directions of the original and the compressed model (same prompts, same positions).
 */
import { linePlot, plot } from '../plot.ts';
import { N_PROMPTS, ensureDirections, promptLists, type AppState } from '../state.ts';
import { cosine } from '../../analysis/vector-math.ts';
import { busy, field, h } from '../ui.ts';

export function compressView(s: AppState): HTMLElement {
  const method = h('select', { id: 'cmp-method' }, ...['int8', 'int4-g128', 'wanda-50'].map((m) => h('option', { value: m }, m)));
  const status = h('p', { class: 'stats', id: 'cmp-status' });
  const table = h('table', { id: 'cmp-table' });
  const chart = h('div', { class: 'plot' });
  const go = h('button', { id: 'cmp-go' }, 'Compress');
  go.addEventListener('click', () =>
    busy(go, status, async () => {
      status.textContent = 'compressing…';
      // Wanda calibrates on harmless prompts (as the study does); RTN needs none.
      const lists = await promptLists();
      const r = await s.api.compress({ method: method.value, calibration: lists.harmless }, (m) => (status.textContent = m));
      s.compressed = r.method;
      for (const f of s.onChange) f();
      status.textContent = `${r.method}: ${r.bitsPerWeight.toFixed(2)} bits/weight, sparsity ${(100 * r.sparsity).toFixed(1)}%, ${r.seconds.toFixed(1)} s; computing directions…`;
      const orig = await ensureDirections(s);
      const comp = await s.api.directions({ ...lists, model: 'compressed' });
      const cos = orig.map((d, l) => cosine(d, comp[l]));
      table.replaceChildren(
        h('tr', {}, h('th', {}, 'layer'), ...cos.map((_, l) => h('th', {}, String(l)))),
        h('tr', {}, h('td', {}, `cos (${r.method})`), ...cos.map((c) => h('td', {}, c === null ? '–' : c.toFixed(4)))),
      );
      await plot(
        chart,
        linePlot(
          `refusal direction: original vs ${r.method}`,
          cos.flatMap((y, x) => (y === null ? [] : [{ x, y, series: r.method }])),
          { xTitle: 'layer (resid_pre)', yTitle: 'cosine' },
        ),
      );
      status.textContent += ' done';
    }),
  );
  return h(
    'section',
    {},
    h('div', { class: 'row' }, field('method', method), go),
    status,
    table,
    chart,
    h(
      'p',
      { class: 'note' },
      `Directions: diff-in-means at the last position over ${N_PROMPTS}+${N_PROMPTS} prompts; layer 0 is null (identical inputs).`,
    ),
  );
}
