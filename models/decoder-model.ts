/**
 * The Model implementation shared by every family: parameters uploaded once, the forward loop
 * (embed -> blocks -> final norm -> logits), hooks and caching, and KV-cached batched generation.
 * The family-specific math lives in llama.ts and gpt2.ts, reached through their descriptors (families.ts).
 * Reading order: models/README.md.
 */
import { totalmem } from 'node:os';
import { ConfigError, InterruptedError, UsageError } from '../engine/errors.ts';
import type { ModelConfig, Tokenizer } from '../engine/types.ts';
import type { Backend } from '../kernels/types.ts';
import { hfInvFreq } from './rope.ts';
import type { FamilyDescriptor } from './family.ts';
import { familyOf } from './families.ts';
import type { ForwardCtx, LayerParams } from './forward-context.ts';
import { hookAt, layerParams, normalize } from './forward-context.ts';
import { allHookNames } from './hook-names.ts';
import { assertFinite, HookRunner } from './hook-runner.ts';
import { KvCache } from './kv-cache.ts';
import { leftPad, type PaddedBatch } from './padding.ts';
import { finalRowsUnseen, lastRowsOf, liveRowsOf, padRowsUnseen } from './pad-rows.ts';
import { prefixRows, seedFromPrefix, type SharedPrefixCache, splitAllowed, splitStart } from './shared-prefix.ts';
import { DEFAULT_INT4_GROUP, precisionOf, toPrecision } from './precision.ts';
import { LinearGroup } from './runtime-linear.ts';
import { StepBuffers, type StepScope } from './step-buffers.ts';
import { makeRng, sampleToken } from './sampler.ts';
import type {
  ForwardOptions,
  ForwardResult,
  GenerateOptions,
  Hook,
  GenerateResult,
  LayerWeight,
  LinearRole,
  Model,
  ModelLinear,
  ModelNorm,
  NormWhich,
  StartResidual,
  WeightPrecision,
} from './types.ts';
import type { NormWeights, WeightProvider } from './weight-provider.ts';
import { cloneProvider } from './clone.ts';
import { checkResidentFits, GpuKv, ResidentModel, residentSupports } from './resident.ts';

export interface BuildOptions {
  backend: Backend;
  /** Quantize f32 linears at load to this precision; undefined keeps every weight as the provider gives it. */
  precision?: WeightPrecision;
  /** int4 group size (default 128, clamped to K). */
  groupSize?: number;
  /**
   * Quantize the unembedding together with the other linears when precision is int8/int4 (default true:
   * it is the largest single matmul of small-vocabulary-heavy models such as Qwen2.5-0.5B). The token
   * embedding itself always stays f32.
   */
  quantizeUnembedding?: boolean;
  /** dispose() also disposes the backend (set when the loader created it). */
  ownsBackend?: boolean;
  /**
   * Keep the host-side weight arrays after uploading them (default true): getLinear / getUnembedding /
   * setLinear / clone need them. Backends that copy weights into their own memory (wasm-simd) otherwise
   * hold a second copy; pass false for inference-only use (generate / trace / benchmarks) to hold one.
   */
  retainWeights?: boolean;
  /**
   * Let contexts run past config.json's max_position_embeddings (default false: refused with a one-line error).
   * Only for RoPE models, where positions past the trained range are computable (quality is the user's call, e.g.
   * with rope_scaling); a model with learned position embeddings (GPT-2 wpe) has no rows past n_positions.
   */
  allowLongContext?: boolean;
}

/** The KV cache may take at most this share of the machine's memory (a larger one is refused, not attempted). */
const KV_MEMORY_SHARE = 0.5;

