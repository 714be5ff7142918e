/**
 * The body of a pool worker, as CommonJS source run with `new Worker(src, { eval: true })`: it needs no
 * TypeScript loader, so it works the same under tsx, vitest and the esbuild bundle.
 *
 * Protocol (Int32Array over a SharedArrayBuffer, SLOT ints per worker):
 *   [0] seq: bumped by the main thread to post a job, [1] done: set to seq when finished,
 *   [2] function index (-1 = quit), [3] memory index, [4] argument count, [5] error flag, [8..] arguments.
 * New memories arrive as messages ({ index, memory }) on `port`; they are read synchronously with
 * receiveMessageOnPort before each job, since the worker never returns to its event loop.
 */
import { jsKernels } from './js-kernels.ts';

export const SLOT = 32;
export const ARG0 = 8;
export const MAX_ARGS = SLOT - ARG0;
/** How long a thread spins for the next job (worker) or a worker's answer (caller) before it sleeps. */
export const SPIN_MS = 0.5;

/** The JS kernels' factory as source, for the workers: the same function text the calling thread runs. */
export const jsKernelsSource = `const jsKernels = ${jsKernels.toString()};`;

export const workerSource = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
${jsKernelsSource}
const { ctl, slot, port, module, fns } = workerData;
const c = new Int32Array(ctl);
const base = slot * ${SLOT};
const instances = [];
let seen = 0;
for (;;) {
  // Spin briefly before sleeping: decode posts a job every ~0.1-0.3 ms, and a futex wake-up costs tens of
  // microseconds on a VM, as much as a small matvec's whole share (see SPIN_MS in pool.ts).
  const spinEnd = performance.now() + ${SPIN_MS};
  while (Atomics.load(c, base) === seen && performance.now() < spinEnd);
  Atomics.wait(c, base, seen);
  const seq = Atomics.load(c, base);
  if (seq === seen) continue;
  seen = seq;
  const fn = c[base + 2];
  if (fn < 0) break;
  let m;
  while ((m = receiveMessageOnPort(port))) {
    const memory = m.message.memory;
    instances[m.message.index] = Object.assign({}, new WebAssembly.Instance(module, { env: { memory } }).exports, jsKernels(memory));
  }
  const args = [];
  for (let i = 0; i < c[base + 4]; i++) args.push(c[base + ${ARG0} + i]);
  try {
    instances[c[base + 3]][fns[fn]](...args);
    c[base + 5] = 0;
  } catch (e) {
    c[base + 5] = 1;
  }
  Atomics.store(c, base + 1, seq);
  Atomics.notify(c, base + 1);
}
`;
