/**
 * `glassbox lens <model-dir> (--prompt TEXT [--chat] | --ids ...) [--targets "I,As"] [--top-k 5] [--positions -1]
 * [--scale final|own] [--html FILE] [--json]`: the logit lens (analysis/lens/logit-lens.ts).
 */
import type { Command } from 'commander';
import { logitLens } from '../../analysis/lens/logit-lens.ts';
import { interpPage, lensView } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { displayToken } from '../../analysis/report/heatmap.ts';
import { UsageError } from '../../engine/errors.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult, table } from '../output.ts';
import { optionalInteger, optionalIntegerList, precisionFlags } from '../flags.ts';
import { htmlArg, promptOf, tokenListArg, type InterpFlags } from './interp-flags.ts';

interface LensFlags extends InterpFlags {
  targets?: string;
  topK: string;
  positions?: string;
  scale: string;
}

export function register(program: Command): void {
  program
    .command('lens')
    .description("logit lens: every layer's residual stream decoded through the final norm and unembedding")
    .argument('<model-dir>', 'Hugging Face model folder')
    .option('--prompt <text>', 'prompt text')
    .option('--chat', 'wrap --prompt in the chat template')
    .option('--ids <ids>', 'prompt as comma-separated token ids')
    .option('--targets <tokens>', 'comma-separated tokens to follow across layers (text: first token; #123: an id)')
    .option('--top-k <k>', 'top tokens per layer and position', '5')
    .option('--positions <list>', 'positions to report (negative counts from the end; default all)')
    .option('--scale <s>', "norm scale for intermediate layers: final (TransformerLens' default) or own", 'final')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'also write the heatmaps as an HTML page')
    .option('--json', 'print one JSON object {tokens, layers: [{layer, positions: [{top, targets}]}]} on stdout')
    .action(async (dir: string, flags: LensFlags) => {
      const { precision, groupSize } = precisionFlags(flags);
      const html = htmlArg(flags.html);
      if (flags.scale !== 'final' && flags.scale !== 'own') throw new UsageError(`--scale: expected final or own, got '${flags.scale}'`);
      const positions = optionalIntegerList(flags.positions, '--positions', {});
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        const topK = optionalInteger(flags.topK, '--top-k', { min: 1, max: model.config.vocabSize })!;
        const ids = promptOf(model, flags);
        const V = model.config.vocabSize;
        const targets = flags.targets === undefined ? [] : tokenListArg(flags.targets, '--targets', model.tokenizer, V, info);
        const r = await logitLens(model, ids, { topK, targets, positions, scale: flags.scale });
        if (html) {
          writeHtml(html, interpPage(`Logit lens: ${dir}`, [lensView(r)]));
          info(`wrote ${html}`);
        }
        printResult({ ...r, precision: model.precision, backend: model.backendName }, flags.json ?? false, () => lensText(r));
      } finally {
        model.dispose();
      }
    });
}

function lensText(r: Awaited<ReturnType<typeof logitLens>>): string {
  const last = r.layers[0].positions.length - 1;
  const rows = r.layers.map((l) => {
    const p = l.positions[last];
    return [
      l.hook === 'logits' ? 'output' : String(l.layer),
      p.top.map((t) => `${displayToken(t.token)} ${t.prob.toFixed(3)}`).join('  '),
      p.targets.map((t) => `${displayToken(t.token)} p=${t.prob.toFixed(3)} rank ${t.rank}`).join('  '),
    ];
  });
  const pos = r.layers[0].positions[last].position;
  return `position ${pos} (${JSON.stringify(r.tokens[pos])}), scale ${r.scale}\n${table(rows, ['layer', 'top tokens', 'targets'])}`;
}
