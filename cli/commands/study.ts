/**
 * `glassbox study <model-dir> --out DIR [--methods ...] [--aird] ...`: the compression study. Compresses the
 * model with each method, compares each compressed model's refusal direction and behaviour with the
 * original's, optionally applies AIRD (reconstruction), and writes report.html + summary.json + directions/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../../engine/errors.ts';
import { loadModel } from '../../models/load.ts';
import { createBackend, BACKEND_NAMES } from '../../kernels/select.ts';
import type { BackendName } from '../../kernels/types.ts';
import { parseMethods } from '../../analysis/compress/methods.ts';
import { loadPrompts } from '../../analysis/prompts.ts';
import { stderrProgress, sigintSignal } from '../../analysis/progress.ts';
import { runStudy, type AirdLayerRule, type AirdSettings } from '../../analysis/study/run-study.ts';
import { saveCompressedModel } from '../../analysis/study/save-model.ts';
import { writeReport } from '../../analysis/report/write.ts';
import { textSummary } from '../../analysis/report/html.ts';

export interface StudyCliOptions {
  out: string;
  methods: string;
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
  pairs?: string;
  saveModels?: boolean;
  backend?: string;
  batchSize: string;
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

const int = (v: string, flag: string, min = 0): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got "${v}"`);
  return n;
};
const num = (v: string, flag: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, got "${v}"`);
  return n;
};

export function airdSettings(o: StudyCliOptions): AirdSettings | null {
  if (!o.aird) return null;
  const variant = o.airdVariant.toUpperCase();
  if (!['A', 'B', 'C', 'D'].includes(variant)) throw new UsageError(`--aird-variant: expected A, B, C or D, got "${o.airdVariant}"`);
  const rules = ['source', 'lowest-cosine', 'search'];
  const layerRule: AirdLayerRule | number = rules.includes(o.airdLayer) ? (o.airdLayer as AirdLayerRule) : int(o.airdLayer, '--aird-layer (source, lowest-cosine, search or a block index)');
  return { variant: variant as AirdSettings['variant'], layerRule, keepF32: !!o.airdKeepF32, alpha: num(o.airdAlpha, '--aird-alpha') };
}

function readPairs(file: string): { instruction: string; output: string }[] {
  if (!fs.existsSync(file)) throw new UsageError(`--pairs: ${file} does not exist`);
  return fs.readFileSync(file, 'utf8').split('\n').map((l, i) => [l.trim(), i] as const).filter(([l]) => l).map(([l, i]) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o?.instruction !== 'string' || typeof o?.output !== 'string') throw new UsageError(`${file}:${i + 1}: needs string fields instruction and output`);
    return { instruction: o.instruction, output: o.output };
  });
}

export async function studyAction(modelDir: string, o: StudyCliOptions): Promise<void> {
  const methods = parseMethods(o.methods);
  const maxLayerFraction = num(o.maxLayerFraction, '--max-layer-fraction');
  if (!(maxLayerFraction > 0 && maxLayerFraction <= 1)) throw new UsageError(`--max-layer-fraction: expected a number in (0, 1], got ${o.maxLayerFraction}`);
  const shipped = shippedPromptsDir();
  const pick = (given: string | undefined, file: string, flag: string) => {
    if (given) return given;
    if (!shipped) throw new UsageError(`${flag}: no prompt list given and the shipped data/prompts folder was not found`);
    return path.join(shipped, file);
  };
  const harmful = loadPrompts(pick(o.harmful, 'harmful.json', '--harmful'));
  const harmless = loadPrompts(pick(o.harmless, 'harmless.json', '--harmless'));
  const pairs = readPairs(pick(o.pairs, 'harmless_responses.jsonl', '--pairs'));
  const aird = airdSettings(o);
  if (o.backend && !BACKEND_NAMES.includes(o.backend as BackendName)) throw new UsageError(`--backend: expected one of ${BACKEND_NAMES.join(', ')}, got "${o.backend}"`);
  const backend = o.backend ? await createBackend(o.backend as BackendName) : undefined;
  const model = await loadModel(modelDir, { backend });
  const { signal, dispose } = sigintSignal();
  const log = (l: string) => process.stderr.write(`glassbox study: ${l}\n`);
  try {
    const out = await runStudy(model, { modelName: path.basename(path.resolve(modelDir)), harmful, harmless, pairs }, {
      methods, aird, maxLayerFraction,
      nTrain: int(o.nTrain, '--n-train', 1), nVal: int(o.nVal, '--n-val', 1), maxTokens: int(o.maxTokens, '--max-tokens', 1),
      seed: int(o.seed, '--seed'), nCalibration: int(o.nCalibration, '--n-calibration', 1), batchSize: int(o.batchSize, '--batch-size', 1),
      signal, progress: stderrProgress(), log,
      onCompressed: o.saveModels
        ? (name, m) => {
            const dir = path.join(o.out, 'models', name.replace(/[^A-Za-z0-9._-]/g, '_'));
            saveCompressedModel(modelDir, m, dir);
            log(`${name}: saved to ${dir}`);
          }
        : undefined,
    });
    const written = await writeReport(o.out, out);
    process.stdout.write(`${textSummary(out.summary)}\nreport: ${written.html}\nsummary: ${written.summary}\n`);
  } finally {
    dispose();
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('study')
    .description('compression study: compress with each method, compare refusal directions and behaviour with the original, AIRD (reconstruction), HTML report')
    .argument('<model-dir>', 'Hugging Face model folder')
    .requiredOption('--out <dir>', 'report folder (report.html, summary.json, directions/)')
    .option('--methods <list>', 'comma-separated: int8, llm-int8, int4-g32, int4-g64, int4-g128, gptq4, awq4, magnitude-50, wanda-50, wanda-2:4, wanda-4:8, sparsegpt-50, sparsegpt-2:4', 'int8,int4-g128,wanda-50')
    .option('--aird', 'apply AIRD (reconstruction) to each compressed model and evaluate it')
    .option('--aird-variant <v>', 'A (projection restore), B (direction swap), C (restore the block), D (activation-addition bias)', 'A')
    .option('--aird-layer <rule>', 'source (block before the original\'s layer), lowest-cosine, search, or a block index', 'source')
    .option('--aird-keep-f32', 'keep AIRD-edited matrices in f32 instead of re-quantizing them')
    .option('--aird-alpha <x>', 'variant D coefficient', '1')
    .option('--max-layer-fraction <f>', 'drop candidate layers >= floor(F * L)', '0.8')
    .option('--n-train <n>', 'train prompts per class', '64')
    .option('--n-val <n>', 'val prompts per class (selection and evaluation)', '32')
    .option('--max-tokens <n>', 'greedy new tokens per evaluation completion', '48')
    .option('--seed <n>', 'sampling seed', '42')
    .option('--n-calibration <n>', 'calibration prompts per class (from the train split)', '16')
    .option('--harmful <file>', 'harmful prompt list (default: the shipped data/prompts/harmful.json)')
    .option('--harmless <file>', 'harmless prompt list (default: the shipped data/prompts/harmless.json)')
    .option('--pairs <file>', 'prompt + response JSONL for perplexity (default: data/prompts/harmless_responses.jsonl)')
    .option('--save-models', 'also save each compressed model as a loadable folder under <out>/models/')
    .option('--backend <name>', `kernel backend (${BACKEND_NAMES.join(', ')})`)
    .option('--batch-size <n>', 'prompts per forward', '32')
    .action(studyAction);
}
