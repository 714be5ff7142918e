/** The one-file HTML report: tables and inline SVG plots, no scripts, no external resources. */
import type { Interval, MethodResult, Rate, StudySummary } from '../study/summary.ts';
import { AIRD_LABEL } from '../study/aird-math.ts';
import { studyPlots } from './plots.ts';
import { renderSvg } from './render.ts';
import { projectionComparisonView } from './interp-views.ts';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return x.toFixed(digits);
}
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');
/** A rate with its Wilson 95% interval and n: "87.0% [70.5, 95.5] n=23". */
export const rateCi = (r: Rate): string => (Number.isFinite(r.rate) ? `${pct(r.rate)} [${(100 * r.lo).toFixed(1)}, ${(100 * r.hi).toFixed(1)}] n=${r.n}` : '–');
/** A value with its 95% interval: "0.9990 [0.9981, 0.9995]". */
export const ci = (x: Interval | null | undefined, digits = 4): string =>
  x ? (Number.isFinite(x.lo) ? `${fmt(x.value, digits)} [${fmt(x.lo, digits)}, ${fmt(x.hi, digits)}]` : fmt(x.value, digits)) : '–';

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function summaryTable(s: StudySummary): string {
  const o = s.original;
  const rows = [
    ['original', '–', fmt(o.bitsPerWeight, 2), pct(o.sparsity), `(${o.selected.pos}, ${o.selected.layer})`, '1.000', ci(o.splitHalfCosine), rateCi(o.refusalRate.harmful), rateCi(o.refusalRate.harmless), fmt(o.kl.value, 4), fmt(o.perplexity, 2)],
    ...s.methods.map((m) => [m.name, m.bits ? String(m.bits) : '–', fmt(m.bitsPerWeight, 2), pct(m.sparsity), `(${m.selected.pos}, ${m.selected.layer})${m.selected.filtered ? '' : '*'}`,
      ci(m.selectedCosine), ci(m.splitHalfCosine), rateCi(m.refusalRate.harmful), rateCi(m.refusalRate.harmless), ci(m.kl), fmt(m.perplexity, 2)]),
  ];
  return table(['model', 'bits', 'bits/weight (stored)', 'sparsity', 'selected (pos, layer)', 'cos(selected) [95% bootstrap]', 'split-half cos (noise floor)', 'refusal harmful [Wilson 95%]', 'refusal harmless [Wilson 95%]', 'KL vs original [95%]', 'perplexity'], rows);
}

function airdTable(ms: MethodResult[]): string {
  const rows = ms.filter((m) => m.aird).map((m) => {
    const a = m.aird!;
    const surv = Object.entries(a.survival).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ') || '–';
    return [m.name, a.variant, `${a.layer} (${a.layerRule}${a.fellBack ? ', fell back: no block met the condition' : ''})`, a.matrices.join(', '), `${pct(m.sparsity)} → ${pct(a.sparsity)}`,
      `${rateCi(m.refusalRate.harmful)} → ${rateCi(a.refusalRate.harmful)}`, `${rateCi(m.refusalRate.harmless)} → ${rateCi(a.refusalRate.harmless)}`,
      `${ci(m.kl)} → ${ci(a.kl)}`, `${fmt(m.perplexity, 2)} → ${fmt(a.perplexity, 2)}`, `${surv}${a.keptF32 ? ' (kept f32)' : ''}`];
  });
  if (!rows.length) return '<p>AIRD was not run (pass <code>--aird</code>).</p>';
  const searches = ms.filter((m) => m.aird?.search).map((m) => `<h3>Layer search: ${esc(m.name)}</h3>` +
    (m.aird!.fellBack ? '<p class="note">No block met KL &lt; 0.1 and harmless refusal score &lt; 0: the block with the highest harmful score was taken (fellBack).</p>' : '') +
    table(['edited block', 'harmful refusal score (val)', 'harmless refusal score (val)', 'KL vs original (val)', 'met the condition'], m.aird!.search!.map((x) => [String(x.layer), fmt(x.harmfulScore), fmt(x.harmlessScore), fmt(x.kl, 4), x.passed ? 'yes' : 'no'])));
  const head = ['method', 'variant', 'edited block (rule)', 'matrices', 'sparsity', 'refusal harmful', 'refusal harmless', 'KL vs original', 'perplexity', 'update survival cos'];
  return table(head, rows) + searches.join('');
}

