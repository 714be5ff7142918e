/**
 * `glassbox project <model-dir> --direction D (--prompt TEXT [--chat] | --ids ... | --prompts FILE [--chat]) [--hooks LIST] [--generate N]
 * [--html FILE] [--json]`: scalar projections onto a direction at every hook point × layer × position
 * (analysis/project/projection.ts); with --generate, also at every generated token.
 */
import type { Command } from 'commander';
import { parseProjectionHooks, PROJECTABLE } from '../../analysis/project/hook-points.ts';
import { loadDirectionVector } from '../../analysis/project/load-direction.ts';
import { projectDirection, projectDuringGeneration, type ProjectionResult } from '../../analysis/project/projection.ts';
import { interpPage, projectionView } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { loadPrompts } from '../../analysis/prompts/prompts.ts';
import { UsageError } from '../../engine/errors.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult, table } from '../output.ts';
import { optionalInteger, precisionFlags } from '../flags.ts';
import { encodeText, htmlArg, promptOf, type InterpFlags } from './interp-flags.ts';

interface ProjectFlags extends InterpFlags {
  direction: string;
  prompts?: string;
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
    .option('--prompts <file>', 'every prompt of a prompt file (.json/.jsonl/.csv); JSON {prompts: [{instruction, tokens, hooks}]}')
    .option('--hooks <list>', `block hook points (default all: ${PROJECTABLE.join(',')})`)
    .option('--generate <n>', 'generate N tokens greedily and project every token that runs through the model')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'also write the heatmaps as an HTML page')
    .option('--json', 'print one JSON object {tokens, hooks: {name: [layer][position]}} on stdout')
    .action(async (dir: string, flags: ProjectFlags) => {
      const { precision, groupSize } = precisionFlags(flags);
      const html = htmlArg(flags.html);
      const hooks = flags.hooks === undefined ? undefined : parseProjectionHooks(flags.hooks.split(','), '--hooks');
      const maxNewTokens = optionalInteger(flags.generate, '--generate', { min: 1, max: 4096 });
      const { r: direction } = loadDirectionVector(flags.direction, flags.tensor);
      if (flags.prompts !== undefined && (flags.prompt !== undefined || flags.ids !== undefined))
        throw new UsageError('--prompts FILE replaces --prompt / --ids: give one of them');
      if (flags.prompts !== undefined && maxNewTokens !== undefined)
        throw new UsageError('--generate applies to one --prompt, not to --prompts');
      const items = flags.prompts === undefined ? null : loadPrompts(flags.prompts);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        if (items) {
          const results: (ProjectionResult & { instruction: string })[] = [];
          for (const it of items) {
            const ids = encodeText(model, it.instruction, flags.chat ?? false, '--prompts');
            results.push({ instruction: it.instruction, ...(await projectDirection(model, ids, direction, { hooks })) });
          }
          if (html) {
            writeHtml(
              html,
              interpPage(
                `Direction projection: ${dir}`,
                results.map((r) => projectionView(r, r.instruction)),
              ),
            );
            info(`wrote ${html}`);
          }
          const out = { prompts: results, precision: model.precision, backend: model.backendName };
          const text = () => results.map((r) => `${JSON.stringify(r.instruction)}\n${projectText(r)}`).join('\n\n');
          printResult(out, flags.json ?? false, text);
          return;
        }
        const ids = promptOf(model, flags);
        const r =
          maxNewTokens === undefined
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
