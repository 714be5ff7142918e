/**
 * The engine worker: loads a model folder (fetched or picked) and runs it on the wasm SIMD kernels, answering
 * the page's requests (app/protocol.ts). It is a Worker because the kernel pool blocks on Atomics.wait, which a
 * page's main thread may not do, and so that decoding never freezes the page.
 */
import './worker-shims.ts';
import { GlassboxError } from '../engine/errors.ts';
import { openFolderSource } from '../engine/open-folder-source.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { WebPool } from '../kernels/wasm/web-pool.ts';
import type { Backend } from '../kernels/types.ts';
import { profileBackend, type BackendProfiler } from '../kernels/profile.ts';
import { loadModelFromFolder } from '../models/load.ts';
import type { Hook, Model } from '../models/types.ts';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import { compressModel } from '../analysis/compress/apply.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { logitLens } from '../analysis/lens/logit-lens.ts';
import { defaultRefusalTokens } from '../analysis/model-runs.ts';
import type { PatchMetric } from '../analysis/patch/metric.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { patchedGeneration } from '../analysis/patch/patched-generate.ts';
import { fetchFolder, fileListFolder } from './web-files.ts';
import type {
  CompressArgs,
  CompressOutput,
  DirectionArgs,
  DirectionsArgs,
  GenerateArgs,
  LensArgs,
  LensOutput,
  GenerateOutput,
  ModelInfo,
  OpenArgs,
  PatchArgs,
  PatchGenerateArgs,
  PatchGenerateOutput,
  PatchMetricArgs,
  PatchOutput,
  PromptArgs,
  Reply,
  Request,
  TraceArgs,
  TraceOutput,
} from './protocol.ts';

interface WorkerScope {
  postMessage(m: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: { data: Request }) => void) | null;
  crossOriginIsolated?: boolean;
  navigator: { hardwareConcurrency?: number };
}
const scope = globalThis as unknown as WorkerScope;

let original: Model | null = null;
let compressed: Model | null = null;
let info: ModelInfo | null = null;
/** The open model's backend (webgpu: its resident runtime counts submits). */
let backendOf: Backend | null = null;
let profiler: BackendProfiler | null = null;
let abort: AbortController | null = null;
/**
 * The page's Stop button: generation never returns to this worker's event loop between tokens, so an 'abort'
 * message would wait until it ends; a flag in shared memory (cross-origin-isolated pages) is read at every token.
 */
let stopFlag: Int32Array | null = null;

