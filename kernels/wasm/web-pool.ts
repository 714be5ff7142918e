/**
 * The browser's KernelPool: Web Workers sharing the kernel memories, with the same control protocol as
 * Node's ThreadPool (kernels/wasm/worker-source.ts). Differences forced by the browser:
 *  - Atomics.wait is forbidden on a page's main thread, so the pool's owner must itself be a Worker (the web
 *    app runs the engine in one). Kernel workers block in Atomics.wait between jobs (a futex wake: waitAsync
 *    went through the worker's event loop and a promise for every job). A blocked worker reads no messages:
 *    new memories (postMessage) reach it because a job on a memory it has no instance for sends it back to its
 *    event loop, where the memory's message is already queued (addMemory posts before any job uses it).
 *  - threads > 1 needs SharedArrayBuffer, i.e. a cross-origin-isolated page (COOP + COEP headers).
 *  - workers start asynchronously, so the pool is created with `await WebPool.create(...)`.
 * With threads = 1 no worker is started and no shared memory is needed.
 */
import { WasmKernelError } from './errors.ts';
import { KERNELS, type Exports, type KernelName, type KernelPool } from './pool.ts';
import { ARG0, MAX_ARGS, SLOT } from './worker-source.ts';

const WORKER_TIMEOUT_MS = 120_000;

/** The slice of the DOM Worker this pool uses (the project's type check runs without the DOM library). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message: string }) => void) | null;
}
const webWorker = (url: string): WebWorker => new (globalThis as unknown as { Worker: new (u: string) => WebWorker }).Worker(url);

/** The kernel worker's source (exported for a test). */
export const webWorkerSource = `
let c, base, mod, fns, seen = 0, stalled = false;
const instances = [];
function loop() {
  for (;;) {
    Atomics.wait(c, base, seen);
    const seq = Atomics.load(c, base);
    if (seq === seen) continue;
    const fn = c[base + 2];
    if (fn < 0) { close(); return; }
    if (!instances[c[base + 3]]) { stalled = true; return; } // its memory is still in the message queue
    seen = seq;
    const args = [];
    for (let i = 0; i < c[base + 4]; i++) args.push(c[base + ${ARG0} + i] >>> 0); // unsigned: offsets past 2 GiB (worker-source.ts)
    try { instances[c[base + 3]][fns[fn]](...args); c[base + 5] = 0; } catch (e) { c[base + 5] = 1; }
    Atomics.store(c, base + 1, seq);
    Atomics.notify(c, base + 1);
  }
}
onmessage = (e) => {
  const m = e.data;
  if (m.ctl) { c = new Int32Array(m.ctl); base = m.slot * ${SLOT}; mod = m.module; fns = m.fns; postMessage('ready'); loop(); return; }
  instances[m.index] = new WebAssembly.Instance(mod, { env: { memory: m.memory } }).exports;
  if (stalled) { stalled = false; loop(); }
};
`;

export class WebPool implements KernelPool {
  private readonly instances: Exports[] = [];
  private seq = 0;
  private disposed = false;

  private constructor(
    readonly threads: number,
    private readonly module: WebAssembly.Module,
    private readonly ctl: Int32Array,
    private readonly workers: WebWorker[],
  ) {}

  static async create(threads: number, module: WebAssembly.Module): Promise<WebPool> {
    const n = Math.max(1, Math.floor(threads));
    const nw = n - 1;
    if (nw > 0 && typeof SharedArrayBuffer === 'undefined')
      throw new WasmKernelError(`wasm-simd: ${n} threads need SharedArrayBuffer (serve the page with COOP/COEP headers), or use 1 thread`);
    const ctl = new Int32Array(nw > 0 ? new SharedArrayBuffer(nw * SLOT * 4) : new ArrayBuffer(4));
    const workers: WebWorker[] = [];
    if (nw > 0) {
      const url = URL.createObjectURL(new Blob([webWorkerSource], { type: 'text/javascript' }));
      try {
        await Promise.all(
          Array.from(
            { length: nw },
            (_, i) =>
              new Promise<void>((resolve, reject) => {
                const w = webWorker(url);
                workers.push(w);
                w.onmessage = () => resolve();
                w.onerror = (e) => reject(new WasmKernelError(`wasm-simd worker ${i + 1}: ${e.message}`));
                w.postMessage({ ctl: ctl.buffer, slot: i, module, fns: KERNELS });
              }),
          ),
        );
      } finally {
        URL.revokeObjectURL(url);
      }
    }
    return new WebPool(n, module, ctl, workers);
  }

  addMemory(memory: WebAssembly.Memory): number {
    const index = this.instances.length;
    this.instances.push(new WebAssembly.Instance(this.module, { env: { memory } }).exports as unknown as Exports);
    for (const w of this.workers) w.postMessage({ index, memory });
    return index;
  }

  run(mem: number, fn: KernelName, args: number[], ranges: number[][]): void {
    if (this.disposed) throw new WasmKernelError('wasm-simd backend: used after dispose()');
    if (ranges.length > this.threads) throw new WasmKernelError(`wasm-simd backend: ${ranges.length} ranges for ${this.threads} threads`);
    const fi = KERNELS.indexOf(fn);
    const posted: number[] = [];
    if (ranges.length > 1) this.seq++;
    for (let i = 1; i < ranges.length; i++) {
      const all = [...args, ...ranges[i]];
      if (all.length > MAX_ARGS) throw new WasmKernelError(`wasm-simd backend: ${fn} with ${all.length} arguments`);
      const b = (i - 1) * SLOT;
      this.ctl[b + 2] = fi;
      this.ctl[b + 3] = mem;
      this.ctl[b + 4] = all.length;
      for (let j = 0; j < all.length; j++) this.ctl[b + ARG0 + j] = all[j];
      Atomics.store(this.ctl, b, this.seq);
      Atomics.notify(this.ctl, b);
      posted.push(b);
    }
    let mainError: unknown = null;
    try {
      this.instances[mem][fn](...args, ...ranges[0]);
    } catch (e) {
      mainError = e;
    }
    for (const b of posted) {
      const start = Date.now();
      while (Atomics.load(this.ctl, b + 1) !== this.seq) {
        Atomics.wait(this.ctl, b + 1, Atomics.load(this.ctl, b + 1), 1000);
        if (Date.now() - start > WORKER_TIMEOUT_MS) throw new WasmKernelError(`wasm-simd backend: worker ${b / SLOT + 1} did not answer`);
      }
    }
    if (mainError) throw new WasmKernelError(`wasm-simd kernel ${fn}: ${(mainError as Error).message}`);
    for (const b of posted) if (this.ctl[b + 5]) throw new WasmKernelError(`wasm-simd kernel ${fn}: trapped in worker ${b / SLOT + 1}`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.seq++;
    for (let i = 0; i < this.workers.length; i++) {
      const b = i * SLOT;
      this.ctl[b + 2] = -1;
      Atomics.store(this.ctl, b, this.seq);
      Atomics.notify(this.ctl, b);
      this.workers[i].terminate();
    }
  }
}
