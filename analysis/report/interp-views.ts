/**
 * HTML sections for the interpretability results (pure strings from the plain-data results; browser-safe).
 *   lensView(r), projectionView(r), projectionComparisonView(c), attentionView(r), patchView(r), saeView(r, alignment?)
 *   interpPage(title, sections): a whole standalone page.
 */
import type { AttentionResult } from '../attention/patterns.ts';
import type { LensResult } from '../lens/logit-lens.ts';
import type { PatchResult } from '../patch/patching.ts';
import type { ProjectionResult } from '../project/projection.ts';
import type { ProjectionComparison } from '../project/study-projection.ts';
import type { SaeResult } from '../sae/analyze.ts';
import { displayToken, esc, fmtNum, heatmapSvg } from './heatmap.ts';

const cols = (tokens: string[]) => tokens.map((t, i) => `${i} ${displayToken(t)}`);
const layerRows = (n: number, prefix = 'L') => Array.from({ length: n }, (_, l) => `${prefix}${l}`);

export function lensView(r: LensResult): string {
  const positions = r.layers[0].positions.map((p) => p.position);
  const colLabels = positions.map((p) => `${p} ${displayToken(r.tokens[p])}`);
  const rows = r.layers.map((l) => (l.hook === 'logits' ? 'output' : `L${l.layer} resid_pre`));
  const top = heatmapSvg({
    title: 'Top-1 token and its probability',
    rows, cols: colLabels, scale: 'sequential', domain: [0, 1], cellWidth: 46,
    values: r.layers.map((l) => l.positions.map((p) => p.top[0].prob)),
    cellText: r.layers.map((l) => l.positions.map((p) => displayToken(p.top[0].token).slice(0, 7))),
    cellTip: r.layers.map((l) => l.positions.map((p) => p.top.map((t) => `${JSON.stringify(t.token)} ${fmtNum(t.prob)}`).join(', '))),
  });
  const targets = r.targets.map((t, k) => heatmapSvg({
    title: `Target ${JSON.stringify(t.token)} (id ${t.id}): probability (cell text: rank)`,
    rows, cols: colLabels, scale: 'sequential', domain: [0, 1], cellWidth: 46,
    values: r.layers.map((l) => l.positions.map((p) => p.targets[k].prob)),
    cellText: r.layers.map((l) => l.positions.map((p) => String(p.targets[k].rank))),
  }));
  const how = r.scale === 'final'
    ? "the final residual's per-position norm scale, as TransformerLens' apply_ln_to_stack"
    : 'each residual normalised by its own scale';
  return `<section class="lens"><h2>Logit lens</h2><p>Each layer's residual stream (<code>resid_pre</code>) decoded through the final norm
(scale: <b>${esc(r.scale)}</b>, ${how}) and the unembedding; the last row is the model's own output.</p>
${top}${targets.join('')}</section>`;
}

export function projectionView(r: ProjectionResult, title = 'Projection onto the direction'): string {
  const maps = Object.entries(r.hooks).map(([hook, grid]) =>
    heatmapSvg({ title: hook, rows: layerRows(grid.length), cols: cols(r.tokens), values: grid }));
  const what = `Scalar projection act · r̂ (‖r‖ = ${fmtNum(r.directionNorm)}) per layer and token.`;
  return `<section class="projection"><h2>${esc(title)}</h2><p>${what}</p>${maps.join('')}</section>`;
}

/** One heatmap per model on one shared colour scale, so original and compressed models read alike. */
export function projectionComparisonView(c: ProjectionComparison): string {
  let m = 0;
  for (const x of c.models) for (const r of x.values) for (const v of r) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  const domain: [number, number] = [-(m || 1), m || 1];
  const maps = c.models.map((x) =>
    heatmapSvg({ title: x.name, rows: layerRows(x.values.length), cols: cols(c.tokens), values: x.values, domain }));
  return `<section class="projection-comparison"><h2>Refusal-direction projection per token and layer</h2>
<p>Prompt ${esc(JSON.stringify(c.prompt))}: <code>blocks.l.${esc(c.hook)}</code> · r̂ of the original model's direction,
for the original and each compressed model (one colour scale for all).</p>${maps.join('')}</section>`;
}