/** The kernels as build:app assembled them: importing a shared memory (threads) or a plain one (any page). */
async function kernelModule(shared: boolean): Promise<WebAssembly.Module> {
  const url = new URL(shared ? './matmul.wasm' : './matmul-unshared.wasm', import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new GlassboxError(`${url}: HTTP ${res.status} (run npm run build:app)`);
  return WebAssembly.compile(await res.arrayBuffer());
}

async function makeBackend(args: OpenArgs): Promise<{ backend: Backend; threads: number }> {
  if (args.backend === 'reference') return { backend: createReferenceBackend(), threads: 1 };
  if (args.backend === 'webgpu') {
    // The browser's own WebGPU (navigator.gpu): the backend carries the resident runtime (kernels/webgpu/), on
    // which the model keeps its weights, activations and KV cache and records each step into one submit
    // (models/resident.ts). gpu.js (loaded on demand: it is most of the bundle) provides the device and the
    // per-op fallback that hooks editing attention patterns need.
    const { createGpujsBackend } = await import('../kernels/gpujs/backend.ts');
    return { backend: await createGpujsBackend('webgpu'), threads: 1 };
  }
  const isolated = scope.crossOriginIsolated === true;
  const threads = Math.max(1, Math.floor(args.threads ?? (isolated ? Math.min(4, scope.navigator.hardwareConcurrency ?? 1) : 1)));
  const shared = threads > 1 || isolated;
  const module = await kernelModule(shared);
  const pool = await WebPool.create(threads, module);
  const backend = createWasmSimdBackend({ threads, module, sharedMemory: shared, pool: () => pool });
  return { backend, threads };
}

async function open(id: number, args: OpenArgs): Promise<ModelInfo> {
  const t0 = performance.now();
  compressed?.dispose();
  original?.dispose();
  compressed = original = null;
  if (args.stopFlag) stopFlag = new Int32Array(args.stopFlag);
  const src = args.source;
  const files =
    src.kind === 'url'
      ? await fetchFolder(new URL(src.base, (globalThis as unknown as { location: { href: string } }).location.href).href, (m) =>
          progress(id, m),
        )
      : fileListFolder(src.label, src.files);
  const folder = openFolderSource(files);
  const { backend, threads } = await makeBackend(args);
  profiler = args.profile ? profileBackend(backend) : null;
  // The model owns the backend (disposed with it); weights are kept for compression and clone().
  const model = await loadModelFromFolder(folder, { backend });
  const dispose = model.dispose.bind(model);
  model.dispose = () => {
    dispose();
    backend.dispose();
  };
  original = model;
  backendOf = backend;
  const c = model.config;
  info = {
    label: files.label,
    family: c.family,
    nLayers: c.nLayers,
    dModel: c.dModel,
    nHeads: c.nHeads,
    vocabSize: c.vocabSize,
    hasChatTemplate: model.tokenizer?.hasChatTemplate ?? false,
    backend: model.backendName,
    resident: (model as unknown as { residentActive?: boolean }).residentActive === true,
    threads,
    crossOriginIsolated: scope.crossOriginIsolated === true,
    loadMs: performance.now() - t0,
  };
  return info;
}

function modelFor(args: PromptArgs): Model {
  if (!original) throw new GlassboxError('no model is open');
  if (args.model === 'compressed') {
    if (!compressed) throw new GlassboxError('no compressed model: run compress first');
    return compressed;
  }
  return original;
}

function promptIds(model: Model, args: PromptArgs): number[] {
  if (args.ids) return args.ids;
  const tok = model.tokenizer;
  if (!tok) throw new GlassboxError(`${info?.label}: no tokenizer.json; pass ids`);
  if (typeof args.prompt !== 'string') throw new GlassboxError('give a prompt or ids');
  const chat = args.chat ?? tok.hasChatTemplate;
  return chat ? tok.encodeChat(args.prompt) : tok.encode(args.prompt);
}

function hooksFor(model: Model, args: PromptArgs): Hook[] {
  const hooks: Hook[] = [];
  const width = model.config.dModel;
  const check = (d: number[], what: string) => {
    if (d.length !== width) throw new GlassboxError(`${what}: direction has ${d.length} values, the model's d_model is ${width}`);
  };
  if (args.ablate) {
    check(args.ablate, 'ablate');
    hooks.push(...ablationHooks(args.ablate));
  }
  if (args.add) {
    check(args.add.direction, 'add');
    if (!(Number.isInteger(args.add.layer) && args.add.layer >= 0 && args.add.layer < model.config.nLayers))
      throw new GlassboxError(`add: layer ${args.add.layer} is outside 0..${model.config.nLayers - 1}`);
    hooks.push(additionHook(args.add.direction, args.add.layer, { coeff: args.add.coeff, promptOnly: args.add.promptOnly }));
  }
  return hooks;
}

async function generate(id: number, args: GenerateArgs): Promise<GenerateOutput> {
  const model = modelFor(args);
  const ids = promptIds(model, args);
  const tok = model.tokenizer;
  const out: number[] = [];
  let lastText = -Infinity;
  abort = new AbortController();
  const ac = abort;
  if (stopFlag) Atomics.store(stopFlag, 0, 0);
  const rt = backendOf?.resident;
  const gpu0 = rt ? { submits: rt.submits, dispatches: rt.dispatches } : null;
  profiler?.reset();
  const r = await model.generate([ids], {
    maxNewTokens: args.maxTokens ?? 48,
    stopTokens: args.ignoreEos ? [] : undefined,
    hooks: hooksFor(model, args),
    signal: abort.signal,
    onToken: ([t], step) => {
      if (stopFlag && Atomics.load(stopFlag, 0)) ac.abort();
      if (t < 0) return;
      out.push(t);
      // Decoding the whole text costs more than a tiny model's token: the page gets it at most every 50 ms.
      const now = performance.now();
      const text = now - lastText >= 50 ? (tok ? tok.decode(out, { skipSpecialTokens: true }) : out.join(' ')) : undefined;
      if (text !== undefined) lastText = now;
      scope.postMessage({ id, event: 'token', token: t, text, step });
    },
  });
  const gen = r.tokens[0];
  return {
    promptIds: ids,
    ids: gen,
    text: tok ? tok.decode(gen, { skipSpecialTokens: true }) : gen.join(' '),
    finish: r.finish[0],
    tokensPerSecond: r.tokensPerSecond,
    prefillMs: r.prefillMs,
    decodeMs: r.decodeMs,
    ops: profiler?.snapshot(),
    gpu: rt && gpu0 ? { submits: rt.submits - gpu0.submits, dispatches: rt.dispatches - gpu0.dispatches } : undefined,
  };
}

async function trace(args: TraceArgs): Promise<TraceOutput> {
  const model = modelFor(args);
  const ids = promptIds(model, args);
  const r = await model.forward([ids], { cache: args.hooks, cachePositions: args.positions, hooks: hooksFor(model, args), logits: 'last' });
  const activations: TraceOutput['activations'] = {};
  // Copies: their buffers are transferred to the page (detached here), so they must not be the model's own.
  for (const [name, a] of r.cache) activations[name] = { shape: a.shape, data: a.data.slice() };
  const tok = model.tokenizer;
  return { promptIds: ids, tokens: ids.map((i) => (tok ? tok.decode([i]) : String(i))), activations, lastLogits: r.logits.slice() };
}

/** Difference in means of resid_pre at one layer and post-instruction position: harmful minus harmless (raw, not unit). */
async function direction(args: DirectionArgs): Promise<number[]> {
  const model = modelFor({});
  const hook = `blocks.${args.layer}.hook_resid_pre`;
  const pos = args.position ?? -1;
  const mean = async (prompts: string[]) => {
    if (prompts.length === 0) throw new GlassboxError('direction: an empty prompt list');
    const sum = new Float64Array(model.config.dModel);
    for (const p of prompts) {
      const r = await model.forward([promptIds(model, { prompt: p })], { cache: [hook], cachePositions: [pos], logits: 'none' });
      const a = r.cache.get(hook)!.data;
      for (let i = 0; i < sum.length; i++) sum[i] += a[i];
    }
    return sum.map((s) => s / prompts.length);
  };
  const mu = await mean(args.harmful);
  const nu = await mean(args.harmless);
  return Array.from(mu, (m, i) => m - nu[i]);
}

/** Every layer's diff-in-means direction at one position: [nLayers][dModel] (raw). */
async function directions(args: DirectionsArgs): Promise<number[][]> {
  const model = modelFor(args);
  const { nLayers, dModel } = model.config;
  const pos = args.position ?? -1;
  const mean = async (prompts: string[]) => {
    if (prompts.length === 0) throw new GlassboxError('directions: an empty prompt list');
    const sum = new Float64Array(nLayers * dModel);
    for (const p of prompts) {
      const r = await model.forward([promptIds(model, { prompt: p, chat: args.chat })], {
        cache: ['blocks.*.hook_resid_pre'],
        cachePositions: [pos],
        logits: 'none',
      });
      for (let l = 0; l < nLayers; l++) {
        const a = r.cache.get(`blocks.${l}.hook_resid_pre`)!.data;
        for (let i = 0; i < dModel; i++) sum[l * dModel + i] += a[i];
      }
    }
    return sum.map((v) => v / prompts.length);
  };
  const mu = await mean(args.harmful);
  const nu = await mean(args.harmless);
  return Array.from({ length: nLayers }, (_, l) => Array.from({ length: dModel }, (_, i) => mu[l * dModel + i] - nu[l * dModel + i]));
}

/** Logit lens through the library's analysis/lens (TransformerLens accumulated_resid: resid_pre of each block, then the output). */
async function lens(args: LensArgs): Promise<LensOutput> {
  const model = modelFor(args);
  const ids = promptIds(model, args);
  if (args.ablate || args.add) throw new GlassboxError('lens: interventions are not supported here; use trace');
  const r = await logitLens(model, ids, { topK: 1 });
  return {
    promptIds: ids,
    tokens: r.tokens,
    rows: r.layers.map((l) => (l.hook === 'logits' ? 'output' : `L${l.layer} resid_pre`)),
    layers: r.layers.map((l) => l.positions.map((p) => p.top[0])),
  };
}

async function compress(id: number, args: CompressArgs): Promise<CompressOutput> {
  const model = modelFor({});
  const method = parseMethod(args.method);
  const calibration = (args.calibration ?? []).map((p) => promptIds(model, { prompt: p }));
  const c = await compressModel(model, method, {
    calibration,
    onLayer: (l, n) => progress(id, `${method.name}: layer ${l + 1}/${n}`),
  });
  compressed?.dispose();
  compressed = c.model;
  return { method: method.name, bitsPerWeight: c.bitsPerWeight, sparsity: c.sparsity.global.sparsity, seconds: c.seconds };
}

/** A token given as an id, `#123`, or text (its first token), as the CLI's --answer / --wrong take it. */
function tokenId(model: Model, t: number | string, what: string): number {
  if (typeof t === 'number') return t; // checked against the vocabulary by checkMetric
  if (/^#\d+$/.test(t)) return Number(t.slice(1));
  const ids = model.tokenizer?.encode(t, { addSpecialTokens: false }) ?? [];
  if (!ids.length) throw new GlassboxError(`${what}: '${t}' encodes to no token`);
  return ids[0];
}

function patchMetric(model: Model, m: PatchMetricArgs): PatchMetric {
  if (m.kind === 'logit-diff') return { kind: m.kind, answer: tokenId(model, m.answer, 'answer'), wrong: tokenId(model, m.wrong, 'wrong') };
  if (m.kind !== 'refusal-score')
    throw new GlassboxError(`metric: expected logit-diff or refusal-score, got '${String((m as { kind: unknown }).kind)}'`);
  if (m.refusalTokens) return { kind: m.kind, refusalTokens: m.refusalTokens.map((t) => tokenId(model, t, 'refusalTokens')) };
  if (!model.tokenizer) throw new GlassboxError(`${info?.label}: no tokenizer.json; give refusalTokens as ids`);
  return { kind: m.kind, refusalTokens: defaultRefusalTokens(model.tokenizer) };
}

function patchPrompts(model: Model, args: PatchArgs | PatchGenerateArgs): { clean: number[]; corrupted: number[] } {
  return {
    clean: promptIds(model, { prompt: args.clean, ids: args.cleanIds, chat: args.chat }),
    corrupted: promptIds(model, { prompt: args.corrupted, ids: args.corruptedIds, chat: args.chat }),
  };
}

async function patch(id: number, args: PatchArgs): Promise<PatchOutput> {
  const model = modelFor(args);
  const { clean, corrupted } = patchPrompts(model, args);
  const r = await activationPatching(model, clean, corrupted, patchMetric(model, args.metric), {
    sites: args.sites,
    batchSize: args.batchSize,
    onBatch: (done, total) => progress(id, `patching: ${done}/${total}`),
  });
  return { ...r, cleanIds: clean, corruptedIds: corrupted };
}

async function patchGenerate(args: PatchGenerateArgs): Promise<PatchGenerateOutput> {
  const model = modelFor(args);
  const { clean, corrupted } = patchPrompts(model, args);
  const r = await patchedGeneration(
    model,
    clean,
    corrupted,
    { site: args.site, layer: args.layer, pos: args.pos, head: args.head },
    patchMetric(model, args.metric),
    { maxNewTokens: args.maxTokens ?? 48 },
  );
  const text = (ids: number[]) => model.tokenizer?.decode(ids, { skipSpecialTokens: true }) ?? ids.join(' ');
  return {
    hook: r.hook,
    patch: r.patch,
    metric: r.metric,
    corruptedMetric: r.target,
    cleanMetric: r.source,
    patchedMetric: r.patched,
    before: { ids: r.before, text: text(r.before) },
    after: { ids: r.after, text: text(r.after) },
    tokens: { clean: r.tokens.source, corrupted: r.tokens.target },
  };
}

function progress(id: number, message: string): void {
  scope.postMessage({ id, event: 'progress', message });
}

function transferables(v: unknown): Transferable[] {
  const out: Transferable[] = [];
  const walk = (x: unknown) => {
    if (x instanceof Float32Array) out.push(x.buffer as ArrayBuffer);
    else if (x && typeof x === 'object' && !Array.isArray(x)) for (const y of Object.values(x)) walk(y);
  };
  walk(v);
  return [...new Set(out)].filter((b) => !(b instanceof SharedArrayBuffer));
}

// Requests run one at a time, in order (the model is not re-entrant); 'abort' is handled at once.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const req = e.data;
  if (req.op === 'abort') {
    abort?.abort();
    return;
  }
  queue = queue.then(async () => {
    try {
      let result: unknown;
      if (req.op === 'open') result = await open(req.id, req.args);
      else if (req.op === 'generate') result = await generate(req.id, req.args);
      else if (req.op === 'trace') result = await trace(req.args);
      else if (req.op === 'direction') result = await direction(req.args);
      else if (req.op === 'directions') result = await directions(req.args);
      else if (req.op === 'lens') result = await lens(req.args);
      else if (req.op === 'compress') result = await compress(req.id, req.args);
      else if (req.op === 'patch') result = await patch(req.id, req.args);
      else if (req.op === 'patchGenerate') result = await patchGenerate(req.args);
      else if (req.op === 'decode') result = modelFor({}).tokenizer?.decode(req.args.ids) ?? req.args.ids.join(' ');
      scope.postMessage({ id: req.id, ok: true, result }, transferables(result));
    } catch (err) {
      const error = err as Error;
      scope.postMessage({ id: req.id, ok: false, error: error?.message ?? String(err), errorName: error?.name ?? 'Error' });
    }
  });
};
