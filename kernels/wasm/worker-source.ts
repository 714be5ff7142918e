/**
 * The body of a pool worker, as CommonJS source run with `new Worker(src, { eval: true })`: it needs no
 * TypeScript loader, so it works the same under tsx, vitest and the esbuild bundle.
 *
 * Protocol (Int32Array over a SharedArrayBuffer, SLOT ints per worker):
 *   [0] seq: bumped by the main thread to post a job, [1] done: set to seq when finished,
 *   [2] function index (-1 = quit), [3] memory index, [4] argument count, [5] error flag, [6] claim word (chunked
 *   jobs), [7] 1 for a chunked job, [8..] arguments.
 * Chunked jobs (ThreadPool.runChunked): the last three arguments are (total rows, rows per chunk, this thread's
 * scratch). Every job is claimed first (compareExchange of [6] from seq to 0); the caller cancels a chunked job nobody
 * claimed the same way, so a worker that wakes late never runs it. The worker then takes chunks from the shared counter
 * `next` (Atomics.add) until none is left, calling the kernel on each chunk's rows.
 * A kernel that throws sets the error flag and sends its message on `port` (the caller reads it synchronously).
 * Arguments are read back as unsigned 32-bit integers (memory offsets reach 4 GiB; none is negative).
 * New memories arrive as messages ({ index, memory }) on `port`; they are read synchronously with
 * receiveMessageOnPort before each job, since the worker never returns to its event loop.
 */
export const SLOT = 32;
export const ARG0 = 8;
export const MAX_ARGS = SLOT - ARG0;
/** How long a thread spins for the next job (worker) or a worker's answer (caller) before it sleeps. */
export const SPIN_MS = 0.5;

export const workerSource = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctl, slot, port, module, fns, next } = workerData;
const c = new Int32Array(ctl);
const nx = new Int32Array(next);
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
    instances[m.message.index] = new WebAssembly.Instance(module, { env: { memory: m.message.memory } }).exports;
  }
  // Claim the job before reading it: a chunked job the caller cancelled (it did every chunk before this worker woke)
  // may already have been replaced by the next one, whose words are then being written.
  if (Atomics.compareExchange(c, base + 6, seq, 0) !== seq) continue;
  const chunked = c[base + 7] === 1;
  // Unsigned: a memory offset past 2 GiB is stored as a negative int32 (a wasm parameter reads the same 32 bits
  // either way; the chunk arithmetic below needs the number itself).
  const args = [];
  for (let i = 0; i < c[base + 4]; i++) args.push(c[base + ${ARG0} + i] >>> 0);
  try {
    const f = instances[c[base + 3]][fns[fn]];
    if (!chunked) f(...args);
    else {
      const scr = args.pop(), chunk = args.pop(), total = args.pop();
      for (let k = Atomics.add(nx, 0, 1); k * chunk < total; k = Atomics.add(nx, 0, 1))
        f(...args, k * chunk, Math.min(total, (k + 1) * chunk), scr);
    }
    c[base + 5] = 0;
  } catch (e) {
    c[base + 5] = 1;
    port.postMessage(String((e && e.message) || e));
  }
  Atomics.store(c, base + 1, seq);
  Atomics.notify(c, base + 1);
}
`;
