/**
 * Benchmark: one candidate's scoring work on a Qwen2.5-0.5B-shaped synthetic model (bench/direction.ts builds the
 * same model): the base run keeping residuals, one bypass pass (ablation over harmful val), one KL pass (ablation over
 * harmless val), one induce run from the embedding and one from a middle block. Minutes instead of the full run's
 * half hour, so it is the one to profile (GLASSBOX_THREADS=1 node --cpu-prof --import tsx bench/direction-unit.ts) and
 * to extrapolate the scoring phase from: every candidate's bypass, plus induce and KL for as many candidates as the
 * selection visits (analysis/direction/lazy-scores.ts: one at best, all with --all-scores or without a survivor).
 * With --profile, every backend op is timed (kernels/profile.ts) and the bypass pass's per-op wall time is printed and
 * kept as `bypassOps`: what the forward spends outside the ops (hooks, copies, bookkeeping) is the rest of its time.
 *   npm run bench:direction-unit [-- --n-val N --batch-size N --layer L --precision P --profile --out FILE.json]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { projectRootFrom } from './root.ts';
import { emitJson } from './emit-json.ts';
import { PhaseClock } from './phase-clock.ts';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import { lastLogits, lastLogitsFrom, lastLogitsKeepingResiduals, prefillPlan } from '../analysis/model-runs.ts';
import { maxLayerOf } from '../analysis/direction/selection.ts';
import { parseInteger } from '../engine/numbers.ts';
import type { WeightPrecision } from '../models/types.ts';
import { createBackend } from '../kernels/select.ts';
import { profileBackend } from '../kernels/profile.ts';
import { QWEN_05B_SHAPE } from './shapes.ts';
import { qwenSynthetic, valPrompts } from './qwen-synthetic.ts';

const root = projectRootFrom(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const nVal = parseInteger(arg('n-val', '32'), '--n-val', { min: 1 });
const batchSize = parseInteger(arg('batch-size', '32'), '--batch-size', { min: 1 });
const L = QWEN_05B_SHAPE.nLayers;
const layer = parseInteger(arg('layer', String(Math.floor(L / 2) - 3)), '--layer', { min: 1, max: L - 1 });
const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const clock = new PhaseClock();
const w0 = performance.now();
const c0 = process.cpuUsage();

let stop = clock.begin('build model');
const backend = await createBackend();
const profiler = process.argv.includes('--profile') ? profileBackend(backend) : null;
const model = await qwenSynthetic(root, backend, arg('precision', 'int8') as WeightPrecision);
const cfg = model.config;
const tok = model.tokenizer;
stop();
const { harmful, harmless, source } = valPrompts(root, model, nVal);
const both = [...harmful, ...harmless];
const padded = (ps: number[][], sorted: boolean) => {
  let n = 0;
  if (sorted) for (const b of prefillPlan(ps, { batchSize })) n += b.items.length * Math.max(...b.items.map((p) => p.length));
  else
    for (let s = 0; s < ps.length; s += batchSize)
      n += Math.min(batchSize, ps.length - s) * Math.max(...ps.slice(s, s + batchSize).map((p) => p.length));
  return n;
};
const r = Float32Array.from({ length: cfg.dModel }, (_, i) => Math.sin(i * 0.37));
const scoredLayers = Array.from({ length: maxLayerOf(L, 0.8) - 1 }, (_, i) => i + 1);

stop = clock.begin('score: base run (residuals kept)');
const { cache } = await lastLogitsKeepingResiduals(model, harmless, scoredLayers, { batchSize });
stop();
profiler?.reset();
const b0 = performance.now();
stop = clock.begin('score: bypass (ablation)');
await lastLogits(model, harmful, { batchSize, hooks: ablationHooks(r) });
stop();
const bypassMs = performance.now() - b0;
const bypassOps = profiler?.snapshot();
stop = clock.begin('score: KL (ablation)');
await lastLogits(model, harmless, { batchSize, hooks: ablationHooks(r) });
stop();
// The code before length-sorted batches: list-order batches of batchSize prompts (harmful, then harmless).
stop = clock.begin('score: ablation, list-order batches (before)');
for (let s = 0; s < both.length; s += batchSize)
  await model.forward(both.slice(s, s + batchSize), { hooks: ablationHooks(r), logits: 'last' });
stop();
stop = clock.begin(`score: induce from the embedding`);
await lastLogits(model, harmless, { batchSize, hooks: [additionHook(r, layer)] });
stop();
stop = clock.begin(`score: induce from block ${layer}`);
await lastLogitsFrom(model, cache, layer, { hooks: [additionHook(r, layer)] });
stop();

const totalWall = performance.now() - w0;
const cpu = process.cpuUsage(c0);
process.stderr.write(`${clock.table(totalWall, (cpu.user + cpu.system) / 1000)}\n`);
const p = clock.phases;
const get = (k: string) => p.get(k)!;
// Induce from block l costs the blocks l..L-1 plus the unembedding: linear in (L - l) between the two measurements.
const full = get('score: induce from the embedding');
const mid = get(`score: induce from block ${layer}`);
const induceAt = (l: number, k: 'wallMs' | 'cpuMs') => mid[k] + ((full[k] - mid[k]) * (layer - l)) / layer;
const nPos = tok!.postInstructionIds().length;
/** Scoring time over nPos × scored layers: every bypass, and induce + KL for `visited` of them (all: every one). */
const extrapolate = (k: 'wallMs' | 'cpuMs', fromResiduals: boolean, all: boolean) => {
  const induceAll = scoredLayers.reduce((s, l) => s + (fromResiduals ? induceAt(l, k) : full[k]), 0);
  const later = all
    ? nPos * (induceAll + get('score: KL (ablation)')[k] * scoredLayers.length)
    : induceAt(1, k) + get('score: KL (ablation)')[k];
  return +((nPos * scoredLayers.length * get('score: bypass (ablation)')[k] + later) / 1000).toFixed(0);
};
const json = {
  bench: 'direction-unit',
  model: 'qwen0.5b',
  date: new Date().toISOString(),
  backend: model.backendName,
  precision: model.precision,
  cpus: os.cpus().length,
  threads: process.env.GLASSBOX_THREADS ?? `default (${os.availableParallelism()})`,
  loadavgBefore,
  loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  data: source,
  settings: { nVal, batchSize, layer },
  tokens: {
    real: both.reduce((s, q) => s + q.length, 0),
    realHarmful: harmful.reduce((s, q) => s + q.length, 0),
    realHarmless: harmless.reduce((s, q) => s + q.length, 0),
    ablationPaddedListOrder: padded(both, false),
    ablationPaddedLengthSorted: padded(both, true),
    inducePaddedListOrder: padded(harmless, false),
    inducePaddedLengthSorted: padded(harmless, true),
  },
  phases: clock.json(),
  extrapolatedScoring: {
    note: `an extrapolation, not a measurement: nPos ${nPos} x ${scoredLayers.length} scored layers x bypass, plus induce (linear in L - l) and KL for every candidate (allScores) or for one (the least the selection can visit)`,
    allScoresWallS: extrapolate('wallMs', true, true),
    allScoresCpuS: extrapolate('cpuMs', true, true),
    oneVisitedWallS: extrapolate('wallMs', true, false),
    oneVisitedCpuS: extrapolate('cpuMs', true, false),
    allScoresInduceFromEmbeddingWallS: extrapolate('wallMs', false, true),
  },
  totalWallS: +(totalWall / 1000).toFixed(1),
  totalCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1),
};
if (bypassOps) {
  const inOps = Object.values(bypassOps).reduce((a, v) => a + v.ms, 0);
  process.stderr.write(`bypass pass, ${bypassMs.toFixed(0)} ms wall: per op (calls, ms, share of the pass)\n`);
  for (const [op, v] of Object.entries(bypassOps).sort((a, b) => b[1].ms - a[1].ms))
    process.stderr.write(
      `  ${op.padEnd(12)} ${String(v.calls).padStart(5)} ${v.ms.toFixed(1).padStart(9)} ${((100 * v.ms) / bypassMs).toFixed(1).padStart(5)}%\n`,
    );
  process.stderr.write(
    `  ${'outside ops'.padEnd(12)} ${''.padStart(5)} ${(bypassMs - inOps).toFixed(1).padStart(9)} ${((100 * (bypassMs - inOps)) / bypassMs).toFixed(1).padStart(5)}%\n`,
  );
}
emitJson({ ...json, ...(bypassOps ? { bypassOps: { wallMs: +bypassMs.toFixed(1), ops: bypassOps } } : {}) }, arg('out', ''));
model.dispose();
backend.dispose();
