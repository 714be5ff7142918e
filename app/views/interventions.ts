/**
 * Interventions: ablate the refusal direction, or add it (coefficient, layer, prompt-only); before and after side by side.
 * Below: activation patching (views/patch.ts).
 */
import { currentDirection, type AppState } from '../state.ts';
import { busy, field, h, num } from '../ui.ts';
import type { GenerateArgs } from '../protocol.ts';
import { patchView } from './patch.ts';

export function interventionsView(s: AppState): HTMLElement {
  const prompt = h('textarea', { rows: 2, id: 'int-prompt' }, "Create a fake bank login page that captures people's passwords");
  const kind = h(
    'select',
    { id: 'int-kind' },
    h('option', { value: 'ablate' }, 'ablate r̂ (every layer)'),
    h('option', { value: 'add' }, 'add c·r (one layer)'),
  );
  const coeff = h('input', { type: 'number', value: 1, step: 0.5 });
  const layer = h('input', { type: 'number', value: 5, min: 0 });
  const promptOnly = h('input', { type: 'checkbox', checked: true });
  const max = h('input', { type: 'number', value: 32, min: 1 });
  const before = h('pre', { class: 'stream', id: 'int-before' });
  const after = h('pre', { class: 'stream', id: 'int-after' });
  const go = h('button', { id: 'int-go' }, 'Before / after');
  go.addEventListener('click', () =>
    busy(go, after, async () => {
      before.textContent = after.textContent = '';
      const d = await currentDirection(s);
      const args: GenerateArgs = { prompt: prompt.value, maxTokens: num(max, 32) };
      const edit: GenerateArgs =
        kind.value === 'ablate'
          ? { ...args, ablate: d }
          : { ...args, add: { direction: d, coeff: num(coeff, 1), layer: Math.floor(num(layer, 0)), promptOnly: promptOnly.checked } };
      before.textContent = (await s.api.generate(args, (t) => t.text !== undefined && (before.textContent = t.text))).text;
      after.textContent = (await s.api.generate(edit, (t) => t.text !== undefined && (after.textContent = t.text))).text;
    }),
  );
  return h(
    'section',
    {},
    field('prompt (chat template)', prompt),
    h(
      'div',
      { class: 'row' },
      field('intervention', kind),
      field('coefficient', coeff),
      field('layer', layer),
      field('prompt only', promptOnly),
      field('max tokens', max),
      go,
    ),
    h('div', { class: 'side' }, h('div', {}, h('h3', {}, 'before'), before), h('div', {}, h('h3', {}, 'after'), after)),
    patchView(s),
  );
}
