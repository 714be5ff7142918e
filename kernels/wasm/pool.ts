/**
 * A pool of worker_threads sharing the kernel memories. `run` is synchronous: the main thread posts
 * one job per worker through a SharedArrayBuffer, computes its own share, then Atomics.waits for the
 * workers. Workers are unref'd (they never keep the process alive) and terminated by dispose().
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { WasmKernelError } from './errors.ts';
import { ARG0, MAX_ARGS, SLOT, SPIN_MS, workerSource } from './worker-source.ts';

export const KERNELS = [
  'f32_mv',
  'i8_mv',
  'i4_mv',
  'i4s_mv',
  'f32_mm',
  'i8_mm',
  'i4_mm',
  'i8d_mv',
  'i4d_mv',
  'i8d_mm',
  'i4d_mm',
  'bf16_mv',
  'bf16_mm',
  'sum_f32',
  'dot_peak',
  'i4q_mm',
  'silu_gate',
  'gate_silu',
  'quant_rows',
  'att_rows',
  'rms_norm',
  'add_f32',
  'tr_bias',
  // Only in the "matmul-relaxed" module (relaxed.ts): called only when the backend loaded it.
  'i4q_mv',
] as const;
export const RELAXED_KERNELS: readonly KernelName[] = ['i4q_mv'];
export type KernelName = (typeof KERNELS)[number];

export type Exports = Record<KernelName, (...args: number[]) => void>;

/** What the backend needs from a pool: Node's ThreadPool here, Web Workers in the browser (kernels/wasm/web-pool.ts). */
export interface KernelPool {
  /** Participants, the calling thread included. */
  readonly threads: number;
  /** Instantiates the kernels on a new memory in every thread; returns its index. */
  addMemory(memory: WebAssembly.Memory): number;
  /** Runs kernel `fn` on memory `mem`; participant i gets args ++ ranges[i]; ranges[0] runs on the caller. */
  run(mem: number, fn: KernelName, args: number[], ranges: number[][]): void;
  /**
   * Optional: runs `fn` over rows [0, total) in chunks of `chunk` rows that the participants take as they come
   * (args ++ [r0, r1, scratch[i]] per chunk; scratch.length participants). The caller keeps taking chunks while it
   * can, so a worker that is slow to wake (or has no core) delays nothing; which thread runs a row does not change
   * its result (each row is computed by one thread in a fixed order).
   */
  runChunked?(mem: number, fn: KernelName, args: number[], total: number, chunk: number, scratch: number[]): void;
  dispose(): void;
}

/** How long the main thread waits for a worker before declaring it dead. */
const WORKER_TIMEOUT_MS = 120_000;

export class ThreadPool implements KernelPool {
  /** Participants, the main thread included. */
  readonly threads: number;
  private readonly ctl: Int32Array;
  /** runChunked's next-chunk counter, shared with the workers. */
  private readonly next: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly instances: Exports[] = [];
  private readonly failures: string[] = [];
  private seq = 0;
  private disposed = false;

