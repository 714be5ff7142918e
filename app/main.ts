/** The web app's page: starts the engine worker, exposes window.glassbox, and mounts the views as tabs. */
import { EngineClient, createApi } from './client.ts';
import type { GlassboxApi, ModelSource } from './protocol.ts';
import type { AppState } from './state.ts';
import { h } from './ui.ts';
import { compressView } from './views/compress.ts';
import { generateView } from './views/generate.ts';
import { interventionsView } from './views/interventions.ts';
import { lensView } from './views/lens.ts';
import { refusalView } from './views/refusal.ts';
import { studyView } from './views/study.ts';

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
    backend:
      params.get('backend') === 'reference' || params.get('backend') === 'webgpu'
        ? (params.get('backend') as 'reference' | 'webgpu')
        : 'wasm-simd',
    profile: params.get('profile') === '1',
  },
  (i) => {
    state.info = i;
    state.directions = null;
    state.loaded = null;
    state.compressed = null;
    for (const f of state.onChange) f();
    status.className = '';
    status.textContent = `${i.label} · ${i.family} · ${i.nLayers} layers · d_model ${i.dModel} · ${i.backend} × ${i.threads} thread${i.threads > 1 ? 's' : ''} · loaded in ${(i.loadMs / 1000).toFixed(1)} s`;
  },
);
window.glassbox = api;

const state: AppState = { api, info: null, directions: null, layer: 0, directionSource: '', loaded: null, compressed: null, onChange: [] };

const showError = (e: Error) => {
  status.textContent = `could not load the model: ${e.message}`;
  status.className = 'error';
};
api.ready.catch(showError);

// Tabs: each view is built once and kept (its inputs and plots survive switching).
const views: Array<[string, string, (s: AppState) => HTMLElement]> = [
  ['generate', 'Generate', generateView],
  ['refusal', 'Refusal direction', refusalView],
  ['lens', 'Lens & attention', lensView],
  ['interventions', 'Interventions', interventionsView],
  ['compress', 'Compression', compressView],
  ['study', 'Study folder', studyView],
];
const nav = document.getElementById('tabs')!;
const main = document.getElementById('view')!;
const built = new Map<string, HTMLElement>();
function show(id: string): void {
  const v = views.find((x) => x[0] === id) ?? views[0];
  if (!built.has(v[0])) built.set(v[0], v[2](state));
  main.replaceChildren(built.get(v[0])!);
  for (const b of nav.querySelectorAll('button')) b.classList.toggle('active', b.dataset.view === v[0]);
  history.replaceState(null, '', `#${v[0]}`);
}
for (const [id, label] of views) {
  const b = h('button', { onclick: () => show(id) }, label);
  b.dataset.view = id;
  nav.append(b);
}
show(location.hash.slice(1));

// Opening a model folder from disk, without any server: the directory picker or drag and drop.
const openFiles = (label: string, files: Array<{ name: string; file: File }>) => {
  status.textContent = `opening ${label}…`;
  const source: ModelSource = { kind: 'files', label, files };
  api.open(source).catch(showError);
};
const stripTop = (p: string) => p.split('/').slice(1).join('/');
document.getElementById('pick')!.addEventListener('change', (e) => {
  const list = [...((e.target as HTMLInputElement).files ?? [])];
  if (!list.length) return;
  openFiles(
    list[0].webkitRelativePath.split('/')[0],
    list.map((f) => ({ name: stripTop(f.webkitRelativePath), file: f })),
  );
});

async function entryFiles(entry: FileSystemEntry, prefix: string, out: Array<{ name: string; file: File }>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ name: prefix + entry.name, file });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const c of batch) await entryFiles(c, `${prefix}${entry.name}/`, out);
    }
  }
}
document.body.addEventListener('dragover', (e) => e.preventDefault());
document.body.addEventListener('drop', async (e) => {
  e.preventDefault();
  const entry = e.dataTransfer?.items[0]?.webkitGetAsEntry();
  if (!entry?.isDirectory) return void (status.textContent = 'drop a model folder (config.json, model.safetensors, tokenizer.json)');
  const out: Array<{ name: string; file: File }> = [];
  await entryFiles(entry, '', out);
  openFiles(
    entry.name,
    out.map((x) => ({ name: stripTop(x.name), file: x.file })),
  );
});
