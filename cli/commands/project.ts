/**
 * `glassbox project <model-dir> --direction D (--prompt TEXT [--chat] | --ids ...) [--hooks LIST] [--generate N]
 * [--html FILE] [--json]`: scalar projections onto a direction at every hook point × layer × position
 * (analysis/project/projection.ts); with --generate, also at every generated token.
 */
import type { Command } from 'commander';
import { parseProjectionHooks, PROJECTABLE } from '../../analysis/project/hook-points.ts';
import { loadDirectionVector } from '../../analysis/project/load-direction.ts';
import { projectDirection, projectDuringGeneration } from '../../analysis/project/projection.ts';
import { interpPage, projectionView } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { parseInteger } from '../../engine/numbers.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult, table } from '../output.ts';
import { parsePrecision } from './generate.ts';
import { htmlArg, promptOf, type InterpFlags } from './interp-flags.ts';

interface ProjectFlags extends InterpFlags {
  direction: string;
  tensor?: string;
  hooks?: string;
  generate?: string;
}

export function register(program: Command): void {
  program
    .command('project')
    .description('project every hook point x layer x position (and generated token) onto a direction')
    .argument('<model-dir>', 'Hugging Face model folder')
    .requiredOption('--direction <path>', 'a direction folder, or a .safetensors file holding a [d_model] vector')
    .option('--tensor <name>', 'tensor name in the --direction file (default: "direction", or its only tensor)')
    .option('--prompt <text>', 'prompt text')
    .option('--chat', 'wrap --prompt in the chat template')
    .option('--ids <ids>', 'prompt as comma-separated token ids')
    .option('--hooks <list>', `block hook points (default all: ${PROJECTABLE.join(',')})`)
    .option('--generate <n>', 'generate N tokens greedily and project every token that runs through the model')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'also write the heatmaps as an HTML page')
    .option('--json', 'print one JSON object {tokens, hooks: {name: [layer][position]}} on stdout')
    .action(async (dir: string, flags: ProjectFlags) => {
      const { precision, groupSize } = parsePrecision(flags);
      const html = htmlArg(flags.html);
      const hooks = flags.hooks === undefined ? undefined : parseProjectionHooks(flags.hooks.split(','), '--hooks');
      const maxNewTokens = flags.generate === undefined ? undefined : parseInteger(flags.generate, '--generate', { min: 1, max: 4096 });
      const { r: direction } = loadDirectionVector(flags.direction, flags.tensor);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        const ids = promptOf(model, flags);
        const r = maxNewTokens === undefined
          ? await projectDirection(model, ids, direction, { hooks })
          : await projectDuringGeneration(model, ids, direction, { hooks, maxNewTokens });
        if (html) {
          writeHtml(html, interpPage(`Direction projection: ${dir}`, [projectionView(r)]));
          info(`wrote ${html}`);
        }
        printResult({ ...r, precision: model.precision, backend: model.backendName }, flags.json ?? false, () => projectText(r));
      } finally {
        model.dispose();
      }
    });
}

function projectText(r: Awaited<ReturnType<typeof projectDirection>>): string {
  const [hook, grid] = Object.entries(r.hooks)[0];
  const rows = grid.map((row, l) => [String(l), ...row.map((v) => v.toFixed(2))]);
  return `${hook} · r̂ (layer x position; --json for every hook)\n${table(rows, ['layer', ...r.tokens.map((_, i) => String(i))])}`;
}
