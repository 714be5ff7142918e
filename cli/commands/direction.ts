/**
 * `glassbox direction <model-dir> --harmful F --harmless F --out DIR`: the Arditi et al. refusal-direction
 * pipeline. Writes direction.safetensors, selected.json, candidates.json and splits.json to DIR.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { idListArg, intArg, layerFractionArg, quantArg } from '../../analysis/cli-args.ts';
import { type DirectionResult, runDirection } from '../../analysis/direction-pipeline.ts';
import { writeDirection, writeJson } from '../../analysis/direction-io.ts';
import { loadPrompts } from '../../analysis/prompts.ts';
import type { CandidateScore } from '../../analysis/selection.ts';
import { sigintSignal, stderrProgress } from '../../analysis/progress.ts';
import { InterruptedError, UsageError } from '../../engine/errors.ts';
import { checkOutputDir } from '../../engine/output-dir.ts';
import { loadModel } from '../../models/load.ts';
import { parseInteger } from '../../engine/numbers.ts';
import { info, printResult, table } from '../output.ts';

interface Opts {
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
    .option('--quant <precision>', 'run the model in int8 or int4')
    .option('--refusal-tokens <ids>', 'comma-separated refusal token ids (default: first token of "I" and "As")')
    .option('--batch-size <n>', 'prompts per forward', '32')
    .option('--layers <list>', 'score only candidates at these layers (comma-separated; quick runs)')
    .option('--no-filter', 'keep prompts the base model scores on the "wrong" side')
    .option('--score-all-layers', 'also score candidates at layers --max-layer-fraction drops (slower; they are never selected)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, o: Opts) => {
      const harmful = loadPrompts(o.harmful);
      const harmless = loadPrompts(o.harmless);
      const harmfulVal = o.harmfulVal ? loadPrompts(o.harmfulVal) : undefined;
      const harmlessVal = o.harmlessVal ? loadPrompts(o.harmlessVal) : undefined;
      const harmfulTest = o.evalHarmful ? loadPrompts(o.evalHarmful) : undefined;
      const harmlessTest = o.evalHarmless ? loadPrompts(o.evalHarmless) : undefined;
      const opts = {
        nTrain: intArg('--n-train', o.nTrain, 1),
        nVal: intArg('--n-val', o.nVal, 1),
        nTest: parseInteger(o.nTest ?? '100', '--n-test', { min: 0 }),
        seed: intArg('--seed', o.seed, 0, 2 ** 32 - 1),
        maxLayerFraction: layerFractionArg(o.maxLayerFraction),
        refusalTokens: idListArg('--refusal-tokens', o.refusalTokens),
        batchSize: intArg('--batch-size', o.batchSize, 1),
        filter: o.filter,
        scoreAllLayers: !!o.scoreAllLayers,
      };
      const layers = idListArg('--layers', o.layers);
      const precision = quantArg(o.quant);
      checkOutputDir(o.out);
      const t0 = performance.now();
      // Hooks only: no host-side weight copy beside the backend's (one copy of the weights in memory).
      const model = await loadModel(dir, { precision, retainWeights: false });
      const bad = layers?.find((l) => l >= model.config.nLayers);
      if (bad !== undefined) throw new UsageError(`--layers: ${bad} is outside 0..${model.config.nLayers - 1}`);
      const { signal, dispose } = sigintSignal();
      let res: DirectionResult;
      try {
        res = await runDirection(model, { harmful, harmless, harmfulVal, harmlessVal, harmfulTest, harmlessTest }, { ...opts, include: layerFilter(layers), signal, progress: stderrProgress() });
      } catch (e) {
        if (e instanceof InterruptedError) throw new InterruptedError(`direction: interrupted (${e.message}); nothing written to ${o.out}`);
        throw e;
      } finally {
        dispose();
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary = writeOutputs(o.out, dir, precision, res, { ...opts, seconds, backend: model.backendName });
      for (const w of res.warnings) info(`warning: ${w}`);
      printResult(summary, o.json ?? false, (s) =>
        table([
          ['selected', `pos ${s.pos}, layer ${s.layer}${s.filtered ? '' : ' (no candidate passed the filters)'}`],
          ['bypass / induce / KL', `${s.bypass.toFixed(3)} / ${s.induce.toFixed(3)} / ${s.kl.toFixed(4)}`],
          ['|r|', s.norm.toFixed(3)],
          ['survivors', `${s.survivors} of ${s.candidates}`],
          ['prompts (after filter)', `train ${s.counts.harmfulTrain}+${s.counts.harmlessTrain}, val ${s.counts.harmfulVal}+${s.counts.harmlessVal}`],
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

/** selected.json: the selected candidate's scores plus how it was obtained. */
export interface SelectedJson extends CandidateScore {
  filtered: boolean;
  survivors: number;
  candidates: number;
  model: string;
  precision: string;
  nLayers: number;
  refusalTokens: number[];
  eoiTokens: number[];
  maxLayerFraction: number;
  seed: number;
  counts: Record<string, number>;
  sampled: Record<string, number>;
  /** Held-out test prompts written to splits.json (harmfulTest / harmlessTest), never used for selection. */
  heldOut: { harmfulTest: number; harmlessTest: number };
  warnings: string[];
  seconds: number;
  backend: string;
}

function writeOutputs(
  out: string,
  modelDir: string,
  precision: string,
  res: DirectionResult,
  o: { maxLayerFraction?: number; seed?: number; seconds: number; backend: string },
): SelectedJson {
  const { selected, filtered, survivors, reasons } = res.selection;
  const model = path.basename(path.resolve(modelDir));
  writeDirection(out, { r: Float32Array.from(res.direction), pos: selected.pos, layer: selected.layer, model }, { precision });
  writeJson(
    path.join(out, 'candidates.json'),
    res.scores.map((c, i) => ({ ...c, failed: reasons[i].failed })),
  );
  const counts = Object.fromEntries(Object.entries(res.splits).map(([k, v]) => [k, v.length]));
  // Selection splits (after the filter) plus the held-out test split (as sampled): eval --ablate/--add DIR drops
  // any prompt of the selection splits, so reported numbers never come from prompts that selected the direction.
  writeJson(path.join(out, 'splits.json'), { ...res.splits, harmfulTest: res.sampledSplits.harmfulTest, harmlessTest: res.sampledSplits.harmlessTest });
  const sel: SelectedJson = {
    pos: selected.pos,
    layer: selected.layer,
    bypass: selected.bypass,
    induce: selected.induce,
    kl: selected.kl,
    norm: selected.norm,
    filtered,
    survivors: survivors.length,
    candidates: res.scores.length,
    model,
    precision,
    nLayers: res.candidates.nLayers,
    refusalTokens: res.refusalTokens,
    eoiTokens: res.eoiIds,
    maxLayerFraction: o.maxLayerFraction ?? 0.8,
    seed: o.seed ?? 42,
    counts,
    sampled: res.sampled,
    heldOut: { harmfulTest: res.sampledSplits.harmfulTest.length, harmlessTest: res.sampledSplits.harmlessTest.length },
    warnings: res.warnings,
    seconds: o.seconds,
    backend: o.backend,
  };
  writeJson(path.join(out, 'selected.json'), sel);
  return sel;
}
