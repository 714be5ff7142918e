/**
 * Matmul benchmark: y[T, N] = x[T, K] · Wᵀ on random weights, for f32 / int8 (per-channel) / int4 (g128,
 * asymmetric) / int4s (g128, symmetric: no zero points), wasm-simd with 1 and 2 threads (and other
 * backends via kernels/select.ts createBackend).
 * Reports median ms, GFLOP/s, stored weight bytes, effective weight GB/s and its fraction of the
 * 2-thread DRAM read bandwidth measured in the same run (bench/bandwidth.ts), and the ratio to ggml's figures
 * on this machine kind (bench/ggml-figures.ts, from ../shared/docs/cpu-performance.md B8). Prefill rows (T > 1) of the
 * integer formats also get their fraction of the integer-dot ceiling (bench/dot-ceiling.ts: the prefill tile's inner
 * loop on L1-resident operands), the compute limit of WebAssembly's i32x4.dot_i16x8_s on this machine: probed at the
 * row's thread count right before and right after the row, because this VM's speed moves by up to 1.8x within
 * minutes and a probe taken at another moment would measure another machine.
 * Decode shapes (T = 1) stream their weights from DRAM, as ggml's were measured: the weight is uploaded as
 * enough distinct copies to exceed 8x the 32 MiB L3 and each call uses the next copy (--copies).
 * wasm-simd runs its default kernels (integer-dot for int8/int4, 16-bit activations); --kernels adds the exact
 * f32-activation kernels as "wasm-simd-exact" rows and the relaxed-SIMD int4 kernel (8-bit activations, when its
 * self-test passes) as "wasm-simd-relaxed" rows (default: default,relaxed).
 *
 *   npm run bench:matmul [-- --json] [--quick] [--backends wasm-simd,webasm] [--shapes 1x4096x11008,...]
 *                        [--dtypes f32,int8,int4,int4s] [--threads 1,2] [--kernels default,relaxed,exact]
 *                        [--copies auto|N] [--save bench/results/NAME.json]
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { Command } from 'commander';
import type { Backend, BackendName, LinearWeight } from '../kernels/types.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { measureReadBandwidth } from './bandwidth.ts';
import { createDotCeilingProbe, type DotCeilingProbe } from './dot-ceiling.ts';
import { GGML, GGML_RUN_BANDWIDTH_GBS } from './ggml-figures.ts';

/** Decode weights are copied until they exceed this (8x the 32 MiB L3), so every call reads from DRAM. */
const STREAM_BYTES = 256 << 20;

const DEFAULT_SHAPES = ['1x896x4864', '1x4864x896', '1x2048x8192', '1x4096x11008', '16x4096x4096', '128x2048x2048'];
const INT4_GROUP = 128;

interface Row {
  shape: string;
  dtype: string;
  backend: string;
  threads: number;
  /** Median and fastest call (the machine is shared: the fastest shows the uncontended speed). */
  ms: number;
  msMin: number;
  /**
   * 1-thread rows: the process's CPU time per call (median, min): time the kernel actually ran, so it does not
   * count waits for a core on a loaded machine (it still counts cache and DRAM contention). Absent for 2 threads.
   */
  cpuMs?: number;
  cpuMsMin?: number;
  gflops: number;
  weightBytes: number;
  weightGBs: number;
  bandwidthGBs: number;
  fractionOfBandwidth: number;
  /** Integer prefill rows: the integer-dot ceiling probed right before and after the row (the best of both). */
  dotCeilingGflops?: number;
  /** GFLOP/s over dotCeilingGflops. */
  fractionOfDotCeiling?: number;
  /** Distinct weight copies cycled through (1 = one weight reused, partly cache-resident). */
  copies: number;
  /** ggml's format and figure for this shape and thread count (decode ms or prefill GFLOP/s), if B8 has one. */
  ggmlFormat?: string;
  ggmlMs?: number;
  ggmlGflops?: number;
  /** Our speed / ggml's (> 1: faster than ggml). */
  speedVsGgml?: number;
}

