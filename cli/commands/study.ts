/**
 * `glassbox study <model-dir> --out DIR [--methods ...] [--aird] ...`: the compression study. Compresses the
 * model with each method, compares each compressed model's refusal direction and behaviour with the
 * original's, optionally applies AIRD (reconstruction), and writes report.html + summary.json + directions/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InterruptedError, UsageError } from '../../engine/errors.ts';
import { checkOutputDir } from '../../engine/output-dir.ts';
import { loadModel } from '../../models/load.ts';
import { createBackend, BACKEND_NAMES } from '../../kernels/select.ts';
import type { BackendName } from '../../kernels/types.ts';
import { parseMethods } from '../../analysis/compress/methods.ts';
import { readResponsePairs } from '../../analysis/eval/ppl-text.ts';
import { loadPrompts } from '../../analysis/prompts/prompts.ts';
import { type AirdLayerRule, type AirdSettings } from '../../analysis/study/run-study.ts';
import { runStudySeeds } from '../../analysis/study/seeds.ts';
import { mergeParts } from '../../analysis/study/merge.ts';
import { loadBenchmark } from '../../analysis/eval/benchmark.ts';
import { commandJudge } from '../judge-command.ts';
import type { CalibrationSource } from '../../analysis/compress/calibration-data.ts';
import { saveCompressedModel } from '../../analysis/study/save-model.ts';
import { writeReport } from '../../analysis/report/write.ts';
import { textSummary } from '../../analysis/report/html.ts';
import { parseInteger, parseNumber } from '../../engine/numbers.ts';
import { NON_NEGATIVE, POSITIVE, SEED_RANGE, layerFraction, precisionFlag } from '../flags.ts';
import { sigintSignal } from '../interrupt.ts';
import { stderrProgress } from '../progress-bar.ts';
import { terminalSafe } from '../terminal.ts';

export interface StudyCliOptions {
  precision?: string;
  out: string;
  methods: string;
  only?: string;
  scoreAllLayers?: boolean;
  allScores?: boolean;
  aird?: boolean;
  airdVariant: string;
  airdLayer: string;
  airdKeepF32?: boolean;
  airdAlpha: string;
  maxLayerFraction: string;
  nTrain: string;
  nVal: string;
  maxTokens: string;
  seed: string;
  nCalibration: string;
  harmful?: string;
  harmless?: string;
  nTest: string;
  evalHarmful?: string;
  evalHarmless?: string;
  calibration: string;
  bootstrap: string;
  seeds: string;
  pairs?: string;
  saveModels?: boolean;
  backend?: string;
  batchSize: string;
  benchmark?: string;
  judgeCommand?: string;
}

/** The project's shipped data/prompts folder, found upward from this file (cli/commands/ in source, dist/ when bundled). */
export function shippedPromptsDir(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, 'data', 'prompts');
    if (fs.existsSync(path.join(p, 'harmful.json'))) return p;
    dir = path.dirname(dir);
  }
  return null;
}

/**
 * --calibration: 'generic' (the shipped data/calibration/generic.txt), 'prompts' (the old behaviour: chat-formatted
 * train prompts, half harmful) or a plain-text file (paragraphs separated by blank lines).
 */
