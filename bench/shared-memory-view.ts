/**
 * Why the pool's workers run only wasm (kernels/README.md, "Only wasm in the pool's threads"): a worker that
 * deserializes a shared WebAssembly.Memory while another thread grows it can keep a `memory.buffer` of the old length
 * (V8 tells a thread of a grow only once that thread has registered the memory), and a typed-array view past that
 * length throws. Each trial posts a fresh memory to a worker and grows it 20 pages while the worker receives it; the
 * worker then compares its buffer's length with the real one, and runs the pool's tr_bias (activation.wat) on its
 * own instance, writing one row that ends at the real end of the memory (past a short buffer's length). Counts only:
 * which trials go stale depends on timing, so a run may show none; the wasm store failing would be the finding.
 * Usage: npm run bench:shared-memory-view -- [--trials N] [--out FILE]
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { emitJson } from './emit-json.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const trials = Number(arg('--trials') ?? 3000);
const outFile = arg('--out') ?? '';
const GROW_PAGES = 20;
const ROW = 16; // floats tr_bias writes

// The worker: [0] trial posted, [1] real length, [2] trial received, [3] go, [4] its buffer's length, [5] 1 if
// tr_bias's store succeeded, [6] trial checked.
const src = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const c = new Int32Array(workerData.ctl);
const { port, module } = workerData;
for (let seen = 0;;) {
  while (Atomics.load(c, 0) === seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  let m, memory;
  while ((m = receiveMessageOnPort(port))) memory = m.message;
  Atomics.store(c, 2, seen);
  while (Atomics.load(c, 3) !== seen);
  c[4] = memory.buffer.byteLength;
  const real = c[1];
  try {
    const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
    k.tr_bias(0, 1, ${ROW}, 0, real - ${ROW * 4}, ${ROW}, 0, 1, 0);
    c[5] = 1;
  } catch (e) {
    c[5] = 0;
  }
  Atomics.store(c, 6, seen);
}`;

const c = new Int32Array(new SharedArrayBuffer(64));
const { port1, port2 } = new MessageChannel();
const worker = new Worker(src, {
  eval: true,
  workerData: { ctl: c.buffer, port: port2, module: loadKernelModule() },
  transferList: [port2],
});
const loadBefore = loadavg().map((x) => +x.toFixed(2));
let stale = 0;
let wasmFailures = 0;
let staleWasmOk = 0;
for (let i = 1; i <= trials; i++) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 + GROW_PAGES, shared: true });
  port1.postMessage(memory);
  Atomics.store(c, 0, i);
  for (let g = 0; g < GROW_PAGES; g++) memory.grow(1); // while the worker receives it
  while (Atomics.load(c, 2) !== i);
  c[1] = memory.buffer.byteLength;
  Atomics.store(c, 3, i);
  while (Atomics.load(c, 6) !== i);
  const isStale = c[4] < c[1];
  if (isStale) stale++;
  if (!c[5]) wasmFailures++;
  else if (isStale) staleWasmOk++;
}
Atomics.store(c, 0, -1);
await worker.terminate();
port1.close();
const json = {
  bench: 'shared-memory-view',
  date: new Date().toISOString(),
  node: process.version,
  loadavgBefore: loadBefore,
  trials,
  growPagesWhileReceived: GROW_PAGES,
  workerBufferStale: stale,
  wasmStoreFailures: wasmFailures,
  wasmStoresPastStaleLength: staleWasmOk,
};
console.log(
  `${trials} trials: the worker's memory.buffer stayed short in ${stale}; tr_bias's store past the end failed in ${wasmFailures}`,
);
emitJson(json, outFile);
