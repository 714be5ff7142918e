/**
 * Activation patching (denoising): run the corrupted prompt, restore one activation from the clean run, measure.
 *
 *   activationPatching(model, clean, corrupted, metric, opts?): Promise<PatchResult>
 *     clean / corrupted: token ids of the same length (positions are aligned one to one; a length mismatch is a
 *     UsageError naming both lengths). metric: see metric.ts. opts.sites (default all four), opts.batchSize
 *     (patched runs per forward, default 16), opts.signal, opts.onBatch(done, total).
 *   Result grids hold the metric after each patch: resid_pre[layer][position] (one position of
 *   blocks.l.hook_resid_pre), attn_out[layer] / mlp_out[layer] (every position of hook_attn_out / hook_mlp_out),
 *   heads[layer][head] (one head's slice of blocks.l.attn.hook_z at every position), plus the clean and corrupted
 *   baselines. Sites not requested are empty arrays.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Hook, Model } from '../../models/types.ts';
import { throwIfAborted } from '../batches.ts';
import { tokenLabels, yieldToLoop } from '../token-labels.ts';
import { patchHook, type PatchTarget } from '../interventions.ts';
import { experimentTargets, hookOf, patchExperiments, PATCH_SITES, type Experiment, type PatchSite } from './experiments.ts';
import { checkMetric, metricValue, type PatchMetric } from './metric.ts';

export interface PatchOptions {
  sites?: readonly PatchSite[];
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (done: number, total: number) => void;
}

export interface PatchResult {
  metric: PatchMetric['kind'];
  clean: number;
  corrupted: number;
  resid_pre: number[][];
  attn_out: number[];
  mlp_out: number[];
  heads: number[][];
  tokens: { clean: string[]; corrupted: string[] };
  /** Forward passes run for the patches (excluding the two baselines). */
  forwards: number;
}

export async function activationPatching(
  model: Model,
  clean: number[],
  corrupted: number[],
  metric: PatchMetric,
  opts: PatchOptions = {},
): Promise<PatchResult> {
  const { nLayers: L, nHeads: H, headDim, vocabSize: V } = model.config;
  checkMetric(metric, V);
  if (clean.length === 0) throw new UsageError('activation patching: the clean prompt is empty');
  if (clean.length !== corrupted.length)
    throw new UsageError(
      `activation patching: the clean prompt has ${clean.length} tokens and the corrupted one ${corrupted.length}; ` +
        'patches are aligned by position, so both must have the same length (reword one of them)',
    );
  const sites = opts.sites ?? PATCH_SITES;
  const batchSize = opts.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new UsageError(`activation patching: batchSize ${batchSize} is not a positive integer`);
  const T = clean.length;

  const cacheGlobs = sites.map((s) => hookOf({ site: s, layer: 0 }).replace('blocks.0.', 'blocks.*.'));
  const cleanRun = await model.forward([clean], { cache: cacheGlobs, logits: 'last' });
  const corruptRun = await model.forward([corrupted], { logits: 'last' });
  const result: PatchResult = {
    metric: metric.kind,
    clean: metricValue(metric, cleanRun.logits, 0, V),
    corrupted: metricValue(metric, corruptRun.logits, 0, V),
    resid_pre: sites.includes('resid_pre') ? Array.from({ length: L }, () => new Array<number>(T).fill(NaN)) : [],
    attn_out: sites.includes('attn_out') ? new Array<number>(L).fill(NaN) : [],
    mlp_out: sites.includes('mlp_out') ? new Array<number>(L).fill(NaN) : [],
    heads: sites.includes('heads') ? Array.from({ length: L }, () => new Array<number>(H).fill(NaN)) : [],
    tokens: { clean: tokenLabels(model, clean), corrupted: tokenLabels(model, corrupted) },
    forwards: 0,
  };

  const exps = patchExperiments(sites, L, T, H);
  const values = await runPatches(model, corrupted, cleanRun.cache, metric, exps, { ...opts, batchSize });
  exps.forEach((e, i) => store(result, e, values[i]));
  result.forwards = Math.ceil(exps.length / batchSize);
  return result;
}

/**
 * The metric after each patch of `exps` on the corrupted prompt, `batchSize` patched copies per forward.
 * `cleanCache` holds the clean run's activations at every hook the experiments touch ([1, T, width] each).
 */
export async function runPatches(
  model: Model,
  corrupted: number[],
  cleanCache: Map<string, { data: Float32Array }>,
  metric: PatchMetric,
  exps: Experiment[],
  opts: Omit<PatchOptions, 'sites'> = {},
): Promise<number[]> {
  const { headDim, vocabSize: V } = model.config;
  const batchSize = opts.batchSize ?? 16;
  for (const e of exps)
    if (!cleanCache.has(hookOf(e))) throw new UsageError(`activation patching: no clean activation cached at ${hookOf(e)}`);
  const out: number[] = [];
  for (let start = 0; start < exps.length; start += batchSize) {
    throwIfAborted(opts.signal, 'activation patching');
    const group = exps.slice(start, start + batchSize);
    const hooks = patchHooks(group, cleanCache, corrupted.length, headDim);
    const r = await model.forward(
      group.map(() => corrupted),
      { hooks, logits: 'last' },
    );
    group.forEach((_, row) => out.push(metricValue(metric, r.logits, row * V, V)));
    opts.onBatch?.(Math.min(start + batchSize, exps.length), exps.length);
    await yieldToLoop();
  }
  return out;
}

/**
 * One hook per hook point touched by this batch; each patches only the rows whose experiment targets it. Declared as
 * `patch` ops (analysis/interventions.ts), so on webgpu the clean activations stay on the device and a batch of
 * patches is one forward with no readback but its logits.
 */
function patchHooks(group: Experiment[], cache: Map<string, { data: Float32Array }>, T: number, headDim: number): Hook[] {
  const byHook = new Map<string, { targets: PatchTarget[]; cols: number | null }>();
  group.forEach((e, row) => {
    const name = hookOf(e);
    const mine = experimentTargets(e, row, T, headDim);
    if (!byHook.has(name)) byHook.set(name, { targets: [], cols: mine.cols });
    byHook.get(name)!.targets.push(...mine.targets);
  });
  return [...byHook].map(([name, { targets, cols }]) => patchHook(name, cache.get(name)!.data, targets, cols));
}

function store(r: PatchResult, e: Experiment, v: number): void {
  if (e.site === 'resid_pre') r.resid_pre[e.layer][e.pos!] = v;
  else if (e.site === 'attn_out') r.attn_out[e.layer] = v;
  else if (e.site === 'mlp_out') r.mlp_out[e.layer] = v;
  else r.heads[e.layer][e.head!] = v;
}
