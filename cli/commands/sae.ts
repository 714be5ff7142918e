/**
 * `glassbox sae <model-dir> --sae SAE_DIR (--prompt TEXT [--chat] | --ids ...) [--top-k 5] [--all] [--direction D]
 * [--html FILE] [--json]`: an SAELens SAE at its hook point (analysis/sae/): top features per token, reconstruction
 * error, spliced KL, and with --direction the features whose decoder rows align with it.
 */
import type { Command } from 'commander';
import { loadDirectionVector } from '../../analysis/project/load-direction.ts';
import { interpPage, saeView } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { displayToken } from '../../analysis/report/heatmap.ts';
import { decoderAlignment, saeAnalysis } from '../../analysis/sae/analyze.ts';
import { loadSae } from '../../analysis/sae/load.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult, table } from '../output.ts';
import { optionalInteger, precisionFlags } from '../flags.ts';
import { htmlArg, promptOf, type InterpFlags } from './interp-flags.ts';

interface SaeFlags extends InterpFlags {
  sae: string;
  topK: string;
  all?: boolean;
  direction?: string;
}

export function register(program: Command): void {
  program
    .command('sae')
    .description('run an SAELens sparse autoencoder at its hook point: features per token, reconstruction error')
    .argument('<model-dir>', 'Hugging Face model folder')
    .requiredOption('--sae <dir>', 'SAELens folder (cfg.json + sae_weights.safetensors)')
    .option('--prompt <text>', 'prompt text')
    .option('--chat', 'wrap --prompt in the chat template')
    .option('--ids <ids>', 'prompt as comma-separated token ids')
    .option('--top-k <k>', 'features per token (and aligned features with --direction)', '5')
    .option('--all', 'include every feature activation [position][feature] in the JSON')
    .option('--direction <path>', 'also rank decoder rows by cosine with this direction (folder or .safetensors)')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'also write the tables as an HTML page')
    .option('--json', 'print one JSON object {hook, dSae, tokens, top, reconstructionError} on stdout')
    .action(async (dir: string, flags: SaeFlags) => {
      const { precision, groupSize } = precisionFlags(flags);
      const html = htmlArg(flags.html);
      const sae = loadSae(flags.sae);
      const topK = optionalInteger(flags.topK, '--top-k', { min: 1, max: sae.cfg.dSae })!;
      const direction = flags.direction === undefined ? undefined : loadDirectionVector(flags.direction).r;
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        const r = await saeAnalysis(model, sae, promptOf(model, flags), { topK, all: flags.all });
        const alignment = direction ? decoderAlignment(sae, direction, topK) : undefined;
        if (html) {
          writeHtml(html, interpPage(`SAE: ${flags.sae} on ${dir}`, [saeView(r, alignment)]));
          info(`wrote ${html}`);
        }
        const extra = alignment ? { directionAlignment: alignment } : {};
        const out = { ...r, ...extra, precision: model.precision, backend: model.backendName };
        printResult(out, flags.json ?? false, () => saeText(r, alignment));
      } finally {
        model.dispose();
      }
    });
}

function saeText(r: Awaited<ReturnType<typeof saeAnalysis>>, alignment?: { feature: number; cosine: number }[]): string {
  const feats = (p: number) => r.top[p].map((f) => `#${f.feature} ${f.value.toFixed(3)}`).join('  ');
  const rows = r.tokens.map((t, p) => [String(p), displayToken(t), String(r.l0[p]), feats(p)]);
  const lines = [
    `${r.hook}: d_sae ${r.dSae}, reconstruction error ${r.reconstructionError.toFixed(4)}, spliced KL ${r.splicedKl.toFixed(4)}`,
    table(rows, ['pos', 'token', 'L0', 'top features']),
  ];
  if (alignment) lines.push(`aligned with the direction: ${alignment.map((a) => `#${a.feature} ${a.cosine.toFixed(3)}`).join('  ')}`);
  return lines.join('\n');
}
