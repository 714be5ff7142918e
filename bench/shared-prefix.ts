/**
 * Benchmark: one ablation pass (the direction pipeline's unit of work) on a Qwen2.5-0.5B-shaped synthetic model, run
 * two ways in alternating rounds in one process (this VM has slow periods, so separate runs do not compare):
 *  - now: as `lastLogits` runs it, with a prefix every prompt of a batch shares run once (models/shared-prefix.ts)
 *    and the MLP skipping padding rows (models/pad-rows.ts);
 *  - whole batch: as every forward ran before those changes, forced by caching one position counted from the start
 *    (which neither cut allows) and cut into batches by the old plan (the shared prefix counted in the 256-token cap).
 * Checks that both give the same logits bit for bit, and prints medians (min–max) per way with the int8 matmul's
 * GFLOP/s measured in the same run. --system puts Qwen2.5's default system message in front of every prompt (what
 * that template does to a prompt without a system turn), tokenized by the embedded tokenizer.
 *   npm run bench:prefix [-- --rounds N --n-val N --system --out FILE.json]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { projectRootFrom } from './root.ts';
import { emitJson } from './emit-json.ts';
import { matmulProbe } from './matmul-probe.ts';
import { qwenSynthetic, valPrompts } from './qwen-synthetic.ts';
import { PREFILL_BATCH_TOKENS, lengthBatches } from '../analysis/batches.ts';
import { ablationHooks } from '../analysis/interventions.ts';
import { prefillPlan } from '../analysis/model-runs.ts';
import type { LengthBatch } from '../analysis/batches.ts';
import { parseInteger } from '../engine/numbers.ts';
import { createBackend } from '../kernels/select.ts';
import { sharedPrefixLength } from '../models/shared-prefix.ts';
import type { ForwardOptions } from '../models/types.ts';

const root = projectRootFrom(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const rounds = parseInteger(arg('rounds', '5'), '--rounds', { min: 1, max: 100 });
const nVal = parseInteger(arg('n-val', '32'), '--n-val', { min: 1 });
const system = process.argv.includes('--system');
const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();

const backend = await createBackend();
const model = await qwenSynthetic(root, backend, 'int8');
const cfg = model.config;
const tok = model.tokenizer!;
const val = valPrompts(root, model, nVal);
let prompts = [...val.harmful, ...val.harmless];
if (system) {
  const sys = tok.encode('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n', {
    addSpecialTokens: false,
  });
  prompts = prompts.map((p) => [p[0], ...sys, ...p.slice(1)]);
}

const r = Float32Array.from({ length: cfg.dModel }, (_, i) => Math.sin(i * 0.37));
const norm = Math.hypot(...r);
const hooks = ablationHooks(r.map((x) => x / norm));
const ways: Record<'now' | 'whole', { plan: LengthBatch<number[]>[]; opts: ForwardOptions }> = {
  now: { plan: prefillPlan(prompts), opts: { hooks, logits: 'last' } },
  whole: {
    plan: lengthBatches(prompts, 32, PREFILL_BATCH_TOKENS),
    opts: { hooks, logits: 'last', cache: ['ln_final.hook_normalized'], cachePositions: [0] },
  },
};

async function pass(way: 'now' | 'whole'): Promise<{ seconds: number; logits: Float32Array }> {
  const v = cfg.vocabSize;
  const logits = new Float32Array(prompts.length * v);
  const t0 = performance.now();
  for (const { indices, items } of ways[way].plan) {
    const res = await model.forward(items, ways[way].opts);
    indices.forEach((i, row) => logits.set(res.logits.subarray(row * v, (row + 1) * v), i * v));
  }
  return { seconds: (performance.now() - t0) / 1000, logits };
}

const seconds: Record<'now' | 'whole', number[]> = { now: [], whole: [] };
let identical = true;
for (let k = 0; k < rounds; k++) {
  const a = await pass('now');
  const b = await pass('whole');
  seconds.now.push(a.seconds);
  seconds.whole.push(b.seconds);
  const x = new Uint32Array(a.logits.buffer);
  const y = new Uint32Array(b.logits.buffer);
  for (let i = 0; i < x.length && identical; i++) identical = x[i] === y[i];
  process.stderr.write(`round ${k + 1}/${rounds}: now ${a.seconds.toFixed(2)} s, whole batch ${b.seconds.toFixed(2)} s\n`);
}
const probe = await matmulProbe(backend, 'int8', cfg.dMlp * 2, cfg.dModel, 256);
const stats = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median: +median.toFixed(3), min: +s[0].toFixed(3), max: +s[s.length - 1].toFixed(3) };
};
const padded = (plan: LengthBatch<number[]>[]) => plan.reduce((n, b) => n + b.items.length * Math.max(...b.items.map((x) => x.length)), 0);
const json = {
  bench: 'shared-prefix',
  model: 'qwen0.5b (synthetic, int8)',
  date: new Date().toISOString(),
  data: val.source,
  systemMessage: system,
  cpus: os.cpus().length,
  loadavgBefore,
  loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  prompts: prompts.length,
  realTokens: prompts.reduce((n, p) => n + p.length, 0),
  sharedPrefixTokens: sharedPrefixLength(prompts),
  batches: { now: ways.now.plan.length, whole: ways.whole.plan.length },
  paddedTokens: { now: padded(ways.now.plan), whole: padded(ways.whole.plan) },
  rounds,
  secondsPerPass: { now: stats(seconds.now), whole: stats(seconds.whole), all: seconds },
  speedupOfMedians: +(stats(seconds.whole).median / stats(seconds.now).median).toFixed(3),
  bitIdentical: identical,
  matmulProbe: probe,
};
const s = json.secondsPerPass;
process.stderr.write(
  `\n| way         | median s | min–max s   |\n| ----------- | -------: | ----------- |\n` +
    `| whole batch | ${s.whole.median.toFixed(2).padStart(8)} | ${s.whole.min.toFixed(2)}–${s.whole.max.toFixed(2)} |\n` +
    `| now         | ${s.now.median.toFixed(2).padStart(8)} | ${s.now.min.toFixed(2)}–${s.now.max.toFixed(2)} |\n` +
    `${json.sharedPrefixTokens} shared tokens, ${json.realTokens} real tokens; speedup of medians ${json.speedupOfMedians}x; ` +
    `bit-identical: ${identical}; int8 matmul in this run ${probe.gflops.toFixed(0)} GFLOP/s (${probe.shape}, median of ${probe.calls})\n`,
);
emitJson(json, arg('out', ''));
model.dispose();
backend.dispose();
process.exit(identical ? 0 : 1);