const ROLES: LinearRole[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

interface StepInput {
  /** Token ids [batch·t], row-major (sequence b's t new tokens at b·t .. b·t + t - 1), left-padded. */
  ids: Int32Array;
  /** Absolute positions [batch·t], -1 at padding. */
  positions: Int32Array;
  /** Per row, validity of the t new slots. */
  valid: Uint8Array[];
  t: number;
  /** Start at this block from this residual [batch·t, d_model] (forward only); absent: block 0 from the embedding. */
  start?: StartResidual;
  /** Run blocks below this one only, then stop (no final norm, no logits); absent: every block. */
  stop?: number;
  /** The caller sees no padding row, so the MLP may skip them (pad-rows.ts). */
  skipPadRows?: boolean;
  /** With skipPadRows: the caller sees only the final block's last rows, so its MLP runs on those (pad-rows.ts). */
  lastRowsOnly?: boolean;
}

export class DecoderModel implements Model {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  readonly precision: WeightPrecision;
  readonly backendName: string;
  private readonly backend: Backend;
  private readonly groupSize: number;
  private readonly quantizeUnembedding: boolean;
  private readonly loadPrecision: WeightPrecision | undefined;
  private readonly ownsBackend: boolean;
  private embed: Float32Array;
  private readonly posEmbed: Float32Array | null;
  private readonly finalNorm: NormWeights;
  private readonly layers: LayerParams[] = [];
  private unembed!: LinearGroup;
  /** Arrays reused across unhooked CPU steps (step-buffers.ts). */
  readonly stepBuffers = new StepBuffers();
  private unembedWeight: LayerWeight | null = null;
  private released = false;
  /** True when the unembedding is the embedding array itself (tied, f32). */
  private unembedIsEmbed = false;
  private readonly invFreq: Float32Array | null;
  /** webgpu: the whole model on the device (models/resident.ts); null elsewhere or when unsupported. */
  private resident: ResidentModel | null = null;
  /** A weight changed since the resident copy was built: rebuilt before the next run. */
  private residentStale = false;
  /** Counts weight edits (markStale), so that a kept prefix run (SharedPrefixCache) from before one is not reused. */
  private weightsVersion = 0;
  private readonly allowLongContext: boolean;
  /** The family's embedding, block and context rule (models/family.ts). */
  private readonly family: FamilyDescriptor;

  constructor(provider: WeightProvider, opts: BuildOptions) {
    const cfg = provider.config;
    this.config = cfg;
    this.tokenizer = provider.tokenizer;
    this.backend = opts.backend;
    this.backendName = opts.backend.name;
    this.groupSize = opts.groupSize ?? DEFAULT_INT4_GROUP;
    this.loadPrecision = opts.precision;
    this.ownsBackend = opts.ownsBackend ?? false;
    this.quantizeUnembedding = opts.quantizeUnembedding ?? true;
    this.family = familyOf(cfg);
    if (this.family.positions === 'rope' && !cfg.rope) throw new ConfigError(`config.json: ${cfg.modelType} model has no RoPE settings`);
    if (cfg.nHeads % cfg.nKvHeads !== 0)
      throw new ConfigError(`config.json: num_attention_heads ${cfg.nHeads} is not a multiple of num_key_value_heads ${cfg.nKvHeads}`);
    this.invFreq = cfg.rope ? hfInvFreq(cfg.rope) : null;
    this.embed = provider.embedding();
    expectLength(this.embed, cfg.vocabSize * cfg.dModel, 'token embedding');
    this.posEmbed = provider.posEmbedding();
    if (this.family.embedding === 'token+learned-positions' && !this.posEmbed)
      throw new ConfigError(`${cfg.modelType} model without position embeddings (wpe)`);
    this.allowLongContext = opts.allowLongContext ?? false;
    if (this.allowLongContext && this.family.contextLimit === 'max-positions')
      throw new UsageError(
        `allowLongContext: ${cfg.modelType} has learned position embeddings (${cfg.maxPositions} rows); it cannot run past them`,
      );
    this.finalNorm = provider.finalNorm();
    if (opts.backend.resident) {
      // Refuse a model the GPU cannot hold before reading its layers (the precision of a pre-quantized
      // checkpoint is that of its first Linear).
      const first = this.loadPrecision ?? precisionOf([provider.linear(0, 'q').weight.format]);
      checkResidentFits(opts.backend.resident, cfg, first);
    }
    for (let l = 0; l < cfg.nLayers; l++) {
      const lin = {} as Record<LinearRole, ModelLinear | null>;
      for (const role of ROLES) {
        if (!this.family.linearRoles.includes(role)) {
          lin[role] = null;
          continue;
        }
        lin[role] = this.convert(provider.linear(l, role), `layer ${l} ${role}`, this.loadPrecision);
      }
      this.checkShapes(l, lin);
      this.layers.push(layerParams(this.backend, provider.norm(l, 'attn'), provider.norm(l, 'mlp'), lin));
    }
    this.setUnembeddingFrom(provider.unembedding(), this.loadPrecision);
    const formats = this.layers.flatMap((p) => ROLES.flatMap((r) => (p.lin![r] ? [p.lin![r]!.weight.format] : [])));
    this.precision = precisionOf(formats);
    this.buildResident();
    if (opts.retainWeights === false) {
      for (const p of this.layers) p.lin = null;
      this.unembedWeight = null;
      this.released = true;
    }
  }

  hookNames(): string[] {
    return allHookNames(this.config.nLayers, this.posEmbed !== null);
  }

  /** Whether this call runs resident on the device (see models/resident.ts for what does not). */
  get residentActive(): boolean {
    return this.resident !== null;
  }

  private buildResident(): void {
    const rt = this.backend.resident;
    if (!rt) return;
    this.resident?.dispose();
    this.resident = null;
    this.residentStale = false;
    const layers = this.layers.map((p) => ({ attnNorm: p.attnNorm, mlpNorm: p.mlpNorm, lin: p.lin! }));
    const unembed =
      this.unembedWeight ??
      (this.unembedIsEmbed ? { format: 'f32' as const, n: this.config.vocabSize, k: this.config.dModel, w: this.embed } : null);
    if (!unembed || layers.some((l) => !l.lin) || !residentSupports({ layers, unembed })) return;
    this.resident = new ResidentModel(rt, {
      cfg: this.config,
      embed: this.embed,
      posEmbed: this.posEmbed,
      finalNorm: this.finalNorm,
      layers,
      unembed,
      invFreq: this.invFreq,
    });
  }

  /** The resident model for a call with these hooks, or null (per-op path): JS hooks that edit hook_pattern need it. */
  private residentFor(hooks: GenerateOptions['hooks']): ResidentModel | null {
    if (this.residentStale) this.buildResident();
    if (!this.resident) return null;
    const js = (hooks ?? []).filter((h) => !h.op);
    if (js.length) {
      const probe = new HookRunner({ hooks: js, checkFinite: false, positions: new Int32Array(0), step: 0 });
      for (let l = 0; l < this.config.nLayers; l++) if (probe.matching(`blocks.${l}.attn.hook_pattern`).length) return null;
    }
    return this.resident;
  }

  private markStale(): void {
    this.weightsVersion++;
    if (this.backend.resident) this.residentStale = true;
  }

  async forward(prompts: number[][], opts: ForwardOptions = {}): Promise<ForwardResult> {
    const pb = leftPad(prompts, this.padId(), this.config.vocabSize);
    this.checkContext(pb.len - Math.min(...pb.padding));
    const runner = new HookRunner({
      hooks: opts.hooks,
      cacheGlobs: opts.cache,
      cachePositions: opts.cachePositions,
      checkFinite: opts.checkFinite ?? true,
      positions: pb.positions,
      step: 0,
    });
    if (opts.start) this.checkStart(opts.start, pb.batch, pb.len, runner);
    if (opts.stopAtLayer !== undefined) this.checkStop(opts, runner);
    const gpu = this.residentFor(opts.hooks);
    // A prefix every prompt shares runs once (models/shared-prefix.ts); the resident GPU path runs whole batches.
    const p =
      gpu || !splitAllowed(opts, runner, this.config.nLayers)
        ? 0
        : prefixRows(prompts, opts.cache?.length ? opts.cachePositions : [], opts.prefixCache);
    // Likewise the MLP skips padding rows (models/pad-rows.ts).
    const skipPadRows = !gpu && padRowsUnseen(opts, runner, this.config.nLayers, Math.min(...prompts.map((q) => q.length)));
    // and the final block's MLP every row but the last.
    const lastRowsOnly = skipPadRows && finalRowsUnseen(opts, runner, this.config.nLayers);
    if (p > 0) return await this.forwardAfterPrefix(prompts, pb, p, opts, skipPadRows, lastRowsOnly);
    const kv = gpu ? gpu.newKv(pb.batch, pb.len) : this.newCache(pb.batch, pb.len);
    try {
      const scope = this.scopeFor(kv, runner, pb.batch * pb.len);
      try {
        const out = await this.step(
          kv,
          runner,
          {
            ids: pb.ids,
            positions: pb.positions,
            valid: pb.valid,
            t: pb.len,
            start: opts.start,
            stop: opts.stopAtLayer,
            skipPadRows,
            lastRowsOnly,
          },
          opts.logits ?? 'all',
          opts.checkFinite ?? true,
          scope,
        );
        scope?.close([out.logits]); // the logits are the caller's
        return { ...out, cache: runner.cache, padding: pb.padding };
      } finally {
        scope?.close();
      }
    } finally {
      if (kv instanceof GpuKv) {
        kv.dispose();
        gpu!.endCall();
      }
    }
  }

  /**
   * forward() with the first `p` tokens (the same in every prompt) run once, as one row, and their keys and values
   * copied into every row's cache ahead of the rest (models/shared-prefix.ts: exact, and allowed only where the
   * caller sees the same results).
   */
  private async forwardAfterPrefix(
    prompts: number[][],
    pb: PaddedBatch,
    p: number,
    opts: ForwardOptions,
    skipPadRows: boolean,
    lastRowsOnly: boolean,
  ): Promise<ForwardResult> {
    const checkFinite = opts.checkFinite ?? true;
    const start = opts.start ? splitStart(opts.start, pb.padding, pb.len, p, this.config.dModel) : null;
    const kv = this.newCache(pb.batch, pb.len);
    const rest = await this.runSharedPrefix(kv, prompts, p, opts.hooks, checkFinite, start?.prefix, opts.stopAtLayer, opts.prefixCache);
    const runner = new HookRunner({
      hooks: opts.hooks,
      cacheGlobs: opts.cache,
      cachePositions: opts.cachePositions,
      checkFinite,
      positions: rest.positions,
      step: 0,
    });
    const scope = this.scopeFor(kv, runner, pb.batch * rest.t);
    try {
      const out = await this.step(
        kv,
        runner,
        { ...rest, start: start?.suffix, stop: opts.stopAtLayer, skipPadRows, lastRowsOnly },
        opts.logits ?? 'all',
        checkFinite,
        scope,
      );
      scope?.close([out.logits]);
      return { ...out, cache: runner.cache, padding: pb.padding };
    } finally {
      scope?.close();
    }
  }

  /**
   * Runs the first `p` tokens of the prompts (the same in every one) once, as one row, from `start` (its rows) or the
   * embedding, and copies their keys and values into every row of `kv`; with `memo`, takes them from there when it
   * holds the same prefix run (and keeps this one otherwise). Returns the step input of the rest: the same left
   * padding, positions counted on from the prefix.
   */
  private async runSharedPrefix(
    kv: KvCache,
    prompts: number[][],
    p: number,
    hooks: Hook[] | undefined,
    checkFinite: boolean,
    start: StartResidual | undefined,
    stop: number | undefined,
    memo?: SharedPrefixCache,
  ): Promise<StepInput> {
    const ids = Int32Array.from(prompts[0].slice(0, p));
    const key = { ids, hooks: hooks ?? [], ops: (hooks ?? []).map((h) => h.op), start: start ?? null, stop, checkFinite };
    let prefixKv = memo?.lookup(this, this.weightsVersion, key) ?? null;
    if (!prefixKv) {
      prefixKv = this.newCache(1, p);
      const prefixPositions = Int32Array.from({ length: p }, (_, i) => i);
      const prefixRunner = new HookRunner({ hooks, checkFinite, positions: prefixPositions, step: 0 });
      const prefixScope = this.scopeFor(prefixKv, prefixRunner, p);
      try {
        const valid = [new Uint8Array(p).fill(1)];
        await this.step(
          prefixKv,
          prefixRunner,
          { ids, positions: prefixPositions, valid, t: p, start, stop },
          'none',
          checkFinite,
          prefixScope,
        );
      } finally {
        prefixScope?.close();
      }
      memo?.store(this, this.weightsVersion, key, prefixKv);
    }
    seedFromPrefix(kv, prefixKv);
    const rest = leftPad(
      prompts.map((q) => q.slice(p)),
      this.padId(),
      this.config.vocabSize,
    );
    return { ids: rest.ids, positions: rest.positions.map((q) => (q < 0 ? q : q + p)), valid: rest.valid, t: rest.len };
  }

  async generate(prompts: number[][], opts: GenerateOptions = {}): Promise<GenerateResult> {
    const maxNew = opts.maxNewTokens ?? 64;
    if (!(Number.isInteger(maxNew) && maxNew >= 0))
      throw new UsageError(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
    const pb = leftPad(prompts, this.padId(), this.config.vocabSize);
    const batch = pb.batch;
    const lens = prompts.map((p) => p.length);
    this.checkContext(Math.max(...lens) + maxNew);
    const gpu = this.residentFor(opts.hooks);
    const kv = gpu ? gpu.newKv(batch, pb.len + Math.max(maxNew, 1)) : this.newCache(batch, pb.len + Math.max(maxNew, 1));
    try {
      return await this.generateWith(kv, prompts, pb, maxNew, opts);
    } finally {
      if (kv instanceof GpuKv) {
        kv.dispose();
        gpu!.endCall();
      }
    }
  }

  private async generateWith(
    kv: KvCache | GpuKv,
    prompts: number[][],
    pb: ReturnType<typeof leftPad>,
    maxNew: number,
    opts: GenerateOptions,
  ): Promise<GenerateResult> {
    const checkFinite = opts.checkFinite ?? true;
    const stop = new Set(opts.stopTokens ?? this.config.eosTokenIds);
    const rng = makeRng(opts.seed ?? 0);
    const lens = prompts.map((p) => p.length);
    const batch = pb.batch;
    const tokens: number[][] = prompts.map(() => []);
    const finish: ('stop' | 'length')[] = prompts.map(() => 'length');
    const done = prompts.map(() => false);

    const t0 = performance.now();
    // The prompt step: a prefix every prompt shares runs once first where nobody can tell (models/shared-prefix.ts).
    // Its MLP skips padding rows likewise (models/pad-rows.ts).
    const probe = new HookRunner({ hooks: opts.hooks, checkFinite, positions: pb.positions, step: 0 });
    const unseen = kv instanceof KvCache && splitAllowed({ hooks: opts.hooks, logits: 'last' }, probe, this.config.nLayers);
    const p = unseen ? prefixRows(prompts) : 0;
    const first: StepInput = {
      ...(p > 0
        ? await this.runSharedPrefix(kv as KvCache, prompts, p, opts.hooks, checkFinite, undefined, undefined)
        : { ids: pb.ids, positions: pb.positions, valid: pb.valid, t: pb.len }),
      skipPadRows: unseen,
      lastRowsOnly: unseen,
    };
    let runner = new HookRunner({ hooks: opts.hooks, checkFinite, positions: first.positions, step: 0 });
    // Each step's arrays (logits included: sampled below, then dead) go back to the pool before the next step.
    let scope = this.scopeFor(kv, runner, batch * first.t);
    let { logits } = await this.step(kv, runner, first, 'last', checkFinite, scope);
    const prefillMs = performance.now() - t0;
    const t1 = performance.now();
    const V = this.config.vocabSize;
    for (let step = 1; step <= maxNew; step++) {
      const next = prompts.map((_, b) => {
        if (done[b]) return -1;
        const id = sampleToken(logits.subarray(b * V, (b + 1) * V), opts, rng);
        if (stop.has(id)) {
          done[b] = true;
          finish[b] = 'stop';
          return -1;
        }
        tokens[b].push(id);
        return id;
      });
      opts.onToken?.(next, step);
      if (step === maxNew || done.every(Boolean)) break;
      if (opts.signal?.aborted) throw new InterruptedError(`generation aborted after ${step} tokens`);
      // Finished rows keep running (on a pad token) so the batch stays in lockstep; their output is ignored.
      const ids = Int32Array.from(next, (id) => (id < 0 ? this.padId() : id));
      const positions = Int32Array.from(lens, (n) => n + step - 1);
      const valid = prompts.map(() => Uint8Array.of(1));
      runner = new HookRunner({ hooks: opts.hooks, checkFinite, positions, step });
      scope?.close();
      scope = this.scopeFor(kv, runner, batch);
      ({ logits } = await this.step(kv, runner, { ids, positions, valid, t: 1 }, 'last', checkFinite, scope));
    }
    scope?.close();
    const decodeMs = performance.now() - t1;
    const n = tokens.reduce((a, r) => a + r.length, 0);
    return { tokens, finish, prefillMs, decodeMs, tokensPerSecond: n / Math.max((prefillMs + decodeMs) / 1000, 1e-9) };
  }

  /**
   * Reusable arrays for one CPU step over `rows` new rows (step-buffers.ts), or null: on the resident GPU path, on a
   * backend whose ops ignore `out` (gpu.js), when a hook may keep what it sees (one without a declared op), or when
   * a block's intermediates are too big to hold.
   */
  private scopeFor(kv: KvCache | GpuKv, runner: HookRunner, rows: number): StepScope | null {
    if (kv instanceof GpuKv || runner.mayRetain || !this.backend.writesOut) return null;
    const { dModel, dMlp } = this.config;
    return this.stepBuffers.open(rows * (8 * dModel + 4 * dMlp) * 4); // about one block's intermediates
  }

  /**
   * One forward over `t` new slots per row, appending to the KV cache; logits per `mode`.
   * Shapes (row-major Float32Array): ids [batch·t] -> x [batch·t, d_model] -> (each block; KV cache per layer and
   * sequence [capacity, n_kv_heads·head_dim], `kv.length` slots filled before this call) -> x [batch·t, d_model]
   * -> final norm -> logits [batch, positions, vocab] with positions = t ('all'), 1 ('last') or 0 ('none').
   * On webgpu (GpuKv) the whole step runs resident (models/resident.ts).
   */
  private async step(
    kv: KvCache | GpuKv,
    runner: HookRunner,
    inp: StepInput,
    mode: 'all' | 'last' | 'none',
    checkFinite: boolean,
    scope: StepScope | null,
  ) {
    if (kv instanceof GpuKv) return this.resident!.step(kv, runner, inp, mode, checkFinite);
    const cfg = this.config;
    const batch = kv.batch;
    const ctx: ForwardCtx = {
      backend: this.backend,
      cfg,
      runner,
      kv,
      batch,
      t: inp.t,
      ropePos: Int32Array.from(inp.positions, (p) => Math.max(p, 0)),
      invFreq: this.invFreq,
      scope,
      liveRows: inp.skipPadRows ? liveRowsOf(inp.valid, inp.t) : null,
      finalRows: inp.lastRowsOnly ? lastRowsOf(batch, inp.t) : null,
    };
    kv.appendMask(inp.valid, inp.t);
    // x [batch·t, d_model]: the residual stream of the t new positions of every sequence. The ordinary forward
    // starts at block 0 from the embedding; a start residual stands for everything below its block (copied: hooks
    // edit activations in place).
    const first = inp.start?.layer ?? 0;
    let x = inp.start
      ? inp.start.residual.slice()
      : await this.family.embed(ctx, { tokens: this.embed, positions: this.posEmbed }, inp.ids);
    for (let l = first; l < (inp.stop ?? cfg.nLayers); l++) {
      const mark = scope?.mark() ?? 0;
      const next = await this.family.block(ctx, l, this.layers[l], x);
      // Block l's intermediates are dead now (the KV cache copied k, v): reuse them for block l + 1. Its input x
      // (lent before the mark) goes back too; release ignores an array the scope did not lend (a start residual).
      scope?.releaseSince(mark, [next]);
      scope?.release(x);
      x = next;
    }
    kv.advance(inp.t);
    if (inp.stop !== undefined) return { logits: new Float32Array(0), logitsShape: [batch, 0, cfg.vocabSize] };
    // normed [batch·t, d_model]
    const normed = hookAt(ctx, 'ln_final.hook_normalized', null, await normalize(ctx, x, this.finalNorm), cfg.dModel);
    if (mode === 'none') return { logits: new Float32Array(0), logitsShape: [batch, 0, cfg.vocabSize] };
    let rows = normed;
    let per = inp.t;
    if (mode === 'last' && inp.t > 1) {
      per = 1;
      rows = scope?.f32(batch * cfg.dModel) ?? new Float32Array(batch * cfg.dModel);
      for (let b = 0; b < batch; b++)
        rows.set(normed.subarray(((b + 1) * inp.t - 1) * cfg.dModel, (b + 1) * inp.t * cfg.dModel), b * cfg.dModel);
    }
    const logits = await this.unembed.apply(rows, batch * per, scope); // logits [batch, per, vocab]
    if (checkFinite) assertFinite(logits, 'logits');
    return { logits, logitsShape: [batch, per, cfg.vocabSize] };
  }

  getLinear(layer: number, role: LinearRole): ModelLinear {
    return this.layerLinear(layer, role);
  }

  setLinear(layer: number, role: LinearRole, w: ModelLinear): void {
    const old = this.layerLinear(layer, role);
    if (w.weight.n !== old.weight.n || w.weight.k !== old.weight.k)
      throw new UsageError(`setLinear: layer ${layer} ${role} is [${old.weight.n}, ${old.weight.k}], got [${w.weight.n}, ${w.weight.k}]`);
    if (w.bias && w.bias.length !== w.weight.n)
      throw new UsageError(`setLinear: layer ${layer} ${role} bias has ${w.bias.length} values, want ${w.weight.n}`);
    const p = this.layers[layer];
    const lin = { ...p.lin!, [role]: { weight: w.weight, bias: w.bias } };
    // Re-upload only the group holding this role.
    if (role === 'q' || role === 'k' || role === 'v') p.qkv = new LinearGroup(this.backend, [lin.q!, lin.k!, lin.v!]);
    else if (role === 'o') p.o = new LinearGroup(this.backend, [lin.o!]);
    else if (role === 'down') p.down = new LinearGroup(this.backend, [lin.down!]);
    else p.mlpIn = new LinearGroup(this.backend, lin.gate ? [lin.gate, lin.up!] : [lin.up!]);
    p.lin = lin;
    this.markStale();
  }

  getNorm(layer: number, which: NormWhich): ModelNorm {
    const p = this.layerAt(layer, `${which} norm`);
    return which === 'attn' ? p.attnNorm : p.mlpNorm;
  }

  /** Norms run from host arrays on every backend, so replacing the object is the whole update. */
  setNorm(layer: number, which: NormWhich, norm: ModelNorm): void {
    const p = this.layerAt(layer, `setNorm ${which}`);
    const d = this.config.dModel;
    const what = `setNorm: layer ${layer} ${which} norm`;
    if (norm.w.length !== d) throw new UsageError(`${what} weight has ${norm.w.length} values, want ${d}`);
    const wantBias = this.config.norm === 'layer';
    if (wantBias !== (norm.b !== null))
      throw new UsageError(`${what}: ${wantBias ? 'LayerNorm needs a bias' : 'RMSNorm takes no bias'}, got ${norm.b ? 'one' : 'none'}`);
    if (norm.b && norm.b.length !== d) throw new UsageError(`${what} bias has ${norm.b.length} values, want ${d}`);
    const nw = { w: norm.w, b: norm.b };
    if (which === 'attn') p.attnNorm = nw;
    else p.mlpNorm = nw;
    this.markStale();
  }

  getFinalNorm(): ModelNorm {
    return this.finalNorm;
  }

  getEmbedding(): Float32Array {
    return this.embed;
  }

  setEmbedding(table: Float32Array): void {
    expectLength(table, this.config.vocabSize * this.config.dModel, 'setEmbedding table');
    this.embed = table;
    this.markStale();
    if (this.config.tiedEmbeddings)
      this.setUnembeddingFrom(null, this.precision === 'f32' || !this.quantizeUnembedding ? undefined : this.precision);
  }

  getUnembedding(): LayerWeight {
    this.assertRetained('getUnembedding');
    return this.unembedWeight!;
  }

  setUnembedding(w: LayerWeight): void {
    if (w.n !== this.config.vocabSize || w.k !== this.config.dModel)
      throw new UsageError(`setUnembedding: want [${this.config.vocabSize}, ${this.config.dModel}], got [${w.n}, ${w.k}]`);
    this.unembed = new LinearGroup(this.backend, [{ weight: w, bias: null }]);
    this.unembedWeight = w;
    this.unembedIsEmbed = false;
    this.markStale();
  }

  /** Shares this model's backend (dispose clones before a model that owns its backend). */
  clone(): Model {
    this.assertRetained('clone');
    return new DecoderModel(cloneProvider(this.exportProvider()), {
      backend: this.backend,
      groupSize: this.groupSize,
      quantizeUnembedding: this.quantizeUnembedding,
      allowLongContext: this.allowLongContext,
    });
  }

  /** Drops the weights; the backend too when this model created it (its worker threads end). */
  dispose(): void {
    this.resident?.dispose();
    this.resident = null;
    this.layers.length = 0;
    if (this.ownsBackend) this.backend.dispose();
  }

  /** This model's current parameters as a provider (no copies; clone.ts copies them). */
  exportProvider(): WeightProvider {
    return {
      config: this.config,
      tokenizer: this.tokenizer,
      embedding: () => this.embed,
      posEmbedding: () => this.posEmbed,
      norm: (l, which) => (which === 'attn' ? this.layers[l].attnNorm : this.layers[l].mlpNorm),
      finalNorm: () => this.finalNorm,
      linear: (l, role) => this.getLinear(l, role),
      unembedding: () => (this.unembedIsEmbed ? null : this.getUnembedding()),
      close: () => {},
    };
  }

  private convert(lin: ModelLinear, name: string, precision: WeightPrecision | undefined): ModelLinear {
    return { weight: precision ? toPrecision(lin.weight, precision, this.groupSize, name) : lin.weight, bias: lin.bias };
  }

  /** Untied: the given weight. Tied: the embedding, quantized when the model runs quantized. */
  private setUnembeddingFrom(w: LayerWeight | null, precision: WeightPrecision | undefined): void {
    const { vocabSize: V, dModel: d } = this.config;
    const p = this.quantizeUnembedding ? precision : undefined;
    const weight: LayerWeight = w ?? { format: 'f32', n: V, k: d, w: this.embed };
    if (weight.n !== V || weight.k !== d) throw new ConfigError(`lm_head: shape [${weight.n}, ${weight.k}], want [${V}, ${d}]`);
    const lin = this.convert({ weight, bias: null }, 'lm_head', p);
    this.unembed = new LinearGroup(this.backend, [lin]);
    this.unembedWeight = this.released ? null : lin.weight;
    this.unembedIsEmbed = w === null && lin.weight.format === 'f32';
  }

  private assertRetained(what: string): void {
    if (this.released) throw new UsageError(`${what}: this model was built with retainWeights false (inference only)`);
  }

  /** Weight access is refused on inference-only models (retainWeights false), norms included, for one contract. */
  private layerAt(layer: number, what: string): LayerParams {
    this.assertRetained(`layer ${layer} ${what}`);
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.layers.length))
      throw new UsageError(`layer ${layer} is outside 0..${this.layers.length - 1}`);
    return this.layers[layer];
  }

  private layerLinear(layer: number, role: LinearRole): ModelLinear {
    const lin = this.layerAt(layer, role).lin![role];
    if (!lin) throw new UsageError(`${this.config.family} blocks have no '${role}' linear`);
    return lin;
  }

  private checkShapes(l: number, lins: Record<LinearRole, ModelLinear | null>): void {
    const { dModel: d, nHeads, nKvHeads, headDim: hd, dMlp } = this.config;
    const want: Record<LinearRole, [number, number]> = {
      q: [nHeads * hd, d],
      k: [nKvHeads * hd, d],
      v: [nKvHeads * hd, d],
      o: [d, nHeads * hd],
      gate: [dMlp, d],
      up: [dMlp, d],
      down: [d, dMlp],
    };
    for (const role of ROLES) {
      const lin = lins[role];
      if (!lin) continue;
      const [n, k] = want[role];
      if (lin.weight.n !== n || lin.weight.k !== k)
        throw new ConfigError(`layer ${l} ${role}: weight is [${lin.weight.n}, ${lin.weight.k}], config implies [${n}, ${k}]`);
    }
  }

  /** A start residual must fit the padded batch, and nothing may hook or cache a point below it (it does not run). */
  private checkStart(start: StartResidual, batch: number, len: number, runner: HookRunner): void {
    const { nLayers, dModel } = this.config;
    const l = start.layer;
    if (!(Number.isInteger(l) && l >= 0 && l < nLayers)) throw new UsageError(`forward: start layer ${l} is outside 0..${nLayers - 1}`);
    const want = batch * len * dModel;
    if (!(start.residual instanceof Float32Array) || start.residual.length !== want)
      throw new UsageError(
        `forward: start residual for blocks.${l}.hook_resid_pre has ${start.residual?.length} values, ` +
          `want ${batch}x${len}x${dModel} (batch x longest prompt x d_model) = ${want}`,
      );
    // Below the start: the embedding's points (hook_embed, hook_pos_embed) and blocks 0..l-1 (ln_final is above).
    const below = this.hookNames().filter((n) => (n.startsWith('blocks.') ? Number(n.split('.')[1]) < l : n.startsWith('hook_')));
    const named = below.find((n) => runner.wants(n));
    if (named !== undefined)
      throw new UsageError(`forward: a hook or cache names ${named}, below the start layer ${l} (those points do not run)`);
  }

  /** A stop layer must leave a block to run, logits must be 'none', and nothing may hook or cache a point at or above it. */
  private checkStop(opts: ForwardOptions, runner: HookRunner): void {
    const { nLayers } = this.config;
    const stop = opts.stopAtLayer!;
    const first = opts.start?.layer ?? 0;
    if (!(Number.isInteger(stop) && stop > first && stop <= nLayers))
      throw new UsageError(`forward: stopAtLayer ${stop} must be an integer in ${first + 1}..${nLayers} (at least one block must run)`);
    if ((opts.logits ?? 'all') !== 'none')
      throw new UsageError(`forward: stopAtLayer ${stop} runs no unembedding; pass logits: 'none' (got '${opts.logits ?? 'all'}')`);
    // At or above the stop: blocks stop.. and the final norm (the embedding's points are below).
    const above = this.hookNames().filter((n) => (n.startsWith('blocks.') ? Number(n.split('.')[1]) >= stop : n.startsWith('ln_final')));
    const named = above.find((n) => runner.wants(n));
    if (named !== undefined)
      throw new UsageError(`forward: a hook or cache names ${named}, at or above stopAtLayer ${stop} (those points do not run)`);
  }

  /** `realLen`: the longest real (unpadded) sequence this call can reach. */
  private checkContext(realLen: number): void {
    const win = this.config.slidingWindow;
    if (win !== null && realLen > win)
      throw new ConfigError(
        `config.json: sliding_window ${win} is smaller than the ${realLen}-token context; sliding-window attention is not implemented`,
      );
    // Every family is refused past config.json's positions by default; RoPE families ('sliding-window-only': no
    // table to run out of) may go past them with allowLongContext.
    const max = this.config.maxPositions;
    const hard = this.family.contextLimit === 'max-positions';
    if (realLen > max && (hard || !this.allowLongContext)) {
      const field = hard ? 'n_positions' : 'max_position_embeddings';
      const hint = hard ? '' : '; --allow-long-context runs past it';
      throw new UsageError(`context of ${realLen} tokens exceeds ${field} ${max} in config.json (prompt + new tokens${hint})`);
    }
  }

  /** The cache is preallocated: its size is checked against memory first, so a huge --max-tokens is one line. */
  private newCache(batch: number, capacity: number): KvCache {
    const { nLayers, nKvHeads, headDim } = this.config;
    const bytes = 2 * 4 * nLayers * batch * capacity * nKvHeads * headDim;
    const limit = Math.floor(totalmem() * KV_MEMORY_SHARE);
    const perRow = capacity * nKvHeads * headDim;
    if (bytes > limit || perRow > 2 ** 32 - 1)
      throw new UsageError(
        `KV cache for ${capacity} positions x batch ${batch} needs ${bytes} bytes, more than ${limit} bytes (half of this machine's memory)`,
      );
    return new KvCache({ nLayers, batch, capacity, nKvHeads, headDim });
  }

  private padId(): number {
    // Any in-vocabulary id works: padding slots are masked out of attention and never read.
    const id = this.config.padTokenId ?? this.config.eosTokenIds[0] ?? 0;
    return id >= 0 && id < this.config.vocabSize ? id : 0;
  }
}

function expectLength(a: Float32Array, n: number, what: string): void {
  if (a.length !== n) throw new ConfigError(`${what}: ${a.length} values, config implies ${n}`);
}
