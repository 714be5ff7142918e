/**
 * Benchmark: the full direction pipeline (filter, difference in means, candidate scores, selection) with Arditi's
 * sizes (128 train / 32 val per class), phase by phase (wall and CPU time), or with --study a whole compression
 * study on the same model (its steps timed by their progress labels).
 *   npm run bench:direction [-- --model DIR | --synthetic qwen0.5b | --model qwen0.5b] [--max-layer-fraction F] [--n-train N] [--n-val N]
 *                           [--batch-size N] [--backend NAME] [--precision P] [--induce-full] [--score-all-layers] [--all-scores]
 *                           [--study METHODS [--aird] [--n-test N] [--max-tokens N]] [--out FILE.json]
 * --synthetic qwen0.5b: a Qwen2.5-0.5B-shaped model (24 layers, d 896, 14/2 heads, d_mlp 4864, vocab 151936, seeded
 * random weights; int8 for the direction run, f32 for --study, which compresses it: --precision) with the embedded
 * model's tokenizer and chat template (its ids are < 2048): the selection is meaningless, the timing is that of a
 * 0.5B model. --induce-full runs every induce forward from the embedding (the code before residual caching), for a
 * before/after comparison. Direction data: ../shared/data splits when present, else the shipped data/prompts lists;
 * --study uses the shipped lists, as `glassbox study` does by default. Prints the table on stderr, JSON on stdout
 * (and to --out).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRootFrom } from './root.ts';
import { emitJson } from './emit-json.ts';
import { PhaseClock, timedProgress } from './phase-clock.ts';
import { runDirection } from '../analysis/direction/direction-pipeline.ts';
import { prefillPlan } from '../analysis/model-runs.ts';
import { parseMethods } from '../analysis/compress/methods.ts';
import { readResponsePairs } from '../analysis/eval/ppl-text.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { textSummary } from '../analysis/report/html.ts';
import { runStudy } from '../analysis/study/run-study.ts';
import { calibrationSource } from '../cli/commands/study.ts';
import { layerFraction } from '../cli/flags.ts';
import { stderrProgress } from '../cli/progress-bar.ts';
import { parseInteger } from '../engine/numbers.ts';
import { loadModel } from '../models/load.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { prefixRows } from '../models/shared-prefix.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { WeightPrecision } from '../models/types.ts';
import type { Tokenizer } from '../engine/types.ts';
import { createBackend } from '../kernels/select.ts';
import type { BackendName } from '../kernels/types.ts';
import { describeAdapter } from '../kernels/gpujs/webgpu.ts';
import { QWEN_05B_SHAPE } from './shapes.ts';
import { matmulProbe } from './matmul-probe.ts';

const root = projectRootFrom(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const has = (name: string) => process.argv.includes(`--${name}`);
const POSITIVE = { min: 1 };
// `--model qwen0.5b` (the spelling) is the synthetic shape too: no folder has that name.
const synthetic = arg('synthetic', arg('model', '') === 'qwen0.5b' ? 'qwen0.5b' : '');
if (synthetic && synthetic !== 'qwen0.5b') throw new Error(`--synthetic: only qwen0.5b, got ${synthetic}`);
const studyMethods = arg('study', '');
const modelDir = arg('model', path.join(root, 'models/tiny-chat'));
const precision = arg('precision', studyMethods ? 'f32' : 'int8') as WeightPrecision;
// tiny-chat's direction forms at its last block (clarifications): 1.0 there; a real-sized model takes the default 0.8.
const maxLayerFraction = layerFraction(arg('max-layer-fraction', synthetic ? '0.8' : '1.0'))!;
const nTrain = parseInteger(arg('n-train', '128'), '--n-train', POSITIVE);
const nVal = parseInteger(arg('n-val', '32'), '--n-val', POSITIVE);
const batchSize = parseInteger(arg('batch-size', '32'), '--batch-size', POSITIVE);
const shared = path.resolve(root, '../shared/data');
const useShared = existsSync(shared) && !studyMethods;
const data = (f: string) => loadPrompts(path.join(root, 'data/prompts', f));
const inputs = useShared
  ? {
      harmful: loadPrompts(path.join(shared, 'harmful_train.json')),
      harmless: loadPrompts(path.join(shared, 'harmless_train.json')),
      harmfulVal: loadPrompts(path.join(shared, 'harmful_val.json')),
      harmlessVal: loadPrompts(path.join(shared, 'harmless_val.json')),
    }
  : { harmful: data('harmful.json'), harmless: data('harmless.json') };

const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const clock = new PhaseClock();
const w0 = performance.now();
const c0 = process.cpuUsage();
const backendArg = arg('backend', '');
const backend = await createBackend((backendArg || undefined) as BackendName | undefined);
async function build() {
  if (!synthetic) return loadModel(modelDir, { backend, precision });
  const small = (await loadModel(path.join(root, 'models/tiny-chat'), { backend: await createBackend('reference') })).tokenizer!;
  // The random model samples ids from all 151,936; the borrowed tokenizer knows 2,048: decode them modulo its size
  // (--study decodes completions; what they say is meaningless anyway).
  const tok: Tokenizer = Object.create(small, {
    decode: {
      value: (ids: number[], o?: { skipSpecialTokens?: boolean }) =>
        small.decode(
          ids.map((i) => i % small.vocabSize),
          o,
        ),
    },
  });
  const cfg = { ...syntheticConfig(QWEN_05B_SHAPE), bosTokenId: 1, eosTokenIds: [2], padTokenId: 0 };
  const provider = { ...syntheticProvider(cfg, 1), tokenizer: tok };
  // The study compresses (reads) the weights; the direction run only infers.
  return new DecoderModel(provider, { backend, precision, retainWeights: !!studyMethods });
}
let stop = clock.begin('build model');
const model = await build();
stop();
const progress = timedProgress(stderrProgress(), clock);
let result: Record<string, unknown>;
if (!studyMethods) {
  const res = await runDirection(model, inputs, {
    nTrain,
    nVal,
    maxLayerFraction,
    batchSize,
    scoreAllLayers: has('score-all-layers'),
    allScores: has('all-scores'),
    induceFromResiduals: !has('induce-full'),
    progress: stderrProgress(),
    timer: clock,
  });
  const { selected, filtered, survivors } = res.selection;
  // What the ablation passes computed per second: the blocks' linear-layer FLOPs over the rows each computes (the
  // lm_head runs at the last position only and is left out), against bench:matmul's GEMM rate on the same machine.
  // A prefix every prompt of a batch shares runs once (models/shared-prefix.ts), and the MLP skips padding rows
  // (models/pad-rows.ts), except on the resident webgpu path, which runs whole batches.
  const c = model.config;
  const q = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const attnMacs = 2 * q * c.dModel + 2 * kvDim * c.dModel;
  const mlpMacs = (c.capabilities.gatedMlp ? 3 : 2) * c.dMlp * c.dModel;
  const gflopPerToken = (2 * c.nLayers * (attnMacs + mlpMacs)) / 1e9;
  const whole = !!backend.resident;
  /** One ablation pass over `items`: padded tokens, rows each part computes, and the linear layers' GFLOP. */
  const pass = (items: typeof res.splits.harmfulVal) => {
    const plan = prefillPlan(
      items.map((x) => model.tokenizer!.encodeChat(x.instruction)),
      { batchSize },
    );
    let padded = 0;
    let attnRows = 0;
    let mlpRows = 0;
    for (const b of plan) {
      const p = whole ? 0 : prefixRows(b.items);
      const longest = Math.max(...b.items.map((x) => x.length));
      padded += b.items.length * longest;
      attnRows += b.items.length * (longest - p) + p;
      mlpRows += whole ? b.items.length * longest : b.items.reduce((n, x) => n + x.length - p, 0) + p;
    }
    return { padded, attnRows, mlpRows, gflop: (2 * c.nLayers * (attnRows * attnMacs + mlpRows * mlpMacs)) / 1e9 };
  };
  // Bypass passes run over harmful val (every scored candidate), KL passes over harmless val (as far as the
  // selection needs them: analysis/direction/lazy-scores.ts).
  const [bypassPass, klPass] = [pass(res.splits.harmfulVal), pass(res.splits.harmlessVal)];
  const bypassPhase = clock.phases.get('score: bypass (ablation)');
  const klPhase = clock.phases.get('score: KL (ablation)');
  const ablationGflop = (bypassPhase?.runs ?? 0) * bypassPass.gflop + (klPhase?.runs ?? 0) * klPass.gflop;
  const ablationS = ((bypassPhase?.wallMs ?? 0) + (klPhase?.wallMs ?? 0)) / 1000;
  const ablationGflops = ablationS > 0 ? ablationGflop / ablationS : null;
  const probe = await matmulProbe(backend, precision, c.dMlp * (c.capabilities.gatedMlp ? 2 : 1), c.dModel, 256);
  if (ablationGflops !== null)
    process.stderr.write(
      `ablation passes: ${bypassPhase?.runs ?? 0} bypass x ${bypassPass.gflop.toFixed(0)} GFLOP + ${klPhase?.runs ?? 0} KL x ${klPass.gflop.toFixed(0)} GFLOP = ${ablationGflops.toFixed(0)} GFLOP/s of linear layers; ` +
        `the matmul alone, same run: ${probe.gflops.toFixed(0)} GFLOP/s (${probe.shape}, median of ${probe.calls})\n`,
    );
  result = {
    throughput: {
      note: "ablation passes (bypass over harmful val, KL over harmless val): the linear layers' GFLOP over the rows computed (a shared prefix once per batch, no MLP on padding) / wall time, against matmulProbe, the matmul alone measured in the same run",
      gflopPerToken,
      bypassPass,
      klPass,
      bypassPasses: bypassPhase?.runs ?? 0,
      klPasses: klPhase?.runs ?? 0,
      ablationGflops,
      matmulProbe: probe,
      ablationFractionOfMatmul: ablationGflops !== null ? ablationGflops / probe.gflops : null,
    },
    sizes: res.sampled,
    afterFilter: Object.fromEntries(Object.entries(res.splits).map(([k, v]) => [k, v.length])),
    candidates: res.scores.length,
    scored: res.scores.filter((s) => !Number.isNaN(s.bypass)).length,
    fullyScored: res.scores.filter((s) => !s.skipped && !Number.isNaN(s.bypass)).length,
    survivors: survivors.length,
    selected: { pos: selected.pos, layer: selected.layer, bypass: selected.bypass, induce: selected.induce, kl: selected.kl, filtered },
  };
} else {
  const methods = parseMethods(studyMethods);
  const pairs = readResponsePairs(path.join(root, 'data/prompts/harmless_responses.jsonl'));
  const out = await runStudy(
    model,
    { modelName: synthetic || path.basename(modelDir), harmful: inputs.harmful, harmless: inputs.harmless, pairs },
    {
      methods,
      aird: has('aird') ? { variant: 'A', layerRule: 'source', keepF32: false } : null,
      nTrain,
      nVal,
      nTest: parseInteger(arg('n-test', '100'), '--n-test', POSITIVE),
      maxTokens: parseInteger(arg('max-tokens', '48'), '--max-tokens', POSITIVE),
      seed: 42,
      maxLayerFraction,
      scoreAllLayers: has('score-all-layers'),
      calibration: calibrationSource('generic'),
      batchSize,
      progress,
      log: (l) => process.stderr.write(`study: ${l}\n`),
    },
  );
  process.stderr.write(`${textSummary(out.summary)}\n`);
  result = { methods: studyMethods, aird: has('aird') };
}
const totalWall = performance.now() - w0;
const cpu = process.cpuUsage(c0);
const totalCpu = (cpu.user + cpu.system) / 1000;
process.stderr.write(`\n${clock.table(totalWall, totalCpu)}\n`);
const json = {
  bench: studyMethods ? 'study' : 'direction',
  model: synthetic || path.basename(modelDir),
  date: new Date().toISOString(),
  adapter: backend.resident ? describeAdapter(backend.resident.adapter) : 'none (not webgpu)',
  data: useShared ? '../shared/data splits' : 'data/prompts',
  backend: model.backendName,
  precision: model.precision,
  cpus: os.cpus().length,
  threads: process.env.GLASSBOX_THREADS ?? `default (${os.availableParallelism()})`,
  loadavgBefore,
  loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  settings: {
    nTrain,
    nVal,
    batchSize,
    maxLayerFraction,
    induceFromResiduals: !has('induce-full'),
    scoreAllLayers: has('score-all-layers'),
    allScores: has('all-scores'),
  },
  phases: clock.json(),
  totalWallS: +(totalWall / 1000).toFixed(1),
  totalCpuS: +(totalCpu / 1000).toFixed(1),
  ...result,
};
emitJson(json, arg('out', ''));
// the webgpu device (and wasm-simd's worker pool) would keep the process alive after the JSON: device-check.sh's
// timeout then recorded a finished run as a failure
model.dispose();
backend.dispose();
process.exit(0);
