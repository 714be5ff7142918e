/**
 * Decode benchmark: prefill and decode tokens/s and peak RSS, for f32 / int8 / int4, on the embedded
 * tiny-chat model and on a synthetic Qwen2.5-0.5B-shaped model (hidden 896, 24 layers, 14/2 heads,
 * intermediate 4864, vocab 151936, tied; seeded random weights generated here, never stored).
 * Each configuration runs in its own child process so that its peak RSS is its own.
 * With --backend webgpu the model runs resident on the device (models/resident.ts); rows then also carry
 * the adapter, GPU memory (weights, and the peak during the run incl. KV cache and activations) and submits
 * per decode step. On a software adapter (SwiftShader) the numbers say nothing about GPU speed.
 *
 *   npm run bench:decode [-- --json] [--models tiny-chat,qwen0.5b,llama1b] [--precisions f32,int8,int4]
 *                        [--prompt 32] [--tokens 32] [--backend NAME]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { projectRootFrom } from './root.ts';
import { describeAdapter } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend, BackendName } from '../kernels/types.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { Model, WeightPrecision } from '../models/types.ts';
import { QWEN_05B_SHAPE } from './shapes.ts';
import { measureReadBandwidth } from './bandwidth.ts';
import { measureDotCeiling } from './dot-ceiling.ts';
import { linearBytes } from '../engine/memory-estimate.ts';
import type { ModelConfig } from '../engine/types.ts';

const TINY = path.join(projectRootFrom(import.meta.url), 'models/tiny-chat');

interface Row {
  model: string;
  precision: WeightPrecision;
  backend: string;
  /** wasm-simd int8/int4 kernels: default (int16 activations), relaxed-int4 (GLASSBOX_RELAXED_SIMD=1) or exact. */
  kernels: string;
  threads: number;
  loadS: number;
  promptTokens: number;
  prefillTokensPerS: number;
  decodeTokens: number;
  decodeTokensPerS: number;
  peakRssMB: number;
  /**
   * Linear weight bytes one decode step streams (all blocks plus the lm_head, at the run precision; from the config,
   * engine/memory-estimate.ts linearBytes: layout padding not counted), and the resulting GB/s at the decode speed.
   */
  decodeWeightBytes?: number;
  decodeWeightGBs?: number;
  /**
   * The prefill's linear work (every block's linears for each prompt token, the lm_head for the last one) and its
   * rate at the prefill speed: 2 FLOP per weight and token, what the integer-dot ceiling is counted in.
   */
  prefillLinearGflop?: number;
  prefillLinearGflops?: number;
  /** webgpu: the adapter, whether the model ran resident, GPU MB (weights; peak), submits per decode step. */
  adapter?: string;
  resident?: boolean;
  gpuWeightsMB?: number;
  gpuPeakMB?: number;
  submitsPerDecodeStep?: number;
}

async function build(name: string, precision: WeightPrecision, backendName?: BackendName): Promise<Model> {
  const backend = await createBackend(backendName);
  if (name === 'tiny-chat') return loadModel(TINY, { precision, backend, retainWeights: false });
  if (name === 'qwen0.5b') {
    const cfg = syntheticConfig(QWEN_05B_SHAPE);
    return new DecoderModel(syntheticProvider(cfg, 1), { backend, precision, retainWeights: false });
  }
  if (name === 'llama1b') {
    // Llama-3.2-1B's shapes (untied here so the int8 unembedding is exercised as a separate matrix).
    const cfg = syntheticConfig({
      family: 'llama',
      nLayers: 16,
      dModel: 2048,
      nHeads: 32,
      nKvHeads: 8,
      dMlp: 8192,
      vocabSize: 128256,
      tied: false,
      maxPositions: 131072,
    });
    return new DecoderModel(syntheticProvider(cfg, 1), { backend, precision, retainWeights: false });
  }
  throw new Error(`unknown model ${name} (tiny-chat, qwen0.5b, llama1b)`);
}

function backendOf(model: Model): Backend | undefined {
  return (model as unknown as { backend?: Backend }).backend;
}

/** One block's linears as [out, in] shapes: q, k, v, o, the MLP's input side (gate and up, or up) and down. */
function blockLinears(c: ModelConfig): [number, number][] {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const mlpIn: [number, number][] = c.capabilities.gatedMlp
    ? [
        [c.dMlp, c.dModel],
        [c.dMlp, c.dModel],
      ]
    : [[c.dMlp, c.dModel]];
  return [[q, c.dModel], [kv, c.dModel], [kv, c.dModel], [c.dModel, q], ...mlpIn, [c.dModel, c.dMlp]];
}

