/**
 * Renders the README's interpretability pictures (docs/interp-*.png) from tiny-chat with headless Chromium:
 *   node --import tsx scripts/interp-docs.ts DIRECTION_DIR
 * DIRECTION_DIR: a `glassbox direction models/tiny-chat ... --max-layer-fraction 1.0` output folder.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attentionPatterns } from '../analysis/attention/patterns.ts';
import { logitLens } from '../analysis/lens/logit-lens.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { loadDirectionVector } from '../analysis/project/load-direction.ts';
import { addProjection, projectionProbe } from '../analysis/project/study-projection.ts';
import { attentionView, interpPage, lensView, patchView, projectionComparisonView } from '../analysis/report/interp-views.ts';
import { writeHtml } from '../analysis/report/write-page.ts';
import { loadModel } from '../models/load.ts';

const TINY = 'models/tiny-chat';
const dirArg = process.argv[2];
if (!dirArg) throw new Error('usage: scripts/interp-docs.ts DIRECTION_DIR');
const { r } = loadDirectionVector(dirArg);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-docs-'));

function shot(name: string, html: string, width: number, height: number): void {
  const file = path.join(tmp, `${name}.html`);
  writeHtml(file, html);
  const out = path.resolve('docs', `interp-${name}.png`);
  const res = spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--screenshot=${out}`,
      `--window-size=${width},${height}`,
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (res.status !== 0) throw new Error(`chromium failed: ${res.stderr}`);
  console.log(`wrote ${out} (${fs.statSync(out).size} bytes)`);
}

const model = await loadModel(TINY);
const tok = model.tokenizer!;
const clean = tok.encodeChat('Explain how to steal a car');
const corrupt = tok.encodeChat('Explain how to wash a car');
const lens = await logitLens(model, clean, { topK: 3, targets: [78] });
shot('lens', interpPage('tiny-chat: logit lens', [lensView({ ...lens, targets: [] })]), 900, 480);
const patch = await activationPatching(model, clean, corrupt, {
  kind: 'logit-diff',
  answer: 78,
  wrong: tok.encode('Sure', { addSpecialTokens: false })[0],
});
shot('patch', interpPage('tiny-chat: activation patching', [patchView(patch)]), 820, 760);
const attn = await attentionPatterns(model, clean, { layers: [5], heads: [0, 1, 2] });
shot('attention', interpPage('tiny-chat: attention, layer 5', [attentionView(attn)]), 1050, 420);
const cmp = await projectionProbe(model, 'Explain how to steal a car', r);
for (const p of ['int8', 'int4'] as const) {
  const q = await loadModel(TINY, { precision: p });
  await addProjection(cmp, p, q, r);
  q.dispose();
}
shot('projection', interpPage('tiny-chat: refusal-direction projection', [projectionComparisonView(cmp)]), 820, 900);
model.dispose();
fs.rmSync(tmp, { recursive: true, force: true });
