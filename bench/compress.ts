/**
 * Benchmark: compressing the Qwen2.5-0.5B-shaped synthetic model (f32) as the study does: its calibration (the shipped
 * generic text, 2 × 16 paragraphs), its batch size, each method in turn. Per method: wall and CPU seconds, and the
 * share spent in the model's forwards (the calibration runs) against the method's own arithmetic. For scale, the
 * same run times one forward of the whole calibration set from the embedding (before the calibration stream,
 * analysis/compress/calibration-stream.ts, a sequential method ran one such forward per layer), its linear layers'
 * GFLOP/s, and the f32 matmul alone (matmulProbe, median of 7) to read them against. One run per method: a
 * pipeline time, as bench:direction's.
 *   npm run bench:compress [-- --methods wanda-50,int8] [--n-calibration N] [--batch-size N] [--out FILE.json]
 * Prints a table on stderr, JSON on stdout (and to --out).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { compressModel, linearRoles } from '../analysis/compress/apply.ts';
import { collectInputStats } from '../analysis/compress/calibrate.ts';
import { calibrationSequences } from '../analysis/compress/calibration-data.ts';
import { parseMethods } from '../analysis/compress/methods.ts';
import { calibrationSource } from '../cli/commands/study.ts';
import { parseInteger } from '../engine/numbers.ts';
import { createBackend } from '../kernels/select.ts';
import type { Model } from '../models/types.ts';
import { emitJson } from './emit-json.ts';
import { matmulProbe } from './matmul-probe.ts';
import { qwenSynthetic } from './qwen-synthetic.ts';
import { projectRootFrom } from './root.ts';

const root = projectRootFrom(import.meta.url);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const methods = parseMethods(arg('methods', 'wanda-50'));
const nCal = parseInteger(arg('n-calibration', '16'), '--n-calibration', { min: 1 });
const batchSize = parseInteger(arg('batch-size', '32'), '--batch-size', { min: 1 });

/** Times every forward of `m` and of its clones (compressModel works on a clone). */
function timedForwards(m: Model, acc: { ms: number; calls: number }): Model {
  return new Proxy(m, {
    get(t, p) {
      if (p === 'forward')
        return async (...a: Parameters<Model['forward']>) => {
          const t0 = performance.now();
          try {
            return await t.forward(...a);
          } finally {
            acc.ms += performance.now() - t0;
            acc.calls++;
          }
        };
      if (p === 'clone') return () => timedForwards(t.clone(), acc);
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const backend = await createBackend();
const model = await qwenSynthetic(root, backend, 'f32', true);
const cal = calibrationSequences(model, calibrationSource('generic'), { n: 2 * nCal, harmfulTrain: [], harmlessTrain: [] });
const tokens = cal.ids.reduce((s, q) => s + q.length, 0);
const L = model.config.nLayers;

// One forward of the calibration set from the embedding, statistics at every layer.
let t0 = performance.now();
await collectInputStats(model, cal.ids, [...Array(L).keys()], {}, batchSize);
const fullForwardS = (performance.now() - t0) / 1000;
// Its linear layers' rate, against the f32 matmul alone measured in the same run (this VM has slow periods).
let linearParams = 0;
for (let l = 0; l < L; l++)
  for (const r of linearRoles(model)) linearParams += model.getLinear(l, r).weight.n * model.getLinear(l, r).weight.k;
const fullForwardGflops = (2 * tokens * linearParams) / (fullForwardS * 1e9);
const c = model.config;
const probe = await matmulProbe(backend, 'f32', c.dMlp * (c.capabilities.gatedMlp ? 2 : 1), c.dModel, 256);

const rows = [];
for (const method of methods) {
  const acc = { ms: 0, calls: 0 };
  const c0 = process.cpuUsage();
  t0 = performance.now();
  const c = await compressModel(timedForwards(model, acc), method, {
    calibration: cal.ids,
    batchSize,
    // Progress: one line per block (a 0.5B block takes seconds to minutes, by method).
    onLayer: (l, n) =>
      process.stderr.write(`${method.name}: block ${l + 1}/${n} done at ${((performance.now() - t0) / 1000).toFixed(1)} s\n`),
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  c.model.dispose();
  rows.push({
    method: method.name,
    wallS: +wallS.toFixed(2),
    cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    forwardS: +(acc.ms / 1000).toFixed(2),
    forwardCalls: acc.calls,
    methodS: +(wallS - acc.ms / 1000).toFixed(2),
  });
}

const pad = (v: unknown, w: number) => String(v).padStart(w);
process.stderr.write(
  `calibration: ${cal.label}, ${tokens} tokens; one forward of it from the embedding (stats at every layer): ${fullForwardS.toFixed(2)} s ` +
    `= ${fullForwardGflops.toFixed(1)} GFLOP/s of linear layers; the f32 matmul alone, same run: ${probe.gflops.toFixed(1)} GFLOP/s ` +
    `(${probe.shape}, median of ${probe.calls})\n` +
    `${'method'.padEnd(16)}${pad('wall s', 10)}${pad('CPU s', 10)}${pad('forwards s', 12)}${pad('calls', 7)}${pad('method s', 10)}\n` +
    rows
      .map(
        (r) =>
          `${r.method.padEnd(16)}${pad(r.wallS, 10)}${pad(r.cpuS, 10)}${pad(r.forwardS, 12)}${pad(r.forwardCalls, 7)}${pad(r.methodS, 10)}`,
      )
      .join('\n') +
    '\n',
);
emitJson(
  {
    bench: 'compress',
    model: 'qwen0.5b (synthetic, f32)',
    date: new Date().toISOString(),
    backend: model.backendName,
    cpus: os.cpus().length,
    threads: process.env.GLASSBOX_THREADS ?? `default (${os.availableParallelism()})`,
    loadavgBefore,
    loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
    calibration: { label: cal.label, sequences: cal.ids.length, tokens, batchSize },
    nLayers: L,
    fullForwardS: +fullForwardS.toFixed(2),
    fullForwardLinearGflops: +fullForwardGflops.toFixed(1),
    matmulProbe: probe,
    methods: rows,
  },
  arg('out', ''),
);
model.dispose();
backend.dispose();
process.exit(0);