function decodeStream(c: ModelConfig, precision: WeightPrecision, tokPerS: number): Pick<Row, 'decodeWeightBytes' | 'decodeWeightGBs'> {
  const per = (n: number, k: number) =>
    precision === 'bf16' ? 2 * n * k : linearBytes(n, k, precision === 'int8' || precision === 'int4' ? precision : 'f32');
  const block = blockLinears(c).reduce((s, [n, k]) => s + per(n, k), 0);
  const bytes = c.nLayers * block + per(c.vocabSize, c.dModel);
  return { decodeWeightBytes: bytes, decodeWeightGBs: (bytes * tokPerS) / 1e9 };
}

function prefillLinear(c: ModelConfig, promptLen: number, tokPerS: number) {
  const block = blockLinears(c).reduce((s, [n, k]) => s + n * k, 0);
  const gflop = (2 * (promptLen * c.nLayers * block + c.vocabSize * c.dModel)) / 1e9;
  return { prefillLinearGflop: gflop, prefillLinearGflops: (gflop * tokPerS) / promptLen };
}

async function runOne(
  name: string,
  precision: WeightPrecision,
  promptLen: number,
  tokens: number,
  backendName?: BackendName,
): Promise<Row> {
  const t0 = performance.now();
  const model = await build(name, precision, backendName);
  const loadS = (performance.now() - t0) / 1000;
  const V = model.config.vocabSize;
  const prompt = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % V);
  await model.generate([prompt.slice(0, 4)], { maxNewTokens: 2, stopTokens: [] }); // warm-up (kernel compile, pools)
  const rt = backendOf(model)?.resident;
  const submits0 = rt?.submits ?? 0;
  const g = await model.generate([prompt], { maxNewTokens: tokens, stopTokens: [], checkFinite: true });
  const gpu = rt
    ? {
        adapter: describeAdapter(rt.adapter),
        resident: (model as DecoderModel).residentActive,
        gpuWeightsMB: ((model as unknown as { resident: { weightBytes: number } | null }).resident?.weightBytes ?? 0) / 2 ** 20,
        gpuPeakMB: rt.peakAllocated / 2 ** 20,
        submitsPerDecodeStep: (rt.submits - submits0 - 1) / Math.max(tokens - 1, 1),
      }
    : {};
  const row: Row = {
    ...gpu,
    model: name,
    precision,
    backend: model.backendName,
    // wasm-simd int8/int4 kernels in use (the environment selects them, see kernels/README.md)
    kernels: process.env.GLASSBOX_EXACT === '1' ? 'exact' : process.env.GLASSBOX_RELAXED_SIMD === '1' ? 'relaxed-int4' : 'default',
    threads: 0,
    loadS,
    promptTokens: promptLen,
    prefillTokensPerS: promptLen / (g.prefillMs / 1000),
    // The last token needs no forward pass: tokens - 1 decode steps.
    decodeTokens: tokens,
    decodeTokensPerS: (tokens - 1) / (g.decodeMs / 1000),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    ...decodeStream(model.config, precision, (tokens - 1) / (g.decodeMs / 1000)),
    ...prefillLinear(model.config, promptLen, promptLen / (g.prefillMs / 1000)),
  };
  model.dispose();
  return row;
}

const program = new Command()
  .option('--json', 'print one JSON object')
  .option('--models <list>', 'tiny-chat,qwen0.5b (also: llama1b, a Llama-3.2-1B-shaped model)', 'tiny-chat,qwen0.5b')
  .option('--precisions <list>', 'f32,int8,int4 (also bf16)', 'f32,int8,int4')
  .option('--prompt <n>', 'prompt tokens', '32')
  .option('--tokens <n>', 'new tokens', '32')
  .option('--backend <name>', 'backend (default: createBackend())')
  .option('--one <model:precision>', 'internal: run one configuration and print its row as JSON');
program.parse();
const o = program.opts<{
  json?: boolean;
  models: string;
  precisions: string;
  prompt: string;
  tokens: string;
  backend?: BackendName;
  one?: string;
}>();

if (o.one) {
  const [m, p] = o.one.split(':');
  const row = await runOne(m, p as WeightPrecision, Number(o.prompt), Number(o.tokens), o.backend);
  row.threads = Number(process.env.GLASSBOX_THREADS) || 0;
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}

