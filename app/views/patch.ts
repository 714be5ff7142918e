/**
 * Activation patching (analysis/patch): the layer × position heatmap of how much of the clean−corrupted metric gap
 * one restored resid_pre activation closes, and one patch applied before regenerating — the corrupted prompt's
 * continuation without and with it, side by side. Part of the Interventions tab.
 */
import { heatmap, plot } from '../plot.ts';
import type { AppState } from '../state.ts';
import type { PatchArgs, PatchMetricArgs } from '../protocol.ts';
import { busy, field, h, num, showToken } from '../ui.ts';

/** Restored fraction (patched − corrupted) / (clean − corrupted), as the CLI's patch report colours it. */
export const restored = (v: number, clean: number, corrupted: number): number =>
  clean !== corrupted ? (v - corrupted) / (clean - corrupted) : NaN;

export function patchView(s: AppState): HTMLElement {
  // Same token count under tiny-chat's template (patches are aligned by position).
  const clean = h('textarea', { rows: 1, id: 'patch-clean' }, 'Explain how to steal a car');
  const corrupted = h('textarea', { rows: 1, id: 'patch-corrupted' }, 'Explain how to wash a car');
  const metric = h(
    'select',
    { id: 'patch-metric' },
    h('option', { value: 'refusal-score' }, 'refusal score (I, As)'),
    h('option', { value: 'logit-diff' }, 'logit difference'),
  );
  const answer = h('input', { type: 'text', value: 'I', size: 6 });
  const wrong = h('input', { type: 'text', value: 'Sure', size: 6 });
  const layer = h('input', { type: 'number', value: 2, min: 0, id: 'patch-layer' });
  const pos = h('select', { id: 'patch-pos' }, h('option', { value: '-1' }, 'last (-1)'), h('option', { value: 'all' }, 'every position'));
  const max = h('input', { type: 'number', value: 24, min: 1 });
  const grid = h('div', { class: 'plot', id: 'patch-heatmap' });
  const note = h('p', { class: 'note', id: 'patch-note' });
  const before = h('pre', { class: 'stream', id: 'patch-before' });
  const after = h('pre', { class: 'stream', id: 'patch-after' });
  const sweep = h('button', { id: 'patch-sweep' }, 'Patching heatmap');
  const go = h('button', { id: 'patch-go' }, 'Patch & regenerate');

  const args = (): Pick<PatchArgs, 'clean' | 'corrupted' | 'metric'> => {
    const m: PatchMetricArgs =
      metric.value === 'logit-diff' ? { kind: 'logit-diff', answer: answer.value, wrong: wrong.value } : { kind: 'refusal-score' };
    return { clean: clean.value, corrupted: corrupted.value, metric: m };
  };
  const positions = (tokens: { clean: string[]; corrupted: string[] }) => {
    const keep = pos.value;
    pos.replaceChildren(
      h('option', { value: 'all' }, 'every position'),
      ...tokens.corrupted.map((t, p) => {
        const c = tokens.clean[p];
        const label = `${p}: ${t === c ? showToken(t) : `${showToken(c)} → ${showToken(t)}`}`;
        return h('option', { value: String(p) }, label);
      }),
    );
    const T = tokens.corrupted.length;
    pos.value = keep === 'all' ? 'all' : String(Number(keep) < 0 ? T + Number(keep) : Math.min(Number(keep), T - 1));
  };

  sweep.addEventListener('click', () =>
    busy(sweep, grid, async () => {
      const r = await s.api.patch({ ...args(), sites: ['resid_pre'] }, (m) => (note.textContent = m));
      positions(r.tokens);
      const cells = r.resid_pre.flatMap((row, l) =>
        row.map((v, p) => {
          const c = r.tokens.clean[p];
          const t = r.tokens.corrupted[p];
          const f = restored(v, r.clean, r.corrupted);
          return {
            x: `${p}:${t === c ? showToken(t) : `${showToken(c)}/${showToken(t)}`}`,
            y: `L${l}`,
            value: f,
            text: (Math.abs(f) < 0.005 ? 0 : f).toFixed(2),
          };
        }),
      );
      await plot(
        grid,
        heatmap(`patching ${r.metric}: fraction of the gap restored by one resid_pre patch`, cells, {
          xTitle: 'position (clean/corrupted)',
          yTitle: 'resid_pre',
          diverging: true,
          domain: [-1, 1], // a fraction of the gap: a small negative value must not look as strong as a full restore
        }),
      );
      note.textContent = `${r.metric}: clean ${r.clean.toFixed(2)}, corrupted ${r.corrupted.toFixed(2)}; ${r.forwards} batched forward passes. Colour: (patched − corrupted) / (clean − corrupted).`;
    }),
  );

  go.addEventListener('click', () =>
    busy(go, after, async () => {
      before.textContent = after.textContent = '';
      const p = pos.value === 'all' ? undefined : Number(pos.value);
      const r = await s.api.patchGenerate({
        ...args(),
        site: 'resid_pre',
        layer: Math.floor(num(layer, 0)),
        pos: p,
        maxTokens: num(max, 24),
      });
      if (pos.options.length <= 2) positions(r.tokens);
      before.textContent = r.before.text;
      after.textContent = r.after.text;
      const at = r.patch.pos === undefined ? 'every position' : `position ${r.patch.pos}`;
      note.textContent =
        `${r.hook} at ${at} from the clean run: ${r.metric} ${r.corruptedMetric.toFixed(2)} → ${r.patchedMetric.toFixed(2)} ` +
        `(clean ${r.cleanMetric.toFixed(2)}).`;
    }),
  );

  return h(
    'section',
    { class: 'patch' },
    h('h3', {}, 'Activation patching'),
    field('clean prompt (patched from)', clean),
    field('corrupted prompt (patched into; same number of tokens)', corrupted),
    h('div', { class: 'row' }, field('metric', metric), field('answer', answer), field('wrong', wrong), sweep),
    grid,
    h('div', { class: 'row' }, field('layer', layer), field('position', pos), field('max tokens', max), go),
    note,
    h('div', { class: 'side' }, h('div', {}, h('h3', {}, 'corrupted'), before), h('div', {}, h('h3', {}, 'corrupted + patch'), after)),
  );
}