export function attentionView(r: AttentionResult): string {
  const labels = cols(r.tokens);
  const maps = r.layers.flatMap((l) => l.heads.map((h) => heatmapSvg({
    title: `layer ${l.layer} head ${h.head}`, rows: labels, cols: labels, values: h.pattern, scale: 'sequential', domain: [0, 1],
    cellWidth: 16, cellHeight: 14, digits: 3,
  })));
  return `<section class="attention"><h2>Attention patterns</h2><p>Rows: query token; columns: key token; colour: attention weight.</p>
<div class="grid">${maps.join('')}</div></section>`;
}

export function patchView(r: PatchResult): string {
  const span = r.clean - r.corrupted;
  const norm = (v: number) => (span !== 0 ? (v - r.corrupted) / span : NaN);
  const tip = (v: number) => `metric ${fmtNum(v)}`;
  const parts: string[] = [];
  // Position labels show both tokens where the prompts differ (clean/corrupted).
  const posLabels = r.tokens.corrupted.map((t, i) =>
    `${i} ${t === r.tokens.clean[i] ? displayToken(t) : `${displayToken(r.tokens.clean[i])}/${displayToken(t)}`}`);
  const common = { scale: 'diverging' as const, domain: [-1, 1] as [number, number], digits: 2 };
  if (r.resid_pre.length)
    parts.push(heatmapSvg({ ...common, title: 'resid_pre × position', rows: layerRows(r.resid_pre.length), cols: posLabels,
      values: r.resid_pre.map((row) => row.map(norm)), cellTip: r.resid_pre.map((row) => row.map(tip)) }));
  const lines: [string, number[]][] = [];
  if (r.attn_out.length) lines.push(['attn_out', r.attn_out]);
  if (r.mlp_out.length) lines.push(['mlp_out', r.mlp_out]);
  if (lines.length)
    parts.push(heatmapSvg({
      ...common, title: 'attn_out / mlp_out × layer (every position)', rows: lines.map((x) => x[0]), cols: layerRows(lines[0][1].length),
      values: lines.map((x) => x[1].map(norm)), cellTip: lines.map((x) => x[1].map(tip)) }));
  if (r.heads.length)
    parts.push(heatmapSvg({
      ...common, title: 'head (hook_z) × layer (every position)', rows: layerRows(r.heads.length), cols: r.heads[0].map((_, h) => `H${h}`),
      values: r.heads.map((row) => row.map(norm)), cellTip: r.heads.map((row) => row.map(tip)) }));
  const intro = `Clean ${fmtNum(r.clean)}, corrupted ${fmtNum(r.corrupted)}. Colour: fraction of the clean−corrupted gap restored by the
patch, (patched − corrupted) / (clean − corrupted); hover for the metric.`;
  return `<section class="patch"><h2>Activation patching (${esc(r.metric)})</h2><p>${intro}</p>${parts.join('')}</section>`;
}

export function saeView(r: SaeResult, alignment?: { feature: number; cosine: number }[]): string {
  const rows = r.tokens.map((t, p) => {
    const feats = r.top[p].map((f) => `#${f.feature} ${fmtNum(f.value)}`).join(', ');
    const cells = [String(p), `<code>${esc(displayToken(t))}</code>`, String(r.l0[p]), fmtNum(r.perPosition[p]), feats];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  }).join('');
  const align = alignment?.length
    ? `<h3>Decoder rows most aligned with the direction</h3><table><thead><tr><th>feature</th><th>cosine</th></tr></thead><tbody>${
      alignment.map((a) => `<tr><td>#${a.feature}</td><td>${fmtNum(a.cosine, 4)}</td></tr>`).join('')}</tbody></table>`
    : '';
  const intro = `Reconstruction error ‖x − x̂‖²/‖x‖² = ${fmtNum(r.reconstructionError, 4)};
KL(model ‖ model with x̂ spliced in) = ${fmtNum(r.splicedKl, 4)} per position.`;
  const head = '<tr><th>pos</th><th>token</th><th>L0</th><th>rel. error</th><th>top features</th></tr>';
  return `<section class="sae"><h2>SAE at ${esc(r.hook)} (d_sae ${r.dSae})</h2><p>${intro}</p>
<table><thead>${head}</thead><tbody>${rows}</tbody></table>${align}</section>`;
}

const CSS = `body{font-family:sans-serif;margin:1.5em;color:#222}section{margin-bottom:2em}svg.heatmap{display:block;margin:.6em 0}
.grid{display:flex;flex-wrap:wrap;gap:6px}.grid svg.heatmap{margin:0}table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}code{background:#f3f3f3;padding:0 3px}`;

export function interpPage(title: string, sections: string[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${sections.join('\n')}
</body></html>
`;
}