// DRAM read bandwidth in this run, as the wasm kernels see it (2 threads), for the decode rows' GB/s to compare with.
const bw = measureReadBandwidth(2, 512 << 20, 5);
// The integer-dot compute ceiling on 2 threads (bench/dot-ceiling.ts), for the prefill rows' linear GFLOP/s.
const dot = measureDotCeiling(2);
const rows: Row[] = [];
for (const m of o.models.split(','))
  for (const p of o.precisions.split(',')) {
    // the esbuild bundle (bench/device/, GPU machines without node_modules) runs without tsx
    const self = fileURLToPath(import.meta.url);
    const args = [
      ...(self.endsWith('.mjs') ? [] : ['--import', 'tsx']),
      self,
      '--one',
      `${m}:${p}`,
      '--prompt',
      o.prompt,
      '--tokens',
      o.tokens,
    ];
    if (o.backend) args.push('--backend', o.backend);
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      process.stderr.write(`bench:decode ${m} ${p} failed (exit ${r.status}):\n${r.stderr}\n`);
      process.exitCode = 1;
      continue;
    }
    const row = JSON.parse(line) as Row;
    rows.push(row);
    if (!o.json)
      process.stderr.write(
        `${m.padEnd(10)} ${p.padEnd(5)} ${row.backend}: load ${row.loadS.toFixed(1)} s, prefill ${row.prefillTokensPerS.toFixed(1)} tok/s (${row.promptTokens}; linears ${row.prefillLinearGflops!.toFixed(1)} GFLOP/s${isInt(row) ? ` = ${((100 * row.prefillLinearGflops!) / dot.bestGflops).toFixed(0)}% of the integer-dot ceiling` : ''}), decode ${row.decodeTokensPerS.toFixed(2)} tok/s (${row.decodeTokens}; weights ${row.decodeWeightGBs!.toFixed(1)} GB/s = ${((100 * row.decodeWeightGBs!) / bw.medianGBs).toFixed(0)}% of the read probe), peak RSS ${row.peakRssMB.toFixed(0)} MB${row.adapter ? `, adapter ${row.adapter}, GPU weights ${row.gpuWeightsMB!.toFixed(0)} MB, GPU peak ${row.gpuPeakMB!.toFixed(0)} MB, ${row.submitsPerDecodeStep!.toFixed(2)} submits/step` : ''}\n`,
      );
  }
// The ceiling bounds the integer-dot kernels only (int8 / int4 weights on the wasm backend).
function isInt(r: Row): boolean {
  return (r.precision === 'int8' || r.precision === 'int4') && r.backend === 'wasm-simd';
}
const adapter = rows.find((r) => r.adapter)?.adapter ?? 'none (no webgpu row)';
const result = {
  loadavg: loadavg(),
  adapter,
  note: 'shared 2-core machine: numbers are noisy',
  readBandwidth: { ...bw, note: 'bench/bandwidth.ts sum_f32, 2 threads, measured before the rows in this run' },
  dotCeiling: { ...dot, note: 'bench/dot-ceiling.ts dot_peak, 2 threads, measured before the rows in this run' },
  rows: rows.map((r) => ({
    ...r,
    decodeFractionOfReadBandwidth: r.decodeWeightGBs! / bw.medianGBs,
    ...(isInt(r) ? { prefillFractionOfDotCeiling: r.prefillLinearGflops! / dot.bestGflops } : {}),
  })),
};
if (!o.json) {
  process.stderr.write(`read bandwidth (2 threads, same run): ${bw.medianGBs.toFixed(1)} GB/s median, ${bw.bestGBs.toFixed(1)} best\n`);
  process.stderr.write(
    `integer-dot ceiling (2 threads, same run): ${dot.bestGflops.toFixed(1)} GFLOP/s best, ${dot.medianGflops.toFixed(1)} median\n`,
  );
  for (const r of rows.filter(isInt))
    process.stderr.write(
      `${r.model} ${r.precision}: a prefill of ${r.promptTokens} tokens at 200 tok/s needs ${((r.prefillLinearGflop! * 200) / r.promptTokens).toFixed(1)} GFLOP/s of linears = ${((100 * r.prefillLinearGflop! * 200) / r.promptTokens / dot.bestGflops).toFixed(0)}% of the ceiling\n`,
    );
}
if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