/** xorshift32: fast deterministic fill (Math.random is too slow for 45M weights). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function makeWeight(dtype: string, n: number, k: number, r: () => number): LinearWeight {
  if (dtype === 'f32') {
    const w = new Float32Array(n * k);
    for (let i = 0; i < w.length; i++) w[i] = r() - 0.5;
    return { format: 'f32', n, k, w };
  }
  if (dtype === 'int8') {
    const q = new Int8Array(n * k);
    for (let i = 0; i < q.length; i++) q[i] = Math.floor(r() * 255) - 127;
    const scales = Float32Array.from({ length: n }, () => 0.01 * (1 + r()));
    return { format: 'int8', n, k, groupSize: k, q, scales };
  }
  const g = Math.ceil(k / INT4_GROUP);
  const packed = new Uint8Array(n * Math.ceil(k / 2));
  for (let i = 0; i < packed.length; i++) packed[i] = Math.floor(r() * 256);
  const scales = Float32Array.from({ length: n * g }, () => 0.01 * (1 + r()));
  const zeros = dtype === 'int4s' ? null : Uint8Array.from({ length: n * g }, () => Math.floor(r() * 16));
  return { format: 'int4', n, k, groupSize: INT4_GROUP, packed, scales, zeros };
}

const dtypeLabel = (dtype: string) => (dtype.startsWith('int4') ? `${dtype}-g${INT4_GROUP}` : dtype === 'int8' ? 'int8-ch' : dtype);

async function timeCalls(
  b: Backend,
  w: LinearWeight,
  t: number,
  reps: number,
  copies: number,
  r: () => number,
): Promise<{ ms: number; msMin: number; cpuMs: number; cpuMsMin: number; bytes: number }> {
  const hs = Array.from({ length: copies }, () => b.uploadLinear(w));
  const x = Float32Array.from({ length: t * w.k }, () => r() - 0.5);
  // One output array for every call, as a model's forward reuses its arrays (models/step-buffers.ts): a fresh one per
  // call is fresh pages from the OS until the allocator settles, which measured up to 1.6 ms of a 5 ms lm_head call.
  const out = new Float32Array(t * w.n);
  for (const h of hs) await b.linear(h, x, t, null, out);
  await b.linear(hs[0], x, t, null, out);
  const times: number[] = [];
  const cpu: number[] = [];
  const deadline = Date.now() + 1500;
  for (let i = 0; i < reps || (i < reps * 4 && Date.now() < deadline); i++) {
    const h = hs[(i + 1) % copies];
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await b.linear(h, x, t, null, out);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  times.sort((a, c) => a - c);
  cpu.sort((a, c) => a - c);
  return { ms: times[times.length >> 1], msMin: times[0], cpuMs: cpu[cpu.length >> 1], cpuMsMin: cpu[0], bytes: hs[0].bytes };
}

/** Stored bytes of a weight before upload (to size the copies). */
function approxBytes(w: LinearWeight): number {
  if (w.format === 'f32') return w.w.length * 4;
  if (w.format === 'bf16') return w.w.length * 2;
  return (w.format === 'int8' ? w.q.length : w.packed.length) + w.scales.length * 4;
}

async function otherBackend(name: string): Promise<Backend> {
  const url = new URL('../kernels/select.ts', import.meta.url);
  if (!existsSync(url)) throw new Error(`kernels/select.ts is missing: cannot create backend ${name}`);
  const { createBackend } = (await import(url.href)) as { createBackend(n: BackendName): Promise<Backend> };
  return createBackend(name as BackendName);
}

