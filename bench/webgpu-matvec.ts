/**
 * The resident WGSL Linear kernels (kernels/webgpu/linear.ts) timed on the device: per shape and format,
 * `reps` dispatches recorded into one submit (so per-call submit/map overhead is amortized), median of
 * `runs` such batches; prints a table on stderr and one JSON object on stdout, with the adapter. Weight
 * GB/s = packed weight bytes / time per call (decode shapes stream the whole matrix once per call; with
 * 11008x4096 int4 = 24 MB, more than most GPU L2 caches). On a software adapter the numbers are CPU numbers.
 *
 *   node --import tsx bench/webgpu-matvec.ts [--shapes 1x4096x11008,...] [--formats f32,int8,int4] [--reps 50] [--runs 5]
 */
import { loadavg } from 'node:os';
import { describeAdapter } from '../kernels/gpujs/webgpu.ts';
import { recordLinear, uploadLinear, freeLinear } from '../kernels/webgpu/linear.ts';
import { WgpuRuntime } from '../kernels/webgpu/runtime.ts';
import { benchWeight, type BenchFormat } from './gpujs-shapes.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const shapes = arg('shapes', '1x896x4864,1x4864x896,1x2048x8192,1x4096x11008,128x2048x2048')
  .split(',')
  .map((s) => s.split('x').map(Number));
const formats = arg('formats', 'f32,int8,int4').split(',') as BenchFormat[];
const reps = Number(arg('reps', '50'));
const runs = Number(arg('runs', '5'));

const rt = await WgpuRuntime.create();
const rows: Record<string, number | string>[] = [];
for (const [t, k, n] of shapes) {
  for (const f of formats) {
    const w = benchWeight(f, n, k);
    const h = uploadLinear(rt, w, `${f} ${n}x${k}`);
    const x = rt.upload(
      Float32Array.from({ length: t * k }, (_, i) => ((i * 37) % 101) / 101 - 0.5),
      'x',
    );
    const y = rt.tensor(t * n, 'y');
    recordLinear(rt, h, x, t, y, null); // warm-up: pipeline compile
    await rt.read([{ t: y, length: 1 }]);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) recordLinear(rt, h, x, t, y, null);
      await rt.read([{ t: y, length: 1 }]);
      times.push((performance.now() - t0) / reps);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    const row = {
      shape: `${t}x${k}x${n}`,
      format: f,
      weightMB: +(h.bytes / 1e6).toFixed(1),
      msPerCall: +ms.toFixed(4),
      minMs: +times[0].toFixed(4),
      weightGBs: +(h.bytes / 1e9 / (ms / 1000)).toPrecision(3),
      gflops: +((2 * t * k * n) / 1e9 / (ms / 1000)).toPrecision(3),
    };
    rows.push(row);
    process.stderr.write(
      `${row.shape.padEnd(14)} ${f.padEnd(5)} ${String(row.weightMB).padStart(7)} MB  ${row.msPerCall.toFixed(3).padStart(9)} ms  ${String(row.weightGBs).padStart(7)} GB/s  ${String(row.gflops).padStart(8)} GFLOP/s\n`,
    );
    freeLinear(rt, h);
    rt.free(x);
    rt.free(y);
  }
}
process.stdout.write(
  `${JSON.stringify({ adapter: describeAdapter(rt.adapter), serial: rt.serial, reps, runs, loadavg: loadavg(), rows })}\n`,
);
rt.dispose();
process.exit(0);
