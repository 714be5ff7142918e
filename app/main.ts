/** The web app's page: starts the engine worker, exposes window.glassbox, and mounts the views. */
import { EngineClient, createApi, type GlassboxApi } from './client.ts';

declare global {
  interface Window {
    glassbox: GlassboxApi;
  }
}

const params = new URLSearchParams(location.search);
const threadsParam = params.get('threads');
const client = new EngineClient(new URL('./worker.js', import.meta.url));
const status = document.getElementById('status')!;
const api = createApi(
  client,
  {
    source: { kind: 'url', base: params.get('model') ?? 'model/' },
    threads: threadsParam && /^[1-9]\d?$/.test(threadsParam) ? Number(threadsParam) : undefined,
    backend: params.get('backend') === 'reference' ? 'reference' : 'wasm-simd',
  },
  (i) => {
    status.textContent = `${i.label} · ${i.family} · ${i.nLayers} layers · d_model ${i.dModel} · ${i.backend} × ${i.threads} thread${i.threads > 1 ? 's' : ''}`;
  },
);
window.glassbox = api;
api.ready.catch((e: Error) => {
  status.textContent = `could not load the model: ${e.message}`;
  status.className = 'error';
});