async function main() {
  const program = new Command()
    .option('--json', 'print one JSON object instead of a table')
    .option('--quick', 'fewer repetitions and a smaller bandwidth probe')
    .option('--backends <list>', 'comma-separated backends', 'wasm-simd')
    .option('--threads <list>', 'wasm-simd thread counts', '1,2')
    .option('--shapes <list>', 'TxKxN shapes', DEFAULT_SHAPES.join(','))
    .option('--dtypes <list>', 'f32,int8,int4,int4s (int4s: symmetric int4)', 'f32,int8,int4,int4s')
    .option(
      '--kernels <list>',
      'wasm-simd kernels: default (integer-dot, int16 activations), relaxed (int4 on relaxed SIMD), exact',
      'default,relaxed',
    )
    .option('--copies <n>', 'distinct weight copies for decode shapes (auto: > 256 MiB in all; prefill uses 1)', 'auto')
    .option('--save <file>', 'also write the JSON result here (e.g. bench/results/matmul-DATE.json)')
    .parse(process.argv);
  const o = program.opts<{
    json?: boolean;
    quick?: boolean;
    backends: string;
    threads: string;
    shapes: string;
    dtypes: string;
    kernels: string;
    copies: string;
    save?: string;
  }>();
  const loadBefore = loadavg();
  const reps = o.quick ? 5 : 15;
  const log = (s: string) => (o.json ? process.stderr.write(s + '\n') : console.log(s));

  // Measured before and after the matmuls; the best pass counts (contention only ever lowers it), so the
  // fractions below are conservative.
  const probeBytes = o.quick ? 256 << 20 : 512 << 20;
  const passes = o.quick ? 4 : 9;
  const bwBefore = measureReadBandwidth(2, probeBytes, passes);
  const bw1 = measureReadBandwidth(1, probeBytes, passes);
  log(
    `read bandwidth (sum_f32, ${bwBefore.bytes >> 20} MiB, before): 2 threads ${bwBefore.bestGBs.toFixed(1)} GB/s best, ${bwBefore.medianGBs.toFixed(1)} median; 1 thread ${bw1.bestGBs.toFixed(1)} best`,
  );
  const ceilingRuns = o.quick ? 3 : 7;
  // One probe per thread count for the whole run (its pool idles, asleep, while the rows are timed).
  const probes = new Map<number, DotCeilingProbe>();
  const probeFor = (threads: number) => {
    let p = probes.get(threads);
    if (!p) probes.set(threads, (p = createDotCeilingProbe(threads)));
    return p;
  };
  const dotBefore = [1, 2].map((th) => probeFor(th).measure(ceilingRuns));
  log(
    `integer-dot ceiling (dot_peak, L1 operands, before): 1 thread ${dotBefore[0].bestGflops.toFixed(1)} GFLOP/s best, 2 threads ${dotBefore[1].bestGflops.toFixed(1)}`,
  );

  // One phase per backend family, each created just before and disposed right after its rows: another
  // backend's idle worker threads must not compete for the 2 cores while wasm-simd is timed.
  const phases: (() => Promise<{ label: string; threads: number; b: Backend }[]>)[] = [];
  for (const name of o.backends
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (name === 'wasm-simd')
      for (const kern of o.kernels.split(',').map((s) => s.trim()))
        phases.push(async () =>
          o.threads
            .split(',')
            .map(Number)
            .map((th) => {
              if (!['default', 'exact', 'relaxed'].includes(kern)) throw new Error(`--kernels: unknown ${kern}`);
              const b = createWasmSimdBackend({ threads: th, exact: kern === 'exact', relaxedSimd: kern === 'relaxed' });
              if (kern === 'relaxed' && !b.relaxedSimd.enabled)
                log(`wasm-simd-relaxed: ${b.relaxedSimd.reason}; rows use the int16 kernels`);
              return { label: kern === 'default' ? name : `${name}-${kern}`, threads: th, b };
            }),
        );
    else
      phases.push(async () => {
        const b = await otherBackend(name);
        return [{ label: name, threads: b.threads, b }];
      });
  }

  const rows: Row[] = [];
  if (!o.json)
    console.log(
      'shape (TxKxN)    dtype     backend    thr  median ms   min ms  GFLOP/s  weight MB  weight GB/s  of read BW  copies  vs ggml',
    );
  for (const phase of phases) {
    const backends = await phase();
    const shapes = o.shapes.split(',');
    for (let si = 0; si < shapes.length; si++) {
      const shape = shapes[si];
      const [t, k, n] = shape.split('x').map(Number);
      const dtypes = o.dtypes.split(',');
      for (let di = 0; di < dtypes.length; di++) {
        const dtype = dtypes[di];
        const r = rng(1 + si * 16 + di);
        const w = makeWeight(dtype, n, k, r);
        for (const { label, threads, b } of backends) {
          try {
            const copies =
              t > 1 ? 1 : o.copies === 'auto' ? Math.max(2, Math.ceil(STREAM_BYTES / approxBytes(w))) : Math.max(1, Number(o.copies));
            // The ceiling bounds the integer-dot kernels (default and relaxed), not the exact f32-activation ones.
            const probe = t > 1 && dtype !== 'f32' && (label === 'wasm-simd' || label === 'wasm-simd-relaxed');
            const ceilingBefore = probe ? probeFor(threads).measure(3, 30).bestGflops : 0;
            const { ms, msMin, cpuMs, cpuMsMin, bytes } = await timeCalls(b, w, t, reps, copies, r);
            const ceiling = probe ? Math.max(ceilingBefore, probeFor(threads).measure(3, 30).bestGflops) : 0;
            const row: Row = {
              shape,
              dtype: dtypeLabel(dtype),
              backend: label,
              threads,
              ms,
              msMin,
              ...(threads === 1 ? { cpuMs, cpuMsMin } : {}),
              gflops: (2 * t * k * n) / ms / 1e6,
              weightBytes: bytes,
              weightGBs: bytes / ms / 1e6,
              bandwidthGBs: 0,
              fractionOfBandwidth: 0,
              copies,
              ...(probe ? { dotCeilingGflops: ceiling, fractionOfDotCeiling: (2 * t * k * n) / ms / 1e6 / ceiling } : {}),
            };
            const g = GGML[`${shape}:${dtype}`];
            if (g && (threads === 1 || threads === 2)) {
              row.ggmlFormat = g.format;
              if (g.ms) {
                row.ggmlMs = g.ms[threads - 1];
                row.speedVsGgml = row.ggmlMs / ms;
              } else if (g.gflops) {
                row.ggmlGflops = g.gflops[threads - 1];
                row.speedVsGgml = row.gflops / row.ggmlGflops;
              }
            }
            rows.push(row);
            if (!o.json)
              console.log(
                `${shape.padEnd(16)} ${row.dtype.padEnd(9)} ${label.padEnd(10)} ${String(threads).padStart(3)} ${ms.toFixed(3).padStart(10)} ${msMin.toFixed(3).padStart(8)} ${row.gflops.toFixed(1).padStart(8)} ${(bytes / 1e6).toFixed(1).padStart(10)} ${row.weightGBs.toFixed(1).padStart(12)} ${((100 * row.weightGBs) / bwBefore.bestGBs).toFixed(0).padStart(10)}% ${String(copies).padStart(7)} ${row.speedVsGgml ? `${row.speedVsGgml.toFixed(2)}x ${row.ggmlFormat}` : ''}${row.fractionOfDotCeiling ? `  ${(100 * row.fractionOfDotCeiling).toFixed(0)}% of the dot ceiling (${ceiling.toFixed(0)})` : ''}`,
              );
          } catch (e) {
            log(`${shape} ${dtype} ${label}: ${(e as Error).message}`);
          }
        }
      }
    }
    for (const { b } of backends) b.dispose();
  }
  const bwAfter = measureReadBandwidth(2, probeBytes, passes);
  const bandwidthGBs = Math.max(bwBefore.bestGBs, bwAfter.bestGBs);
  log(
    `read bandwidth (after): 2 threads ${bwAfter.bestGBs.toFixed(1)} GB/s best; used: ${bandwidthGBs.toFixed(1)} GB/s (table "of read BW" used the first probe)`,
  );
  const dotAfter = [1, 2].map((th) => probeFor(th).measure(ceilingRuns));
  for (const p of probes.values()) p.dispose();
  // The run's ceiling for the JSON, the best of both probes (the prefill rows' fractions use their own probes).
  const dotCeilingGflops = [0, 1].map((i) => Math.max(dotBefore[i].bestGflops, dotAfter[i].bestGflops));
  log(
    `integer-dot ceiling (after): 1 thread ${dotAfter[0].bestGflops.toFixed(1)}, 2 threads ${dotAfter[1].bestGflops.toFixed(1)} GFLOP/s (the prefill rows use their own probes, taken around each row)`,
  );
  for (const r of rows) {
    r.bandwidthGBs = bandwidthGBs;
    r.fractionOfBandwidth = r.weightGBs / bandwidthGBs;
  }
  // The second wave's targets (issue 11, clarifications.md "Kernel targets"), when their rows were measured.
  const find = (shape: string, dtype: string, threads = 2, backend = 'wasm-simd') =>
    rows.find((r) => r.shape === shape && r.dtype === dtypeLabel(dtype) && r.backend === backend && r.threads === threads);
  const [f32, i8, i4, i4s, pre, pre1] = [
    find('1x4096x11008', 'f32'),
    find('1x4096x11008', 'int8'),
    find('1x4096x11008', 'int4'),
    find('1x4096x11008', 'int4s'),
    find('128x2048x2048', 'int8'),
    find('128x2048x2048', 'int8', 1),
  ];
  const pct = (r: Row) => `${(r.fractionOfBandwidth * 100).toFixed(0)}%`;
  const pct100 = (f: number) => `${(f * 100).toFixed(0)}%`;
  const targets: Record<string, number> = {};
  if (i8) {
    targets.int8FractionOfReadBandwidth = i8.fractionOfBandwidth;
    log(`target int8 1x4096x11008 2T >= 75% of read BW: ${pct(i8)} (${i8.weightGBs.toFixed(1)} of ${bandwidthGBs.toFixed(1)} GB/s)`);
  }
  if (f32) log(`         f32 1x4096x11008 2T: ${pct(f32)} of read BW`);
  for (const [name, r] of [
    ['int4', i4],
    ['int4s', i4s],
    ['int4Relaxed', find('1x4096x11008', 'int4', 2, 'wasm-simd-relaxed')],
    ['int4sRelaxed', find('1x4096x11008', 'int4s', 2, 'wasm-simd-relaxed')],
  ] as const)
    if (r && i8) {
      targets[`${name}SpeedupOverInt8`] = i8.ms / r.ms;
      log(`target ${name} >= 1.6x int8 (1x4096x11008 2T): ${(i8.ms / r.ms).toFixed(2)}x (${r.ms.toFixed(2)} vs ${i8.ms.toFixed(2)} ms)`);
    }
  if (pre) {
    targets.prefillInt8Gflops2T = pre.gflops;
    targets.prefillInt8VsGgmlQ8_0 = pre.speedVsGgml ?? NaN;
    log(
      `target prefill 128x2048x2048 int8 >= ggml q8_0: 2T ${pre.gflops.toFixed(1)} GFLOP/s vs ${pre.ggmlGflops} (${pre.speedVsGgml?.toFixed(2)}x)` +
        (pre1 ? `; 1T ${pre1.gflops.toFixed(1)} vs ${pre1.ggmlGflops} (${pre1.speedVsGgml?.toFixed(2)}x)` : ''),
    );
    // ggml's figure against what WebAssembly's integer dot allows here: the target needs this share of the ceiling.
    for (const r of [pre1, pre])
      if (r?.ggmlGflops && r.dotCeilingGflops) {
        targets[`prefillInt8FractionOfDotCeiling${r.threads}T`] = r.fractionOfDotCeiling!;
        targets[`ggmlQ8_0FractionOfDotCeiling${r.threads}T`] = r.ggmlGflops / r.dotCeilingGflops;
        log(
          `         ${r.threads}T: ${pct100(r.fractionOfDotCeiling!)} of the integer-dot ceiling probed around the row (${r.dotCeilingGflops.toFixed(1)} GFLOP/s); ggml's ${r.ggmlGflops} would be ${pct100(r.ggmlGflops / r.dotCeilingGflops)} of it`,
        );
      }
  }
  const loadAfter = loadavg();
  log(
    `load average before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')} (2 cores)`,
  );
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGB: Math.round(totalmem() / 1e9), node: process.version };
  const result = {
    date: new Date().toISOString(),
    machine,
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
    bandwidthGBs,
    bandwidthBeforeGBs: bwBefore.bestGBs,
    bandwidthAfterGBs: bwAfter.bestGBs,
    bandwidth1ThreadGBs: bw1.bestGBs,
    dotCeilingGflops: { threads1: dotCeilingGflops[0], threads2: dotCeilingGflops[1], before: dotBefore, after: dotAfter },
    ggmlRunBandwidthGBs: GGML_RUN_BANDWIDTH_GBS,
    int4GroupSize: INT4_GROUP,
    targets,
    rows,
  };
  if (o.json) console.log(JSON.stringify(result, null, 1));
  if (o.save) {
    const tmp = `${o.save}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(result, null, 1) + '\n');
    renameSync(tmp, o.save);
    log(`saved ${o.save}`);
  }
}

await main();
