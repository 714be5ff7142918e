/**
 * `glassbox eval <model-dir> --prompts F [--ablate DIR | --add DIR --coeff C --layer L [--prompt-only]]`:
 * greedy completions judged by the refusal-substring list; refusal rate (overall, per category), mean refusal
 * score, and optionally KL against the unmodified model and CE / perplexity on a response or text file.
 * `--benchmark FILE` (AdvBench CSV, JailbreakBench JSON / JSON lines) reports attack success instead
 * (eval-benchmark.ts); `--judge-command CMD` replaces the substring judge with an external one (cli/judge-command.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { runEvaluation } from '../../analysis/eval/eval-run.ts';
import { MAX_NEW_TOKENS_LIMIT } from '../../analysis/eval/evaluate.ts';
import { readPplSource } from '../../analysis/eval/ppl-text.ts';
import { type InterventionSpec, buildIntervention } from '../../analysis/intervene/intervention-spec.ts';
import { checkRefusalTokens, defaultRefusalTokens, requireTokenizer } from '../../analysis/model-runs.ts';
import { loadPrompts } from '../../analysis/prompts/prompts.ts';
import { sample } from '../../analysis/prompts/sampling.ts';
import { InterruptedError, UsageError } from '../../engine/errors.ts';
import { parseInteger, parseNumber } from '../../engine/numbers.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/types.ts';
import { NON_NEGATIVE, POSITIVE, SEED_RANGE, optionalInteger, optionalIntegerList, precisionFlag } from '../flags.ts';
import { sigintSignal } from '../interrupt.ts';
import { info, printResult, table } from '../output.ts';
import { selectionPrompts, withoutSelectionPrompts } from '../../analysis/eval/held-out.ts';
import { wilson } from '../../analysis/stats/intervals.ts';
import { stderrProgress } from '../progress-bar.ts';
import { loadBenchmark } from '../../analysis/eval/benchmark.ts';
import { substringJudge } from '../../analysis/eval/judge.ts';
import { commandJudge } from '../judge-command.ts';
import { runBenchmark } from './eval-benchmark.ts';

interface Opts {
  precision?: string;
  prompts?: string;
  benchmark?: string;
  judgeCommand?: string;
  ablate?: string;
  add?: string;
  coeff?: string;
  layer?: string;
  promptOnly?: boolean;
  maxTokens?: string;
  n?: string;
  seed?: string;
  quant?: string;
  refusalTokens?: string;
  batchSize?: string;
  kl?: boolean;
  klBase?: string;
  ppl?: string;
  includeSelectionPrompts?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('refusal rate / refusal score of greedy completions, optionally under directional ablation or activation addition')
    .argument('<model-dir>', 'Hugging Face model folder')
    .option('--prompts <file>', 'prompts (.json, .jsonl or .csv)')
    .option(
      '--benchmark <file>',
      'attack success on a harmful benchmark: AdvBench CSV (goal column) or JailbreakBench JSON / JSON lines (goal)',
    )
    .option(
      '--judge-command <cmd>',
      'external judge: JSON lines {id, prompt, completion} on its stdin, {id, refusal, harmful?} on its stdout',
    )
    .option('--ablate <dir>', 'directional ablation of the direction in DIR at every layer')
    .option('--add <dir>', 'activation addition of the direction in DIR')
    .option('--coeff <c>', 'activation-addition coefficient', '1')
    .option('--layer <l>', "activation-addition layer (default: the direction's layer)")
    .option('--prompt-only', 'add at prompt positions only, not at generated tokens')
    .option('--max-tokens <n>', 'new tokens per completion (greedy)', '64')
    .option('--n <n>', 'evaluate a seeded sample of N prompts')
    .option('--seed <n>', 'sampling seed for --n', '42')
    .option('--precision <p>', 'run-time weights: auto (the checkpoint dtype), f32, bf16, int8 or int4 (default f32)')
    .option('--quant <precision>', 'run the model in int8 or int4')
    .option('--refusal-tokens <ids>', 'comma-separated refusal token ids for the refusal score')
    .option('--batch-size <n>', 'prompts per batch', '32')
    .option('--kl', 'also report KL(base || evaluated) at the last prompt position')
    .option('--kl-base <model-dir>', 'the base of --kl: another model folder (default: this model without intervention)')
    .option('--ppl <file>', 'also report CE / perplexity: .jsonl of {instruction, output} (response-only loss) or a text file')
    .option(
      '--include-selection-prompts',
      'keep prompts that selected the --ablate/--add direction (its splits.json train/val); dropped by default',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, o: Opts) => {
      // Flags.
      if (o.ablate && o.add) throw new UsageError('--ablate and --add cannot be combined');
      if (!o.add && (o.promptOnly || o.layer !== undefined)) throw new UsageError('--layer / --prompt-only need --add');
      if (!o.prompts === !o.benchmark) throw new UsageError('give exactly one of --prompts FILE and --benchmark FILE');
      if (o.benchmark && (o.kl || o.klBase || o.ppl)) throw new UsageError('--kl, --kl-base and --ppl go with --prompts, not --benchmark');
      if (o.judgeCommand !== undefined && o.judgeCommand.trim() === '') throw new UsageError('--judge-command: empty command');
      const judge = o.judgeCommand ? commandJudge(o.judgeCommand) : substringJudge;
      const maxNewTokens = parseInteger(o.maxTokens ?? '64', '--max-tokens', { min: 1, max: MAX_NEW_TOKENS_LIMIT });
      const batchSize = optionalInteger(o.batchSize, '--batch-size', POSITIVE);
      const benchmark = o.benchmark ? loadBenchmark(o.benchmark) : null;
      const source = (o.benchmark ?? o.prompts)!;
      let items = benchmark ? benchmark.items : loadPrompts(source);
      // Held out by default: never report on a prompt that selected the direction being tested.
      const directionDir = o.ablate ?? o.add;
      const selection = directionDir && !o.includeSelectionPrompts ? selectionPrompts(directionDir) : null;
      let droppedSelection = 0;
      if (selection) {
        const kept = withoutSelectionPrompts(items, selection);
        items = kept.kept;
        droppedSelection = kept.dropped;
        if (items.length === 0)
          throw new UsageError(
            `${benchmark ? '--benchmark' : '--prompts'}: every prompt of ${source} selected the direction in ${directionDir} (its splits.json); pass held-out prompts or --include-selection-prompts`,
          );
        if (droppedSelection)
          info(`held out: dropped ${droppedSelection} prompt(s) that selected the direction (${directionDir}/splits.json train/val)`);
      }
      const n = optionalInteger(o.n, '--n', POSITIVE);
      if (n !== undefined) items = sample(items, n, parseInteger(o.seed ?? '42', '--seed', SEED_RANGE));
      const spec: InterventionSpec = o.ablate
        ? { kind: 'ablate', direction: o.ablate }
        : o.add
          ? {
              kind: 'add',
              direction: o.add,
              coeff: parseNumber(o.coeff ?? '1', '--coeff'),
              layer: optionalInteger(o.layer, '--layer', NON_NEGATIVE),
              promptOnly: o.promptOnly ?? false,
            }
          : { kind: 'none' };
      const precision = precisionFlag(o.quant, o.precision);
      const refusalTokenFlag = optionalIntegerList(o.refusalTokens, '--refusal-tokens');
      // Every input is read and checked before the (long) generation starts, so a bad --ppl or --kl-base fails at once.
      const ppl = o.ppl ? readPplSource(o.ppl) : undefined;
      // Hooks only: no host-side weight copy beside the backend's (one copy of the weights in memory).
      const model = await loadModel(dir, { precision, retainWeights: false });
      let otherBase: Model | undefined;
      const { signal, dispose } = sigintSignal();
      try {
        const refusalTokens = refusalTokenFlag ?? defaultRefusalTokens(requireTokenizer(model, dir));
        checkRefusalTokens(refusalTokens, model.config.vocabSize);
        const intervention = buildIntervention(model, spec);
        if (benchmark) {
          await runBenchmark({
            model,
            modelName: path.basename(path.resolve(dir)),
            benchmark,
            items,
            droppedSelectionPrompts: droppedSelection,
            intervention,
            judge,
            maxNewTokens,
            batchSize,
            signal,
            json: o.json ?? false,
          });
          return;
        }
        if (o.klBase) otherBase = await loadModel(o.klBase, { precision, retainWeights: false });
        const klBase = otherBase ?? (o.kl ? model : undefined);
        if (klBase && klBase.config.vocabSize !== model.config.vocabSize)
          throw new UsageError(
            `--kl-base: ${o.klBase} has vocabulary size ${klBase.config.vocabSize}, ${dir} has ${model.config.vocabSize}`,
          );
        // The library call.
        const result = await runEvaluation(model, items, {
          modelName: path.basename(path.resolve(dir)),
          intervention,
          maxNewTokens,
          batchSize,
          refusalTokens,
          klBase,
          ppl,
          judge,
          signal,
          progress: stderrProgress(),
        });
        // Print.
        const withCi = {
          ...result,
          droppedSelectionPrompts: droppedSelection,
          judge: judge.name,
          refusalRateCi: wilson(result.completions.filter((c) => c.refused).length, result.n),
        };
        printResult(withCi, o.json ?? false, (r) => {
          const rows = [
            ['prompts', `${r.n} (${source})`],
            ['judge', judge.name],
            ['intervention', JSON.stringify(r.intervention)],
            [
              'refusal rate',
              `${(r.refusalRate * 100).toFixed(1)}% [${(r.refusalRateCi.lo * 100).toFixed(1)}, ${(r.refusalRateCi.hi * 100).toFixed(1)}] (Wilson 95%, n = ${r.n})`,
            ],
            ['refusal score', r.refusalScore.toFixed(3)],
            ...Object.entries(r.perCategory).map(([k, v]) => [`  ${k}`, `${(v.refusalRate * 100).toFixed(1)}% of ${v.n}`]),
          ];
          if (r.kl !== undefined) rows.push(['KL(base || this)', r.kl.toFixed(4)]);
          if (r.ce !== undefined)
            rows.push(['CE / perplexity', `${r.ce.toFixed(4)} / ${r.perplexity!.toFixed(3)} over ${r.pplTokens} tokens`]);
          rows.push(['time', `${r.seconds.toFixed(1)} s, ${maxNewTokens} new tokens max`]);
          return table(rows);
        });
      } catch (e) {
        if (e instanceof InterruptedError) throw new InterruptedError(`eval: interrupted (${e.message}); nothing printed`);
        throw e;
      } finally {
        dispose();
        otherBase?.dispose();
        model.dispose();
      }
    });
}
