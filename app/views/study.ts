/** Open a study's output folder (summary.json, direction.safetensors) and browse it with the report's own plots. */
import { parseSafetensors } from '../../engine/safetensors-reader.ts';
import { plot } from '../plot.ts';
import type { AppState } from '../state.ts';
import { busy, h } from '../ui.ts';
import type { StudySummary } from '../../analysis/study/summary.ts';

export function studyView(s: AppState): HTMLElement {
  const pick = h('input', { type: 'file', webkitdirectory: true, multiple: true, id: 'study-pick' });
  const out = h('div', { id: 'study-out' });
  const go = h('button', {}, 'Open');
  const open = () =>
    busy(go, out, async () => {
      const files = [...(pick.files ?? [])];
      const byName = (n: string) => files.filter((f) => (f.webkitRelativePath || f.name).split('/').pop() === n);
      const summaryFile = byName('summary.json')[0];
      if (!summaryFile) throw new Error('no summary.json in the chosen folder (pick the folder `glassbox study --out` wrote)');
      await showSummary(s, out, JSON.parse(await summaryFile.text()) as StudySummary);
      // The study writes directions/<model>/direction.safetensors: the original model's is the one to intervene with.
      const dirs = byName('direction.safetensors');
      const dirFile = dirs.find((f) => f.webkitRelativePath.includes('/original/')) ?? dirs[0];
      if (dirFile) {
        const st = parseSafetensors(new Uint8Array(await dirFile.arrayBuffer()), dirFile.webkitRelativePath);
        const d = Array.from(st.readF32('direction'));
        const use = h('button', {}, `use ${dirFile.webkitRelativePath} for interventions and projections`);
        use.addEventListener('click', () => {
          s.loaded = d;
          s.directionSource = dirFile.webkitRelativePath;
          for (const f of s.onChange) f();
          use.textContent = 'in use';
        });
        out.prepend(use);
      }
    });
  pick.addEventListener('change', () => void open());
  return h('section', {}, h('div', { class: 'row' }, h('label', { class: 'open' }, 'study folder ', pick)), out);
}

export async function showSummary(_s: AppState, out: HTMLElement, summary: StudySummary): Promise<void> {
  const { studyPlots } = await import('../../analysis/report/plots.ts');
  out.replaceChildren();
  const o = summary.original;
  out.append(
    h(
      'p',
      {},
      `${summary.model}: ${summary.nLayers} layers, d_model ${summary.dModel}; methods ${summary.settings.methods.join(', ')}; selected pos ${o.selected.pos}, layer ${o.selected.layer}`,
    ),
  );
  const rows = summary.methods.map((m) =>
    h(
      'tr',
      {},
      h('td', {}, m.name),
      h('td', {}, m.bitsPerWeight.toFixed(2)),
      h('td', {}, `${(100 * m.sparsity).toFixed(1)}%`),
      h('td', {}, `${m.selectedCosine.value.toFixed(4)} [${m.selectedCosine.lo.toFixed(4)}, ${m.selectedCosine.hi.toFixed(4)}]`),
    ),
  );
  out.append(
    h(
      'table',
      {},
      h('tr', {}, h('th', {}, 'method'), h('th', {}, 'bits/weight'), h('th', {}, 'sparsity'), h('th', {}, 'cos(selected)')),
      ...rows,
    ),
  );
  for (const p of studyPlots(summary)) {
    const el = h('div', { class: 'plot' });
    out.append(el);
    await plot(el, p.spec);
  }
}