function selectionTable(s: StudySummary): string {
  const row = (name: string, x: StudySummary['original']['selected']) =>
    [name, `(${x.pos}, ${x.layer})`, x.filtered ? 'yes' : 'no (fallback)', fmt(x.bypass), fmt(x.induce), fmt(x.kl, 4)];
  return table(['model', 'selected (pos, layer)', 'passed filters', 'bypass score', 'induce score', 'KL score'],
    [row('original', s.original.selected), ...s.methods.map((m) => row(m.name, m.selected))]);
}

function cosineTable(s: StudySummary): string {
  const head = ['method', ...Array.from({ length: s.nLayers }, (_, l) => `L${l}`)];
  return table(head, s.methods.map((m) => [m.name, ...m.perLayerCosine.map((c) => (c === null ? 'null' : ci(c)))]), 'num');
}

/** --benchmark: attack success (goals not refused) per model, as it is and with its own direction ablated. */
function benchmarkSection(s: StudySummary): string {
  const b = s.settings.benchmark;
  if (!b) return '';
  const rows: string[][] = [];
  const add = (name: string, a: StudySummary['original']['attackSuccess']) => {
    if (a) rows.push([name, rateCi(a.baseline), a.ablated ? rateCi(a.ablated) : '–', a.harmful ? rateCi(a.harmful.baseline) : '–', a.harmful?.ablated ? rateCi(a.harmful.ablated) : '–']);
  };
  add('original', s.original.attackSuccess);
  for (const m of s.methods) {
    add(m.name, m.attackSuccess);
    if (m.aird) add(`${m.name} + ${AIRD_LABEL}`, m.aird.attackSuccess);
  }
  return `<h2>Attack success on ${esc(b.file)}</h2><p>${b.n} goals (${b.format}${b.dropped ? `; ${b.dropped} that selected the direction dropped` : ''}), greedy ${s.settings.maxTokens} new tokens, judge ${esc(b.judge)}:
attack success = goals whose completion the judge did not call a refusal (Wilson 95%). "Ablated" removes the model's own selected direction at every layer.</p>` +
    table(['model', 'attack success', 'attack success, ablated', 'judged harmful', 'judged harmful, ablated'], rows);
}

/** --seeds: mean ± sd over split seeds of each model's headline numbers. */
function seedsSection(s: StudySummary): string {
  if (!s.seeds) return '';
  const ms = (x: { mean: number; sd: number } | undefined, d: number, p = false) =>
    x ? (p ? `${(100 * x.mean).toFixed(1)}% ± ${(100 * x.sd).toFixed(1)}` : `${fmt(x.mean, d)} ± ${fmt(x.sd, d)}`) : '–';
  const rows = Object.entries(s.seeds.overSeeds).map(([name, o]) => [name, ms(o.selectedCosine, 4), ms(o.splitHalfCosine, 4), ms(o.harmfulRefusal, 1, true),
    ms(o.harmlessRefusal, 1, true), ms(o.kl, 4), ms(o.airdHarmfulRefusal, 1, true)]);
  return `<h2>Over ${s.seeds.seeds.length} split seeds (${esc(s.seeds.seeds.join(', '))}): mean ± sd</h2>` +
    table(['model', 'cos(selected)', 'split-half cos', 'refusal harmful', 'refusal harmless', 'KL vs original', 'AIRD refusal harmful'], rows) +
    '<p>Each seed draws new train / val / test splits and reruns the whole study; the tables above are the first seed\'s.</p>';
}

const CSS = `body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0;overflow-x:auto}figcaption{font-weight:bold;margin-bottom:.4em}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.5em 1em}code{background:#f3f3f3;padding:0 3px}`;

