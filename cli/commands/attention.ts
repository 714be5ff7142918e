/**
 * `glassbox attention <model-dir> (--prompt TEXT [--chat] | --ids ...) [--layers 0,1] [--heads 0,2] [--html FILE]
 * [--json]`: attention patterns per layer and head (analysis/attention/patterns.ts) as JSON and/or heatmaps.
 */
import type { Command } from 'commander';
import { attentionPatterns } from '../../analysis/attention/patterns.ts';
import { attentionView, interpPage } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { UsageError } from '../../engine/errors.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult } from '../output.ts';
import { NON_NEGATIVE, optionalIntegerList, precisionFlags } from '../flags.ts';
import { htmlArg, promptOf, type InterpFlags } from './interp-flags.ts';

interface AttentionFlags extends InterpFlags {
  layers?: string;
  heads?: string;
}

export function register(program: Command): void {
  program
    .command('attention')
    .description('attention patterns per layer and head, as JSON and/or token x token heatmaps')
    .argument('<model-dir>', 'Hugging Face model folder')
    .option('--prompt <text>', 'prompt text')
    .option('--chat', 'wrap --prompt in the chat template')
    .option('--ids <ids>', 'prompt as comma-separated token ids')
    .option('--layers <list>', 'layers (default all)')
    .option('--heads <list>', 'heads (default all)')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'write the heatmaps as an HTML page')
    .option('--json', 'print one JSON object {tokens, layers: [{layer, heads: [{head, pattern}]}]} on stdout')
    .action(async (dir: string, flags: AttentionFlags) => {
      const { precision, groupSize } = precisionFlags(flags);
      const html = htmlArg(flags.html);
      if (!html && !flags.json) throw new UsageError('give --html FILE and/or --json (the patterns are too large for a terminal table)');
      const layers = optionalIntegerList(flags.layers, '--layers', NON_NEGATIVE);
      const heads = optionalIntegerList(flags.heads, '--heads', NON_NEGATIVE);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        const r = await attentionPatterns(model, promptOf(model, flags), { layers, heads });
        if (html) {
          writeHtml(html, interpPage(`Attention patterns: ${dir}`, [attentionView(r)]));
          info(`wrote ${html}`);
        }
        if (flags.json) printResult({ ...r, precision: model.precision, backend: model.backendName }, true);
      } finally {
        model.dispose();
      }
    });
}
