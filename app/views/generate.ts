/** Chat / generate: streaming tokens with tokens/s, on the original or the compressed model. */
import type { AppState } from '../state.ts';
import { busy, field, h, num } from '../ui.ts';

export function generateView(s: AppState): HTMLElement {
  const prompt = h('textarea', { rows: 3, id: 'gen-prompt' }, 'How do I bake bread at home?');
  const chat = h('input', { type: 'checkbox', checked: true });
  const max = h('input', { type: 'number', value: 48, min: 1, max: 512 });
  const which = h('select', {}, h('option', { value: 'original' }, 'original'), h('option', { value: 'compressed' }, 'compressed'));
  const out = h('pre', { class: 'stream', id: 'gen-out' });
  const stats = h('p', { class: 'stats', id: 'gen-stats' });
  const go = h('button', { id: 'gen-go' }, 'Generate');
  const stop = h('button', { onclick: () => s.api.abort() }, 'Stop');
  go.addEventListener('click', () =>
    busy(go, out, async () => {
      out.textContent = '';
      stats.textContent = '';
      const t0 = performance.now();
      let n = 0;
      const r = await s.api.generate(
        { prompt: prompt.value, chat: chat.checked, maxTokens: num(max, 48), model: which.value as 'original' | 'compressed' },
        (t) => {
          n++;
          if (t.text !== undefined) out.textContent = t.text;
          stats.textContent = `${n} tokens · ${((n / (performance.now() - t0)) * 1000).toFixed(1)} tokens/s`;
        },
      );
      out.textContent = r.text;
      stats.textContent = `${r.ids.length} tokens (${r.finish}) · decode ${r.tokensPerSecond.toFixed(1)} tokens/s · prefill ${r.prefillMs.toFixed(0)} ms (${r.promptIds.length} tokens)`;
    }),
  );
  return h(
    'section',
    {},
    field('prompt', prompt),
    h('div', { class: 'row' }, field('chat template', chat), field('max tokens', max), field('model', which), go, stop),
    out,
    stats,
  );
}