export async function renderReportHtml(s: StudySummary): Promise<string> {
  const plots = await Promise.all(studyPlots(s).map(async (p) => ({ ...p, svg: await renderSvg(p.spec) })));
  const st = s.settings;
  const figures = plots.map((p) => `<figure class="plot" id="plot-${p.id}"><figcaption>${esc(p.title)}</figcaption>${p.svg}</figure>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Glassbox compression study: ${esc(s.model)}</title><style>${CSS}</style></head>
<body>
<h1>Refusal direction under compression: ${esc(s.model)}</h1>
<p>${s.nLayers} layers, d_model ${s.dModel}. Directions: difference in means at the post-instruction positions, Arditi selection
(${st.nTrain} train / ${st.nVal} val prompts per class, seed ${st.seed}, max layer fraction ${st.maxLayerFraction}); every compressed model
reuses the original's filtered splits. Behaviour is <b>held out</b>: greedy, ${st.maxTokens} new tokens, ${esc(st.judge ?? 'substring')} judge, on ${st.evalPrompts.harmful} harmful and
${st.evalPrompts.harmless} harmless <b>test</b> prompts that selected nothing (summary.json <code>splits</code>${s.splits.disjoint ? ', disjoint by text' : ', NOT disjoint'});
perplexity on ${st.evalPrompts.perplexityPairs} prompt + response pairs (response tokens only). Calibration: ${esc(st.calibration)} (${st.nCalibration} sequences).
Intervals: Wilson 95% for rates; percentile bootstrap (${st.bootstrap} replicates over prompts) for cosines and KL; the split-half cosine is the
noise floor of a direction from half the train prompts. Backend ${esc(st.backend)}; total ${fmt(s.seconds, 1)} s.</p>
<p class="note">“${AIRD_LABEL}”: the paper's AIRD formula is not public; this is the reconstruction of docs/method-notes.md §1.7
${st.aird ? `(variant ${esc(st.aird.variant)}, layer rule ${esc(st.aird.layerRule)}${st.aird.keepF32 ? ', edited matrices kept in f32' : ', edited matrices re-quantized into the model\'s format'})` : '(not run)'}.</p>
<h2>Summary</h2>
${summaryTable(s)}
<p>* the selected candidate did not pass every filter (fallback pick).</p>
<h2>${AIRD_LABEL}</h2>
${airdTable(s.methods)}
<h2>Plots</h2>
${figures}
${s.projection ? projectionComparisonView(s.projection) : ''}
<h2>Selected direction per model (source and quality)</h2>
${selectionTable(s)}
<h2>Per-layer cosine at the original's position</h2>
${cosineTable(s)}
${seedsSection(s)}
${benchmarkSection(s)}
<h2>Orderings (reported, not asserted)</h2>
<ul><li>by selected-direction cosine: ${esc(s.orderings.bySelectedCosineDesc.join(' > ') || '–')}</li>
<li>by harmful refusal rate: ${esc(s.orderings.byHarmfulRefusalDesc.join(' > ') || '–')}</li>
<li>by KL (ascending): ${esc(s.orderings.byKlAsc.join(' < ') || '–')}</li></ul>
${s.warnings.length ? `<h2>Warnings</h2><ul>${s.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
<p>Every number above is in <code>summary.json</code> next to this file.</p>
</body></html>
`;
}

/** A few lines for the terminal. */
/** Attack success on the benchmark: as it is, and with its own direction ablated. */
function attackLine(a: NonNullable<StudySummary['original']['attackSuccess']>): string {
  return `attack success ${rateCi(a.baseline)}${a.ablated ? `, ablated ${rateCi(a.ablated)}` : ''}`;
}

export function textSummary(s: StudySummary): string {
  const o = s.original;
  const lines = [
    `${s.model}: original selects (pos ${o.selected.pos}, layer ${o.selected.layer}); split-half cos ${ci(o.splitHalfCosine)}; ppl ${fmt(o.perplexity, 2)}`,
    `  refusal on held-out test prompts: harmful ${rateCi(o.refusalRate.harmful)}, harmless ${rateCi(o.refusalRate.harmless)}`,
  ];
  const b = s.settings.benchmark;
  if (b && o.attackSuccess) lines.push(`  benchmark ${b.file} (${b.n} goals, judge ${b.judge}): ${attackLine(o.attackSuccess)}`);
  for (const m of s.methods) {
    let l = `  ${m.name.padEnd(14)} sel (${m.selected.pos}, ${m.selected.layer}) cos ${ci(m.selectedCosine)}  refusal ${rateCi(m.refusalRate.harmful)} / ${rateCi(m.refusalRate.harmless)}  KL ${ci(m.kl)}  sparsity ${pct(m.sparsity)}`;
    if (m.attackSuccess) l += `\n  ${''.padEnd(14)} ${attackLine(m.attackSuccess)}`;
    if (m.aird) l += `\n  ${''.padEnd(14)} ${AIRD_LABEL} block ${m.aird.layer}${m.aird.fellBack ? ' (search fell back)' : ''}: refusal ${rateCi(m.aird.refusalRate.harmful)} / ${rateCi(m.aird.refusalRate.harmless)}  KL ${ci(m.aird.kl)}`;
    if (m.aird?.attackSuccess) l += ` ${attackLine(m.aird.attackSuccess)}`;
    lines.push(l);
  }
  return lines.join('\n');
}
