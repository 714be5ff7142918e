/**
 * `glassbox direction <model-dir> --harmful F --harmless F --out DIR`: the Arditi et al. refusal-direction
 * pipeline. Writes direction.safetensors, selected.json, candidates.json and splits.json to DIR
 * (format: analysis/direction/direction-io.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { type DirectionResult, runDirection } from '../../analysis/direction/direction-pipeline.ts';
import { writeDirectionFolder } from '../../analysis/direction/direction-io.ts';
import { loadPrompts } from '../../analysis/prompts/prompts.ts';
import { InterruptedError, UsageError } from '../../engine/errors.ts';
import { checkOutputDir } from '../../engine/output-dir.ts';
import { loadModel } from '../../models/load.ts';
import { parseInteger } from '../../engine/numbers.ts';
import { POSITIVE, SEED_RANGE, layerFraction, optionalInteger, optionalIntegerList, precisionFlag } from '../flags.ts';
import { sigintSignal } from '../interrupt.ts';
import { info, printResult, table } from '../output.ts';
import { stderrProgress } from '../progress-bar.ts';

interface Opts {
  precision?: string;
  harmful: string;
  harmless: string;
  harmfulVal?: string;
  harmlessVal?: string;
  nTest?: string;
  evalHarmful?: string;
  evalHarmless?: string;
  out: string;
  nTrain?: string;
  nVal?: string;
  seed?: string;
  maxLayerFraction?: string;
  quant?: string;
  refusalTokens?: string;
  batchSize?: string;
  layers?: string;
  filter: boolean;
  scoreAllLayers?: boolean;
  allScores?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('direction')
    .description('find the refusal direction (difference in means at the post-instruction tokens, Arditi et al. 2024 selection)')
    .argument('<model-dir>', 'Hugging Face model folder')
    .requiredOption('--harmful <file>', 'harmful prompts (.json, .jsonl or .csv)')
    .requiredOption('--harmless <file>', 'harmless prompts')
    .option('--harmful-val <file>', 'harmful validation prompts (default: sampled from --harmful, disjoint from train)')
    .option('--harmless-val <file>', 'harmless validation prompts (default: sampled from --harmless)')
    .option('--n-test <n>', 'held-out test prompts per class, written to splits.json and never used for selection (0: none)', '100')
    .option('--eval-harmful <file>', 'held-out harmful test prompts (default: split off --harmful)')
    .option('--eval-harmless <file>', 'held-out harmless test prompts (default: split off --harmless)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--n-train <n>', 'train prompts per class', '128')
    .option('--n-val <n>', 'validation prompts per class', '32')
    .option('--seed <n>', 'sampling seed', '42')
    .option('--max-layer-fraction <f>', 'drop candidates at layer >= floor(F * n_layers)', '0.8')
    .option('--precision <p>', 'run-time weights: auto (the checkpoint dtype), f32, bf16, int8 or int4 (default f32)')
    .option('--quant <precision>', 'run the model in int8 or int4')
    .option('--refusal-tokens <ids>', 'comma-separated refusal token ids (default: first token of "I" and "As")')
    .option('--batch-size <n>', 'prompts per forward', '32')
    .option('--layers <list>', 'score only candidates at these layers (comma-separated; quick runs)')
    .option('--no-filter', 'keep prompts the base model scores on the "wrong" side')
    .option('--score-all-layers', 'also score candidates at layers --max-layer-fraction drops (slower; they are never selected)')
    .option(
      '--all-scores',
      'compute induce and KL for every candidate (slower; by default only until the selection is decided, same selection)',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, o: Opts) => {
      // Flags.
      const inputs = {
        harmful: loadPrompts(o.harmful),
        harmless: loadPrompts(o.harmless),
        harmfulVal: o.harmfulVal ? loadPrompts(o.harmfulVal) : undefined,
        harmlessVal: o.harmlessVal ? loadPrompts(o.harmlessVal) : undefined,
        harmfulTest: o.evalHarmful ? loadPrompts(o.evalHarmful) : undefined,
        harmlessTest: o.evalHarmless ? loadPrompts(o.evalHarmless) : undefined,
      };
      const opts = {
        nTrain: optionalInteger(o.nTrain, '--n-train', POSITIVE),
        nVal: optionalInteger(o.nVal, '--n-val', POSITIVE),
        nTest: parseInteger(o.nTest ?? '100', '--n-test', { min: 0 }),
        seed: optionalInteger(o.seed, '--seed', SEED_RANGE),
        maxLayerFraction: layerFraction(o.maxLayerFraction),
        refusalTokens: optionalIntegerList(o.refusalTokens, '--refusal-tokens'),
        batchSize: optionalInteger(o.batchSize, '--batch-size', POSITIVE),
        filter: o.filter,
        scoreAllLayers: !!o.scoreAllLayers,
        allScores: !!o.allScores,
      };
      const layers = optionalIntegerList(o.layers, '--layers');
      const precision = precisionFlag(o.quant, o.precision);
      checkOutputDir(o.out, '--out', [dir]);
      const t0 = performance.now();
      // Hooks only: no host-side weight copy beside the backend's (one copy of the weights in memory).
      const model = await loadModel(dir, { precision, retainWeights: false });
      const backend = model.backendName;
      const runPrecision = model.precision; // what --precision auto resolved to
      const { signal, dispose } = sigintSignal();
      let res: DirectionResult;
      try {
        const bad = layers?.find((l) => l >= model.config.nLayers);
        if (bad !== undefined) throw new UsageError(`--layers: ${bad} is outside 0..${model.config.nLayers - 1}`);
        // The library call.
        res = await runDirection(model, inputs, { ...opts, include: layerFilter(layers), signal, progress: stderrProgress() });
      } catch (e) {
        if (e instanceof InterruptedError) throw new InterruptedError(`direction: interrupted (${e.message}); nothing written to ${o.out}`);
        throw e;
      } finally {
        dispose();
        model.dispose();
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary = writeDirectionFolder(o.out, res, {
        ...opts,
        model: path.basename(path.resolve(dir)),
        precision: runPrecision,
        seconds,
        backend,
      });
      // Print.
      for (const w of res.warnings) info(`warning: ${w}`);
      printResult(summary, o.json ?? false, (s) =>
        table([
          ['selected', `pos ${s.pos}, layer ${s.layer}${s.filtered ? '' : ' (no candidate passed the filters)'}`],
          ['bypass / induce / KL', `${s.bypass.toFixed(3)} / ${s.induce.toFixed(3)} / ${s.kl.toFixed(4)}`],
          ['|r|', s.norm.toFixed(3)],
          ['survivors', `${s.survivors} of ${s.candidates} (induce and KL computed for ${s.fullyScored}; --all-scores: all)`],
          [
            'prompts (after filter)',
            `train ${s.counts.harmfulTrain}+${s.counts.harmlessTrain}, val ${s.counts.harmfulVal}+${s.counts.harmlessVal}`,
          ],
          ['held-out test (splits.json)', `${s.heldOut.harmfulTest}+${s.heldOut.harmlessTest} (selected nothing; evaluate on these)`],
          ['time', `${s.seconds.toFixed(1)} s on ${s.backend}`],
          ['written', path.resolve(o.out)],
        ]),
      );
    });
}

function layerFilter(layers: number[] | undefined): ((pos: number, layer: number) => boolean) | undefined {
  if (!layers) return undefined;
  const set = new Set(layers);
  return (_pos, layer) => set.has(layer);
}
