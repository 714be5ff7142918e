/**
 * Browser bench: tiny-chat greedy decode tokens/s in headless Chromium (the web app's engine worker) against Node,
 * on the same backend (wasm-simd) and thread count, plus the app's bundle size. Each side decodes the same fixed
 * prompt for --tokens tokens (end-of-sequence ignored) --runs times after one warm-up; the median and the range
 * are reported. Needs Debian's chromium and `npm run build:app`.
 *
 * On a shared machine wall-clock tok/s mostly measures run-queue waits; on Linux the bench also reports the CPU time
 * each side spent per generation (Node: process.cpuUsage; Chromium: every thread of its renderer processes, from
 * /proc/PID/task/TID/schedstat), which load from other processes inflates far less.
 *
 *   npm run bench:browser [-- --json] [--tokens 64] [--runs 5] [--threads 1,2]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { launchHeadless } from '../app/headless.ts';
import { startAppServer } from '../cli/app-server.ts';
import type { GenerateArgs, GenerateOutput } from '../app/protocol.ts';
import { parseInteger, parseIntegerList } from '../engine/numbers.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { loadModel } from '../models/load.ts';

const MODEL = 'models/tiny-chat';
const PROMPT = 'Write a short poem about the first snow of winter';

const opts = new Command()
  .option('--json', 'JSON only')
  .option('--tokens <n>', 'decoded tokens per run', '64')
  .option('--runs <n>', 'timed runs per side', '5')
  .option('--threads <list>', 'kernel threads to compare', '1,2')
  .parse()
  .opts<{ json?: boolean; tokens: string; runs: string; threads: string }>();
const tokens = parseInteger(opts.tokens, '--tokens', { min: 2 });
const runs = parseInteger(opts.runs, '--runs', { min: 1 });
const threadList = parseIntegerList(opts.threads, '--threads', { min: 1, max: 16 });

/** CPU ns of every thread of Chromium's renderer processes (Linux /proc), or null where that is not readable. */
function rendererCpuNs(): number | null {
  try {
    let ns = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.includes('--type=renderer')) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`))
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns;
  } catch {
    return null;
  }
}
const nodeCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

const build = JSON.parse(readFileSync('dist/app/build-info.json', 'utf8')) as {
  initialBytes: number;
  initialGzipBytes: number;
  lazy: Array<{ file: string; bytes: number }>;
};
const server = await startAppServer({ appDir: 'dist/app', modelDir: MODEL, port: 0 });
const browser = await launchHeadless();
type Row = { threads: number; node: ReturnType<typeof stats>; chromium: ReturnType<typeof stats>; ratio: number };
/** CPU ms per generation (median) on each side, and node/chromium: the speed ratio with run-queue waits left out. */
type CpuRow = { nodeMs: number; chromiumMs: number; ratio: number } | null;
const rows: Array<Row & { cpu: CpuRow }> = [];
try {
  for (const threads of threadList) {
    // Both sides stay loaded and their runs alternate, so load from other processes hits both alike.
    const model = await loadModel(MODEL, { backend: createWasmSimdBackend({ threads }), retainWeights: false });
    const { page } = await browser.open(`${server.url}?threads=${threads}`);
    await page.evaluate('window.glassbox.ready');
    const ids = model.tokenizer!.encodeChat(PROMPT);
    const args: GenerateArgs = { prompt: PROMPT, maxTokens: tokens, ignoreEos: true };
    const web: number[] = [];
    const node: number[] = [];
    const nodeCpu: number[] = [];
    const webCpu: number[] = [];
    try {
      for (let i = 0; i <= runs; i++) {
        const c0 = nodeCpuMs();
        const n = await model.generate([ids], { maxNewTokens: tokens, stopTokens: [] });
        const c1 = nodeCpuMs();
        const r0 = rendererCpuNs();
        const w = (await page.evaluate(`window.glassbox.generate(${JSON.stringify(args)})`)) as GenerateOutput;
        const r1 = rendererCpuNs();
        if (w.promptIds.join() !== ids.join()) throw new Error('bench: the page encoded the prompt differently from Node');
        if (i === 0) continue; // warm-up
        node.push(n.tokensPerSecond);
        web.push(w.tokensPerSecond);
        nodeCpu.push(c1 - c0);
        if (r0 !== null && r1 !== null) webCpu.push((r1 - r0) / 1e6);
      }
    } finally {
      await page.close();
      model.dispose();
    }
    const cpu =
      webCpu.length === node.length
        ? { nodeMs: median(nodeCpu), chromiumMs: median(webCpu), ratio: median(nodeCpu) / median(webCpu) }
        : null;
    rows.push({ threads, node: stats(node), chromium: stats(web), ratio: median(web) / median(node), cpu });
  }
} finally {
  await browser.close();
  await server.close();
}

const result = {
  bench: 'browser',
  model: 'tiny-chat',
  backend: 'wasm-simd',
  precision: 'f32',
  prompt: PROMPT,
  decodeTokens: tokens,
  runs,
  chromium: 'Debian chromium, headless',
  loadavg: loadavg().map((x) => +x.toFixed(2)),
  bundle: { initialBytes: build.initialBytes, initialGzipBytes: build.initialGzipBytes, lazy: build.lazy },
  rows,
};
console.log(JSON.stringify(result));
if (!opts.json) {
  const f = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  console.log(
    '\nthreads  node tok/s (min–max)   chromium tok/s (min–max)   chromium/node   CPU ms/generation node, chromium (node/chromium)',
  );
  for (const r of rows)
    console.log(
      `${String(r.threads).padEnd(8)} ${f(r.node).padEnd(22)} ${f(r.chromium).padEnd(26)} ${`${(100 * r.ratio).toFixed(0)}%`.padEnd(15)} ` +
        (r.cpu ? `${r.cpu.nodeMs.toFixed(0)}, ${r.cpu.chromiumMs.toFixed(0)} (${(100 * r.cpu.ratio).toFixed(0)}%)` : 'n/a'),
    );
  console.log(
    `bundle loaded at start: ${(build.initialBytes / 1024).toFixed(1)} KiB (${(build.initialGzipBytes / 1024).toFixed(1)} KiB gzipped); on use: ${build.lazy.map((l) => `${l.file} ${(l.bytes / 1024).toFixed(1)} KiB`).join(', ')}`,
  );
  console.log(`load average: ${result.loadavg.join(' ')}`);
}