export function calibrationSource(value: string): CalibrationSource {
  if (value === 'prompts') return { kind: 'prompts' };
  let file = value;
  if (value === 'generic') {
    const dir = shippedPromptsDir();
    if (!dir) throw new UsageError('--calibration generic: the shipped data/calibration folder was not found (pass --calibration FILE)');
    file = path.join(path.dirname(dir), 'calibration', 'generic.txt');
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--calibration: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected generic, prompts or a text file`,
    );
  }
  return { kind: 'text', name: value === 'generic' ? 'generic (data/calibration/generic.txt)' : path.basename(file), text };
}

/** `glassbox study merge PART... --out R`: one report from parts run separately (analysis/study/merge.ts). */
export async function mergeAction(parts: string[], o: Pick<StudyCliOptions, 'out'>): Promise<void> {
  if (parts.length === 0) throw new UsageError('study merge: give the part folders to merge (study merge PART... --out R)');
  checkOutputDir(o.out);
  const out = mergeParts(parts);
  const written = await writeReport(o.out, out);
  process.stdout.write(
    `${textSummary(out.summary)}\nmerged ${parts.length} part(s)\nreport: ${written.html}\nsummary: ${written.summary}\n`,
  );
}

/** AIRD settings, or null without --aird. The --aird-* values are checked either way, so a typo never passes silently. */
export function airdSettings(o: StudyCliOptions): AirdSettings | null {
  const variant = o.airdVariant.toUpperCase();
  if (!['A', 'B', 'C', 'D'].includes(variant)) throw new UsageError(`--aird-variant: expected A, B, C or D, got "${o.airdVariant}"`);
  const rules = ['source', 'lowest-cosine', 'search'];
  const layerRule: AirdLayerRule | number = rules.includes(o.airdLayer)
    ? (o.airdLayer as AirdLayerRule)
    : parseInteger(o.airdLayer, '--aird-layer (source, lowest-cosine, search or a block index)', NON_NEGATIVE);
  const alpha = parseNumber(o.airdAlpha, '--aird-alpha');
  if (!o.aird) return null;
  return { variant: variant as AirdSettings['variant'], layerRule, keepF32: !!o.airdKeepF32, alpha };
}

/** The study's base model runs dense (auto / f32 / bf16): its --methods do the quantizing. */
function studyPrecision(v: string | undefined): 'auto' | 'f32' | 'bf16' {
  const p = precisionFlag(undefined, v);
  if (p === 'int8' || p === 'int4')
    throw new UsageError(`--precision: the study's base model runs dense (auto, f32 or bf16); --methods ${p} quantizes it`);
  return p;
}

export async function studyAction(modelDir: string, o: StudyCliOptions): Promise<void> {
  const methods = parseMethods(o.only ?? o.methods);
  if (o.only !== undefined && methods.length !== 1)
    throw new UsageError(`--only: expected one method, got "${o.only}" (use --methods for a list)`);
  const maxLayerFraction = layerFraction(o.maxLayerFraction)!;
  const shipped = shippedPromptsDir();
  const pick = (given: string | undefined, file: string, flag: string) => {
    if (given) return given;
    if (!shipped) throw new UsageError(`${flag}: no prompt list given and the shipped data/prompts folder was not found`);
    return path.join(shipped, file);
  };
  const files = {
    harmful: pick(o.harmful, 'harmful.json', '--harmful'),
    harmless: pick(o.harmless, 'harmless.json', '--harmless'),
    harmfulTest: o.evalHarmful,
    harmlessTest: o.evalHarmless,
  };
  const harmful = loadPrompts(files.harmful);
  const harmless = loadPrompts(files.harmless);
  const harmfulTest = o.evalHarmful ? loadPrompts(o.evalHarmful) : undefined;
  const harmlessTest = o.evalHarmless ? loadPrompts(o.evalHarmless) : undefined;
  const calibration = calibrationSource(o.calibration);
  const pairs = readResponsePairs(pick(o.pairs, 'harmless_responses.jsonl', '--pairs'));
  const benchmark = o.benchmark ? loadBenchmark(o.benchmark) : undefined;
  if (o.judgeCommand !== undefined && o.judgeCommand.trim() === '') throw new UsageError('--judge-command: empty command');
  const judge = o.judgeCommand ? commandJudge(o.judgeCommand) : undefined;
  const aird = airdSettings(o);
  const counts = {
    nTrain: parseInteger(o.nTrain, '--n-train', POSITIVE),
    nVal: parseInteger(o.nVal, '--n-val', POSITIVE),
    maxTokens: parseInteger(o.maxTokens, '--max-tokens', POSITIVE),
    seed: parseInteger(o.seed, '--seed', SEED_RANGE),
    nCalibration: parseInteger(o.nCalibration, '--n-calibration', POSITIVE),
    batchSize: parseInteger(o.batchSize, '--batch-size', POSITIVE),
    nTest: parseInteger(o.nTest, '--n-test', POSITIVE),
    bootstrap: parseInteger(o.bootstrap, '--bootstrap', { min: 10 }),
    nSeeds: parseInteger(o.seeds, '--seeds', { min: 1, max: 1000 }),
  };
  if (o.backend && !BACKEND_NAMES.includes(o.backend as BackendName))
    throw new UsageError(`--backend: expected one of ${BACKEND_NAMES.join(', ')}, got "${o.backend}"`);
  checkOutputDir(o.out, '--out', [modelDir]);
  const backend = o.backend ? await createBackend(o.backend as BackendName) : undefined;
  const model = await loadModel(modelDir, { backend, precision: studyPrecision(o.precision) });
  const nLayers = model.config.nLayers;
  if (typeof aird?.layerRule === 'number' && aird.layerRule >= nLayers) {
    model.dispose();
    throw new UsageError(`--aird-layer: block ${aird.layerRule} is outside 0..${nLayers - 1}`);
  }
  const { signal, dispose } = sigintSignal();
  // Models saved by this run: an interrupted or failed study removes them (a partial set would look complete).
  const saved: string[] = [];
  const log = (l: string) => process.stderr.write(`glassbox study: ${l}\n`);
  try {
    const inputs = { modelName: path.basename(path.resolve(modelDir)), harmful, harmless, harmfulTest, harmlessTest, files, pairs };
    const out = await runStudySeeds(model, inputs, {
      methods,
      aird,
      maxLayerFraction,
      ...counts,
      calibration,
      benchmark,
      judge,
      scoreAllLayers: !!o.scoreAllLayers,
      allScores: !!o.allScores,
      signal,
      progress: stderrProgress(),
      log,
      onCompressed: o.saveModels
        ? (name, m) => {
            const dir = path.join(o.out, 'models', name.replace(/[^A-Za-z0-9._-]/g, '_'));
            saved.push(dir);
            saveCompressedModel(modelDir, m, dir);
            log(`${name}: saved to ${dir}`);
          }
        : undefined,
    });
    const written = await writeReport(o.out, out);
    process.stdout.write(terminalSafe(`${textSummary(out.summary)}\nreport: ${written.html}\nsummary: ${written.summary}\n`, true));
  } catch (e) {
    for (const dir of saved) fs.rmSync(dir, { recursive: true, force: true });
    const models = path.join(o.out, 'models');
    if (saved.length > 0 && fs.existsSync(models) && fs.readdirSync(models).length === 0) fs.rmdirSync(models);
    const removed = saved.length > 0 ? `; removed the ${saved.length} model folder(s) it had saved` : '';
    if (e instanceof InterruptedError)
      throw new InterruptedError(`study: interrupted (${e.message}); no report written to ${o.out}${removed}`);
    throw e;
  } finally {
    dispose();
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('study')
    .description(
      'compression study: compress with each method, compare refusal directions and behaviour with the original, AIRD (reconstruction), HTML report',
    )
    .argument('<model-dir>', 'Hugging Face model folder, or "merge" to merge study parts')
    .argument('[parts...]', 'with "merge": the study --out folders to merge into --out')
    .requiredOption('--out <dir>', 'report folder (report.html, summary.json, directions/)')
    .option(
      '--methods <list>',
      'comma-separated: int8, llm-int8 (W8A8), int8-outlier-cols, int4-g32, int4-g64, int4-g128 (any int4-gN), gptq4, gptq4-act, awq4, magnitude-50, wanda-50, wanda-2:4, wanda-4:8, sparsegpt-50, sparsegpt-2:4 (pruning: any percentage 1-99 or N:M)',
      'int8,int4-g128,wanda-50',
    )
    .option('--only <method>', 'run one method only (a study part for `study merge`; with --seed S)')
    .option('--aird', 'apply AIRD (reconstruction) to each compressed model and evaluate it')
    .option('--aird-variant <v>', 'A (projection restore), B (direction swap), C (restore the block), D (activation-addition bias)', 'A')
    .option('--aird-layer <rule>', "source (block before the original's layer), lowest-cosine, search, or a block index", 'source')
    .option('--aird-keep-f32', 'keep AIRD-edited matrices in f32 instead of re-quantizing them')
    .option('--aird-alpha <x>', 'variant D coefficient', '1')
    .option('--max-layer-fraction <f>', 'drop candidate layers >= floor(F * L)', '0.8')
    .option('--score-all-layers', 'also score candidates at layers the layer filter drops (slower; they are never selected)')
    .option(
      '--all-scores',
      'compute induce and KL for every candidate (slower; by default only until the selection is decided, same selection)',
    )
    .option('--n-train <n>', 'train prompts per class', '128')
    .option('--n-val <n>', 'val prompts per class (select the direction and the AIRD block; never reported on)', '32')
    .option(
      '--n-test <n>',
      'held-out test prompts per class that every reported rate and KL is measured on (lists shorter than train + val + test are split 60/20/20)',
      '100',
    )
    .option('--eval-harmful <file>', 'held-out harmful test prompts (default: split off --harmful)')
    .option('--eval-harmless <file>', 'held-out harmless test prompts (default: split off --harmless)')
    .option(
      '--calibration <src>',
      'calibration data: generic (shipped generic text), prompts (train prompts, the old behaviour) or a text file',
      'generic',
    )
    .option('--bootstrap <n>', 'bootstrap replicates of the cosine and KL intervals', '1000')
    .option('--seeds <n>', 'rerun the whole study over N split seeds (--seed, --seed + 1, ...) and report mean ± sd', '1')
    .option('--max-tokens <n>', 'greedy new tokens per evaluation completion', '48')
    .option('--seed <n>', 'sampling seed', '42')
    .option('--n-calibration <n>', 'calibration sequences = 2 × N (generic paragraphs, or N train prompts per class)', '16')
    .option('--harmful <file>', 'harmful prompt list (default: the shipped data/prompts/harmful.json)')
    .option('--harmless <file>', 'harmless prompt list (default: the shipped data/prompts/harmless.json)')
    .option('--pairs <file>', 'prompt + response JSONL for perplexity (default: data/prompts/harmless_responses.jsonl)')
    .option(
      '--benchmark <file>',
      'also measure attack success (goals not refused, baseline and own-direction ablated) on an AdvBench CSV or JailbreakBench JSON',
    )
    .option(
      '--judge-command <cmd>',
      'external refusal judge for every completion (test prompts and benchmark): JSON lines {id, prompt, completion} in, {id, refusal, harmful?} out',
    )
    .option('--save-models', 'also save each compressed model as a loadable folder under <out>/models/')
    .option('--backend <name>', `kernel backend (${BACKEND_NAMES.join(', ')})`)
    .option('--precision <p>', 'base model weights: auto (the checkpoint dtype), f32 or bf16 (default f32); --methods compress from it')
    .option('--batch-size <n>', 'prompts per forward', '32')
    .action(async (modelDir: string, parts: string[], o: StudyCliOptions) => {
      if (modelDir === 'merge') return mergeAction(parts, o);
      if (parts.length)
        throw new UsageError(`study: unexpected arguments ${parts.join(' ')} (one model folder; "study merge PART..." merges parts)`);
      return studyAction(modelDir, o);
    });
}
