/**
 * `glassbox patch <model-dir> --clean TEXT --corrupt TEXT [--chat] --metric logit-diff --answer X --wrong Y
 * [--sites resid_pre,attn_out,mlp_out,heads] [--batch-size 16] [--html FILE] [--json]`: activation patching
 * (analysis/patch/patching.ts); --metric refusal-score uses --refusal-tokens (default: the first tokens of I / As).
 */
import type { Command } from 'commander';
import { checkRefusalTokens, defaultRefusalTokens, requireTokenizer } from '../../analysis/model-runs.ts';
import { PATCH_SITES, type PatchSite } from '../../analysis/patch/experiments.ts';
import type { PatchMetric } from '../../analysis/patch/metric.ts';
import { activationPatching } from '../../analysis/patch/patching.ts';
import { sigintSignal } from '../interrupt.ts';
import { interpPage, patchView } from '../../analysis/report/interp-views.ts';
import { writeHtml } from '../../analysis/report/write-page.ts';
import { UsageError } from '../../engine/errors.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult, table } from '../output.ts';
import { optionalInteger, precisionFlags } from '../flags.ts';
import { choiceListArg, encodeText, htmlArg, tokenArg, tokenListArg, type InterpFlags } from './interp-flags.ts';

interface PatchFlags extends InterpFlags {
  clean: string;
  corrupt: string;
  metric: string;
  answer?: string;
  wrong?: string;
  refusalTokens?: string;
  sites?: string;
  batchSize: string;
}

export function register(program: Command): void {
  program
    .command('patch')
    .description('activation patching: restore clean activations in the corrupted run, one site at a time')
    .argument('<model-dir>', 'Hugging Face model folder')
    .requiredOption('--clean <text>', 'clean prompt')
    .requiredOption('--corrupt <text>', 'corrupted prompt (same number of tokens)')
    .option('--chat', 'wrap both prompts in the chat template')
    .option('--metric <m>', 'logit-diff (needs --answer and --wrong) or refusal-score', 'logit-diff')
    .option('--answer <token>', 'logit-diff: the clean answer token (text: its first token; #123: an id)')
    .option('--wrong <token>', 'logit-diff: the corrupted answer token')
    .option('--refusal-tokens <tokens>', 'refusal-score: comma-separated refusal tokens (default: I, As)')
    .option('--sites <list>', `what to patch (default all: ${PATCH_SITES.join(',')})`)
    .option('--batch-size <n>', 'patched runs per forward pass', '16')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--html <file>', 'also write the heatmaps as an HTML page')
    .option('--json', 'print one JSON object {clean, corrupted, resid_pre, attn_out, mlp_out, heads} on stdout')
    .action(async (dir: string, flags: PatchFlags) => {
      const { precision, groupSize } = precisionFlags(flags);
      const html = htmlArg(flags.html);
      const batchSize = optionalInteger(flags.batchSize, '--batch-size', { min: 1, max: 4096 })!;
      const sites: PatchSite[] | undefined = flags.sites === undefined ? undefined : choiceListArg(flags.sites, '--sites', PATCH_SITES);
      if (flags.metric !== 'logit-diff' && flags.metric !== 'refusal-score')
        throw new UsageError(`--metric: expected logit-diff or refusal-score, got '${flags.metric}'`);
      if (flags.metric === 'logit-diff' && (flags.answer === undefined || flags.wrong === undefined))
        throw new UsageError('--metric logit-diff needs --answer and --wrong');
      if (flags.metric === 'refusal-score' && (flags.answer !== undefined || flags.wrong !== undefined))
        throw new UsageError('--answer / --wrong apply to --metric logit-diff only');
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      const sig = sigintSignal();
      try {
        const V = model.config.vocabSize;
        const tok = model.tokenizer;
        let metric: PatchMetric;
        if (flags.metric === 'logit-diff') {
          const answer = tokenArg(flags.answer!, '--answer', tok, V, info);
          metric = { kind: 'logit-diff', answer, wrong: tokenArg(flags.wrong!, '--wrong', tok, V, info) };
        } else {
          const ids =
            flags.refusalTokens === undefined
              ? defaultRefusalTokens(requireTokenizer(model, dir))
              : tokenListArg(flags.refusalTokens, '--refusal-tokens', tok, V, info);
          checkRefusalTokens(ids, V);
          metric = { kind: 'refusal-score', refusalTokens: ids };
        }
        const clean = encodeText(model, flags.clean, flags.chat ?? false, '--clean');
        const corrupt = encodeText(model, flags.corrupt, flags.chat ?? false, '--corrupt');
        const r = await activationPatching(model, clean, corrupt, metric, { sites, batchSize, signal: sig.signal });
        if (html) {
          writeHtml(html, interpPage(`Activation patching: ${dir}`, [patchView(r)]));
          info(`wrote ${html}`);
        }
        const out = { ...r, metricSpec: metric, precision: model.precision, backend: model.backendName };
        printResult(out, flags.json ?? false, () => patchText(r));
      } finally {
        sig.dispose();
        model.dispose();
      }
    });
}

function patchText(r: Awaited<ReturnType<typeof activationPatching>>): string {
  const f = (v: number) => v.toFixed(2);
  const lines = [`${r.metric}: clean ${f(r.clean)}, corrupted ${f(r.corrupted)} (--json or --html for every grid)`];
  const rows = Array.from({ length: Math.max(r.attn_out.length, r.mlp_out.length, r.heads.length) }, (_, l) => [
    String(l),
    r.attn_out.length ? f(r.attn_out[l]) : '',
    r.mlp_out.length ? f(r.mlp_out[l]) : '',
    r.heads.length ? r.heads[l].map(f).join(' ') : '',
    r.resid_pre.length ? f(Math.max(...r.resid_pre[l])) : '',
  ]);
  lines.push(table(rows, ['layer', 'attn_out', 'mlp_out', 'heads (hook_z)', 'best resid_pre position']));
  return lines.join('\n');
}