  constructor(
    threads: number,
    private readonly module: WebAssembly.Module,
  ) {
    this.threads = Math.max(1, Math.floor(threads));
    const nw = this.threads - 1;
    this.ctl = new Int32Array(new SharedArrayBuffer(Math.max(1, nw) * SLOT * 4));
    this.next = new Int32Array(new SharedArrayBuffer(64));
    for (let i = 0; i < nw; i++) {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(workerSource, {
        eval: true,
        workerData: { ctl: this.ctl.buffer, next: this.next.buffer, slot: i, port: port2, module, fns: KERNELS },
        transferList: [port2],
      });
      w.on('error', (e) => this.failures.push(`worker ${i + 1}: ${e.message}`));
      w.unref();
      port1.unref();
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  /** Instantiates the kernels on a new memory in every thread; returns its index. */
  addMemory(memory: WebAssembly.Memory): number {
    const index = this.instances.length;
    this.instances.push(new WebAssembly.Instance(this.module, { env: { memory } }).exports as unknown as Exports);
    for (const p of this.ports) p.postMessage({ index, memory });
    return index;
  }

  /**
   * Runs kernel `fn` on memory `mem`: participant i gets args ++ ranges[i] (its row range and scratch).
   * ranges[0] runs on the main thread; empty participants are skipped.
   */
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
      this.ctl[b + 7] = 0;
      for (let j = 0; j < all.length; j++) this.ctl[b + ARG0 + j] = all[j];
      Atomics.store(this.ctl, b + 6, this.seq); // the claim word (worker-source.ts)
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
    for (const b of posted) this.await(b);
    if (mainError) throw new WasmKernelError(`wasm-simd kernel ${fn}: ${(mainError as Error).message}`);
    this.throwIfFailed(fn, posted);
  }

  runChunked(mem: number, fn: KernelName, args: number[], total: number, chunk: number, scratch: number[]): void {
    if (this.disposed) throw new WasmKernelError('wasm-simd backend: used after dispose()');
    const parts = Math.min(scratch.length, this.threads, Math.ceil(total / chunk));
    const f = this.instances[mem][fn];
    if (parts <= 1) {
      try {
        f(...args, 0, total, scratch[0]);
      } catch (e) {
        throw new WasmKernelError(`wasm-simd kernel ${fn}: ${(e as Error).message}`);
      }
      return;
    }
    const fi = KERNELS.indexOf(fn);
    const seq = ++this.seq;
    Atomics.store(this.next, 0, 0);
    const posted: number[] = [];
    for (let i = 1; i < parts; i++) {
      const n = args.length + 3;
      if (n > MAX_ARGS) throw new WasmKernelError(`wasm-simd backend: ${fn} with ${n} arguments`);
      const b = (i - 1) * SLOT;
      this.ctl[b + 2] = fi;
      this.ctl[b + 3] = mem;
      this.ctl[b + 4] = n;
      this.ctl[b + 7] = 1;
      for (let j = 0; j < args.length; j++) this.ctl[b + ARG0 + j] = args[j];
      this.ctl[b + ARG0 + args.length] = total;
      this.ctl[b + ARG0 + args.length + 1] = chunk;
      this.ctl[b + ARG0 + args.length + 2] = scratch[i];
      Atomics.store(this.ctl, b + 6, seq);
      Atomics.store(this.ctl, b, seq);
      Atomics.notify(this.ctl, b);
      posted.push(b);
    }
    let mainError: unknown = null;
    try {
      for (let k = Atomics.add(this.next, 0, 1); k * chunk < total; k = Atomics.add(this.next, 0, 1))
        f(...args, k * chunk, Math.min(total, (k + 1) * chunk), scratch[0]);
    } catch (e) {
      mainError = e;
      Atomics.store(this.next, 0, Math.ceil(total / chunk)); // let the workers stop taking chunks
    }
    // A worker that has not claimed the job yet never will (cancelled); one that has is waited for.
    const claimed = posted.filter((b) => Atomics.compareExchange(this.ctl, b + 6, seq, -1) !== seq);
    for (const b of claimed) this.await(b);
    if (mainError) throw new WasmKernelError(`wasm-simd kernel ${fn}: ${(mainError as Error).message}`);
    this.throwIfFailed(fn, claimed);
  }

  /** Throws for the first of `slots` whose worker failed, with the error the worker sent (worker-source.ts). */
  private throwIfFailed(fn: KernelName, slots: number[]): void {
    for (const b of slots) {
      if (!this.ctl[b + 5]) continue;
      const i = b / SLOT;
      let why = '';
      for (let m = receiveMessageOnPort(this.ports[i]); m; m = receiveMessageOnPort(this.ports[i])) why = `: ${String(m.message)}`;
      throw new WasmKernelError(`wasm-simd kernel ${fn}: trapped in worker ${i + 1}${why}`);
    }
  }

  private await(b: number): void {
    const spinEnd = performance.now() + SPIN_MS;
    while (Atomics.load(this.ctl, b + 1) !== this.seq && performance.now() < spinEnd);
    const start = Date.now();
    while (Atomics.load(this.ctl, b + 1) !== this.seq) {
      Atomics.wait(this.ctl, b + 1, Atomics.load(this.ctl, b + 1), 1000);
      if (Date.now() - start > WORKER_TIMEOUT_MS) {
        const why = this.failures.length ? `: ${this.failures.join('; ')}` : '';
        throw new WasmKernelError(`wasm-simd backend: worker ${b / SLOT + 1} did not answer${why}`);
      }
    }
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
      void this.workers[i].terminate();
      this.ports[i].close();
    }
  }
}
