/**
 * The page's side of the engine worker, and `window.glassbox`: the scriptable API that tests, the browser
 * bench and users' own scripts drive without clicking.
 */
import type { GlassboxApi, ModelInfo, OpenArgs, Reply, Request } from './protocol.ts';

export type { GlassboxApi };

type Pending = {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onToken?: (t: { token: number; text?: string; step: number }) => void;
  onProgress?: (message: string) => void;
};

type Op = Exclude<Request['op'], 'abort'>;

export class EngineClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor(workerUrl: URL) {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Reply>) => this.receive(e.data);
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`engine worker: ${e.message}`));
      this.pending.clear();
    };
  }

  private receive(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('event' in m) {
      if (m.event === 'token') p.onToken?.(m);
      else p.onProgress?.(m.message);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else {
      const err = new Error(m.error);
      err.name = m.errorName;
      p.reject(err);
    }
  }

  call<T>(op: Op, args: unknown, handlers: Omit<Pending, 'resolve' | 'reject'> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...handlers });
      this.worker.postMessage({ id, op, args } as Request);
    });
  }

  /** Shared with the worker when the page is cross-origin isolated: lets Stop reach a running generation. */
  readonly stopFlag = typeof SharedArrayBuffer !== 'undefined' && crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;

  abort(): void {
    if (this.stopFlag) Atomics.store(this.stopFlag, 0, 1);
    this.worker.postMessage({ id: 0, op: 'abort' } as Request);
  }
}

export function createApi(client: EngineClient, initial: OpenArgs, onInfo: (i: ModelInfo) => void): GlassboxApi {
  const api: GlassboxApi = {
    ready: null as unknown as Promise<ModelInfo>,
    info: null,
    open: async (source, opts = {}) => {
      const info = await client.call<ModelInfo>('open', { ...opts, source, stopFlag: client.stopFlag?.buffer });
      api.info = info;
      onInfo(info);
      return info;
    },
    generate: (args, onToken) => client.call('generate', args, { onToken }),
    trace: (args) => client.call('trace', args),
    direction: (args) => client.call('direction', args),
    directions: (args) => client.call('directions', args),
    lens: (args) => client.call('lens', args),
    compress: (args, onProgress) => client.call('compress', args, { onProgress }),
    patch: (args, onProgress) => client.call('patch', args, { onProgress }),
    patchGenerate: (args) => client.call('patchGenerate', args),
    decode: (ids) => client.call('decode', { ids }),
    abort: () => client.abort(),
  };
  api.ready = api.open(initial.source, { threads: initial.threads, backend: initial.backend, profile: initial.profile });
  return api;
}
