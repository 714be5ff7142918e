/**
 * A whole decoder model resident on a WebGPU device (kernels/webgpu/): weights uploaded and packed once,
 * activations, the KV cache and the padding mask stay on the device between ops, layers and decode
 * steps, and each forward step is recorded into one command encoder and submitted once. What comes back
 * is what the caller asked for: the logits ('last' by default in generate: [batch, V]), the activations
 * of cached hook points (gathered on the device at the requested positions), and, for JavaScript hooks,
 * the hooked activation (read back, the hook called, the result uploaded: one extra submit + readback
 * per hooked site and step). Hooks that declare an `op` (directional ablation, activation addition,
 * activation patching from a cached run whose activations stay on the device) run as kernels, without a readback.
 *
 * The block math follows llama.ts / gpt2.ts exactly, by capability: LayerNorm + biases + gelu + learned
 * positions where the config says so, RMSNorm + RoPE + silu-gated MLP otherwise.
 *
 * Not resident (DecoderModel falls back to its per-op path): W8A8 LLM.int8() weights (per-token activation
 * quantization runs on the per-op path's JS kernel), a mixed lm_head, and JavaScript hooks on attn.hook_pattern (an
 * edited pattern needs z recomputed from it). Mixed (int8-outlier-cols) block weights run resident: int8 main +
 * gathered f32 outlier columns, added on the device.
 */
import { GpuMemoryError, NonFiniteError } from '../engine/errors.ts';
import { estimateMemory, linearBytes } from '../engine/memory-estimate.ts';
import type { ModelConfig } from '../engine/types.ts';
import { widenBf16Weight } from '../kernels/formats.ts';
import type { LinearWeight } from '../kernels/types.ts';
import type { GpuWeight } from '../kernels/webgpu/linear.ts';
import { freeLinear, freeMixed, recordLinear, recordMixed, uploadLinear, uploadMixed, type GpuLinear } from '../kernels/webgpu/linear.ts';
import type { GpuMixed } from '../kernels/webgpu/linear.ts';
import * as ops from '../kernels/webgpu/ops.ts';
import type { GpuTensor, WgpuRuntime } from '../kernels/webgpu/runtime.ts';
import type { HookRunner } from './hook-runner.ts';
import { checkPatchTargets, patchCols } from './patch-op.ts';
import { concatRows } from './split-rows.ts';
import type { Hook, LayerWeight, LinearRole, ModelLinear, StartResidual } from './types.ts';
import type { NormWeights } from './weight-provider.ts';

/** The host-side parameters the resident copy is built from. */
export interface ResidentSource {
  cfg: ModelConfig;
  embed: Float32Array;
  posEmbed: Float32Array | null;
  finalNorm: NormWeights;
  layers: { attnNorm: NormWeights; mlpNorm: NormWeights; lin: Record<LinearRole, ModelLinear | null> }[];
  unembed: LayerWeight;
  invFreq: Float32Array | null;
}

interface Group {
  /** `h` is the Linear (for a mixed one, its int8 main part, whose n and bias slot it shares). */
  members: { h: GpuLinear; mixed: GpuMixed | null; col: number }[];
  width: number;
  bias: GpuTensor | null;
  maxK: number;
}

interface Norm {
  w: GpuTensor;
  b: GpuTensor | null;
}

interface Layer {
  /** gate|up (silu-gated MLP) or up alone (gelu MLP). */
  gated: boolean;
  attnNorm: Norm;
  mlpNorm: Norm;
  qkv: Group;
  o: Group;
  mlpIn: Group;
  down: Group;
}

/** Device bytes kept for patch sources across calls (a 0.5B model's 24 layers x 3 sites x 64 tokens: 16 MiB). */
const PATCH_SOURCE_BYTES = 64 * 2 ** 20;

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Weight bytes the resident copy of a model takes at `precision`, from its config alone: the engine's
 * estimate plus, for tied embeddings, the separate unembedding matrix the device holds.
 */
export function residentWeightBytes(cfg: ModelConfig, precision: 'f32' | 'int8' | 'int4'): number {
  const base = estimateMemory(cfg)[precision];
  return base + (cfg.tiedEmbeddings ? linearBytes(cfg.vocabSize, cfg.dModel, precision) : 0);
}

/** Refuses, before anything is read or uploaded, a model whose weights do not fit the GPU (sizes named). */
export function checkResidentFits(rt: WgpuRuntime, cfg: ModelConfig, stored: 'f32' | 'bf16' | 'int8' | 'int4'): void {
  const budget = rt.memoryBudget;
  if (!budget) return;
  // bf16 weights are uploaded widened to f32
  const precision = stored === 'bf16' ? 'f32' : stored;
  const need = residentWeightBytes(cfg, precision);
  // keep 10% for activations, the KV cache and the driver
  if (need > 0.9 * budget.bytes)
    throw new GpuMemoryError(
      `webgpu: the model needs ${gib(need)} of GPU memory for its ${precision} weights (${cfg.nLayers} layers, d_model ${cfg.dModel}, ` +
        `vocab ${cfg.vocabSize}), more than 90% of the GPU's ${gib(budget.bytes)} (${budget.source}); use a smaller precision or --backend wasm-simd`,
    );
}

/**
 * True when every weight has a resident kernel: f32, bf16, int8, int4, and LLM.int8() mixed (int8-outlier-cols) in
 * the decoder blocks; not W8A8 (per-token activation quantization: the per-op path's JS kernel) nor a mixed lm_head.
 */
export function residentSupports(src: Pick<ResidentSource, 'layers' | 'unembed'>): boolean {
  const plain = ['f32', 'bf16', 'int8', 'int4'];
  if (!plain.includes(src.unembed.format)) return false;
  return src.layers.every((l) => Object.values(l.lin).every((m) => !m || plain.includes(m.weight.format) || m.weight.format === 'mixed'));
}

/** The KV cache of one generate/forward call, on the device: [batch, cap, nKv·hd] per layer, and the mask. */
export class GpuKv {
  readonly k: GpuTensor[];
  readonly v: GpuTensor[];
  readonly mask: GpuTensor;
  length = 0;
  constructor(
    private readonly rt: WgpuRuntime,
    nLayers: number,
    readonly batch: number,
    readonly cap: number,
    readonly nKvHeads: number,
    readonly headDim: number,
  ) {
    const n = batch * cap * nKvHeads * headDim;
    this.k = Array.from({ length: nLayers }, (_, l) => rt.tensor(n, `layer ${l} key cache`));
    this.v = Array.from({ length: nLayers }, (_, l) => rt.tensor(n, `layer ${l} value cache`));
    this.mask = rt.tensor(batch * cap, 'padding mask');
  }
  dispose(): void {
    for (const t of [...this.k, ...this.v, this.mask]) this.rt.free(t);
  }
}

export interface ResidentStep {
  ids: Int32Array;
  positions: Int32Array;
  valid: Uint8Array[];
  t: number;
  /** Start at this block from this residual [batch·t, d_model]; absent: block 0 from the embedding. */
  start?: StartResidual;
  /** Run blocks below this one only, then stop (no final norm, no logits); absent: every block. */
  stop?: number;
}

interface Workspace {
  ids: GpuTensor;
  cs: GpuTensor;
  pos: GpuTensor;
  pe: GpuTensor;
  x: GpuTensor;
  mid: GpuTensor;
  h: GpuTensor;
  qkv: GpuTensor;
  z: GpuTensor;
  attnOut: GpuTensor;
  gu: GpuTensor;
  post: GpuTensor;
  mlpOut: GpuTensor;
  scratch: GpuTensor;
  mixedIn: GpuTensor;
  mixedOut: GpuTensor;
  pattern: GpuTensor;
  lastIdx: GpuTensor;
  last: GpuTensor;
  lastLogits: GpuTensor;
  logits: GpuTensor;
}

/** One pending readback of a cached hook point. */
interface CacheRead {
  name: string;
  t: GpuTensor;
  shape: number[];
}

export class ResidentModel {
  private readonly layers: Layer[] = [];
  private readonly embed: ops.GpuTable;
  private readonly posEmbed: ops.GpuTable | null;
  private readonly finalNorm: Norm;
  private readonly unembed: Group;
  private readonly cfg: ModelConfig;
  private readonly invFreq: Float32Array | null;
  /** Bytes of weights uploaded (packed), for the benches. */
  readonly weightBytes: number;
  private readonly owned: GpuTensor[] = [];
  private readonly linears: GpuLinear[] = [];
  private readonly mixeds: GpuMixed[] = [];
  /** Widest outlier input and output of any mixed member: the workspace's mixed scratch sizes per row. */
  private mixedIn = 0;
  private mixedOut = 0;
  private readonly unitVectors = new Map<Float32Array, GpuTensor>();

  constructor(
    readonly rt: WgpuRuntime,
    src: ResidentSource,
  ) {
    this.cfg = src.cfg;
    this.invFreq = src.invFreq;
    const before = rt.allocated;
    this.embed = ops.uploadTable(rt, src.embed, src.cfg.dModel, 'token embedding');
    this.owned.push(...this.embed.parts.map((p) => p.t));
    this.posEmbed = src.posEmbed ? ops.uploadTable(rt, src.posEmbed, src.cfg.dModel, 'position embedding') : null;
    if (this.posEmbed) this.owned.push(...this.posEmbed.parts.map((p) => p.t));
    this.finalNorm = this.norm(src.finalNorm, 'final norm');
    src.layers.forEach((l, i) => {
      const lin = l.lin;
      this.layers.push({
        gated: lin.gate !== null,
        attnNorm: this.norm(l.attnNorm, `layer ${i} attn norm`),
        mlpNorm: this.norm(l.mlpNorm, `layer ${i} mlp norm`),
        qkv: this.group([lin.q!, lin.k!, lin.v!], `layer ${i} qkv`),
        o: this.group([lin.o!], `layer ${i} o`),
        mlpIn: this.group(lin.gate ? [lin.gate, lin.up!] : [lin.up!], `layer ${i} mlp in`),
        down: this.group([lin.down!], `layer ${i} down`),
      });
    });
    this.unembed = this.group([{ weight: src.unembed, bias: null }], 'lm_head');
    this.weightBytes = rt.allocated - before;
  }

  private norm(n: NormWeights, what: string): Norm {
    const w = this.rt.upload(n.w, `${what} weight`);
    const b = n.b ? this.rt.upload(n.b, `${what} bias`) : null;
    this.owned.push(w);
    if (b) this.owned.push(b);
    return { w, b };
  }

  /** Linears reading one input: one row-concatenated upload when formats agree, else one per member, side by side in y. */
  private group(lins: ModelLinear[], what: string): Group {
    // bf16 is uploaded as the f32 weight it stands for (exact widening; the resident kernels read f32 or packed ints).
    if (lins.some((l) => l.weight.format === 'mixed')) return this.mixedGroup(lins, what);
    const ws = lins.map((l) => asGpuWeight(l.weight as LinearWeight));
    const width = ws.reduce((a, w) => a + w.n, 0);
    const bias = this.groupBias(lins, width, what);
    const members: Group['members'] = [];
    if (ws.length > 1 && fusable(ws)) {
      members.push({ h: uploadLinear(this.rt, concatRows(ws), what), mixed: null, col: 0 });
    } else {
      let col = 0;
      for (const w of ws) {
        members.push({ h: uploadLinear(this.rt, w, what), mixed: null, col });
        col += w.n;
      }
    }
    this.linears.push(...members.map((m) => m.h));
    return { members, width, bias, maxK: Math.max(...ws.map((w) => w.k)) };
  }

  /** The members' biases side by side (zeros for a member without one), or null when none has one. */
  private groupBias(lins: ModelLinear[], width: number, what: string): GpuTensor | null {
    if (!lins.some((l) => l.bias)) return null;
    const b = new Float32Array(width);
    let o = 0;
    for (const l of lins) {
      if (l.bias) b.set(l.bias, o);
      o += l.weight.n;
    }
    const t = this.rt.upload(b, `${what} bias`);
    this.owned.push(t);
    return t;
  }

  /** A group with LLM.int8() mixed members (int8-outlier-cols): one upload per member, none fused. */
  private mixedGroup(lins: ModelLinear[], what: string): Group {
    const width = lins.reduce((a, l) => a + l.weight.n, 0);
    const bias = this.groupBias(lins, width, what);
    const members: Group['members'] = [];
    let col = 0;
    for (const l of lins) {
      const w = l.weight;
      if (w.format === 'mixed') {
        const mixed = uploadMixed(this.rt, w, what);
        this.mixeds.push(mixed);
        this.mixedIn = Math.max(this.mixedIn, w.outlierCols.length);
        this.mixedOut = Math.max(this.mixedOut, w.n);
        members.push({ h: mixed.main, mixed, col });
      } else {
        const h = uploadLinear(this.rt, asGpuWeight(w as LinearWeight), what);
        this.linears.push(h);
        members.push({ h, mixed: null, col });
      }
      col += w.n;
    }
    return { members, width, bias, maxK: Math.max(...lins.map((l) => l.weight.k)) };
  }

  private runGroup(g: Group, x: GpuTensor, rows: number, y: GpuTensor, ws: Workspace): void {
    const scratch = ws.scratch;
    const run = (m: Group['members'][number], bias: GpuTensor | null) =>
      m.mixed
        ? recordMixed(this.rt, m.mixed, x, rows, y, bias, { width: g.width, col: m.col, scratch, xo: ws.mixedIn, yo: ws.mixedOut })
        : recordLinear(this.rt, m.h, x, rows, y, bias, { width: g.width, col: m.col, scratch });
    // A group's bias is added once, by a kernel covering all of it: with one member (fused or single)
    // the linear kernel adds it; with several, each adds its own slice (bias index = member column).
    if (g.members.length === 1) {
      run(g.members[0], g.bias);
      return;
    }
    for (const m of g.members) {
      const sliceBias = g.bias ? this.biasSlice(g, m) : null;
      run(m, sliceBias);
    }
  }

  private readonly slices = new Map<string, GpuTensor>();
  private biasSlice(g: Group, m: Group['members'][number]): GpuTensor {
    const key = `${g.bias!.id}:${m.col}`;
    let t = this.slices.get(key);
    if (!t) {
      t = this.rt.tensor(m.h.n, 'bias slice');
      this.rt.copy(g.bias!, m.col, t, 0, m.h.n);
      this.slices.set(key, t);
      this.owned.push(t);
    }
    return t;
  }

  newKv(batch: number, cap: number): GpuKv {
    const budget = this.rt.memoryBudget;
    const kvBytes = 2 * this.cfg.nLayers * batch * cap * this.cfg.nKvHeads * this.cfg.headDim * 4;
    if (budget && this.rt.allocated + kvBytes > budget.bytes)
      throw new GpuMemoryError(
        `webgpu: a KV cache of ${batch} x ${cap} tokens needs ${gib(kvBytes)}; with ${gib(this.rt.allocated)} already on the GPU ` +
          `that exceeds its ${gib(budget.bytes)} (${budget.source}); use fewer prompts per batch or fewer new tokens`,
      );
    return new GpuKv(this.rt, this.cfg.nLayers, batch, cap, this.cfg.nKvHeads, this.cfg.headDim);
  }

  /**
   * One forward over `t` new slots per row, appending to `kv`; logits per `mode`. Hooks and caching go
   * through `runner` (its positions / step / cache). Returns host logits [batch, t or 1, V].
   */
  async step(
    kv: GpuKv,
    runner: HookRunner,
    inp: ResidentStep,
    mode: 'all' | 'last' | 'none',
    checkFinite: boolean,
  ): Promise<{ logits: Float32Array; logitsShape: number[] }> {
    const { rt, cfg } = this;
    const { batch } = kv;
    const t = inp.t;
    const rows = batch * t;
    const d = cfg.dModel;
    const { nHeads, headDim: hd, dMlp } = cfg;
    const kvw = cfg.nKvHeads * hd;
    const qkvW = nHeads * hd + 2 * kvw;
    const s = kv.length + t;
    if (s > kv.cap) throw new RangeError(`KV cache full: ${kv.length} + ${t} > ${kv.cap}`);
    const w = this.workspace(batch, t, kv.cap);
    try {
      // Inputs of this step: token ids, RoPE cos/sin (or wpe positions), the new slots' mask bits.
      rt.write(w.ids, Uint32Array.from(inp.ids));
      for (let b = 0; b < batch; b++) rt.write(kv.mask, Uint32Array.from(inp.valid[b].subarray(0, t)), b * kv.cap + kv.length);
      const ropePos = Int32Array.from(inp.positions, (p) => Math.max(p, 0));
      const cs = this.invFreq ? w.cs : null;
      if (cs) rt.write(cs, ops.ropeTables(ropePos, this.invFreq!));
      const { x, mid, h, qkv, z, attnOut, gu, post, mlpOut, scratch, pattern } = w;
      const reads: CacheRead[] = [];
      const site = (name: string, layer: number | null, act: GpuTensor, width: number, n = rows) =>
        this.site(runner, reads, name, layer, act, width, batch, t, n);

      // The ordinary forward starts at block 0 from the embedding; a start residual stands for the blocks below it.
      if (inp.start) rt.write(x, inp.start.residual);
      else ops.recordEmbedding(rt, this.embed, w.ids, rows, x);
      if (!inp.start) await site('hook_embed', null, x, d);
      if (this.posEmbed && !inp.start) {
        const { pos, pe } = w;
        rt.write(pos, Uint32Array.from(ropePos));
        const maxPos = this.posEmbed.rows;
        for (const p of ropePos) if (p >= maxPos) throw new RangeError(`gpt2: position ${p} exceeds the ${maxPos} learned positions (wpe)`);
        ops.recordEmbedding(rt, this.posEmbed, pos, rows, pe);
        await site('hook_pos_embed', null, pe, d);
        ops.recordAdd(rt, x, pe, mid, rows * d);
        rt.copy(mid, 0, x, 0, rows * d);
      }
      for (let l = inp.start?.layer ?? 0; l < (inp.stop ?? cfg.nLayers); l++) {
        const p = this.layers[l];
        const B = `blocks.${l}`;
        await site(`${B}.hook_resid_pre`, l, x, d);
        this.normalize(x, p.attnNorm, h, rows);
        await site(`${B}.ln1.hook_normalized`, l, h, d);
        this.runGroup(p.qkv, h, rows, qkv, w);
        if (cs) {
          ops.recordRope(rt, qkv, cs, rows, nHeads, hd, qkvW, 0);
          ops.recordRope(rt, qkv, cs, rows, cfg.nKvHeads, hd, qkvW, nHeads * hd);
        }
        const layout = { batch, cap: kv.cap, nKvHeads: cfg.nKvHeads, headDim: hd };
        ops.recordKvWrite(rt, qkv, kv.k[l], kv.v[l], layout, t, kv.length, qkvW, nHeads * hd, nHeads * hd + kvw);
        ops.recordAttention(rt, {
          qkv,
          width: qkvW,
          kc: kv.k[l],
          vc: kv.v[l],
          mask: kv.mask,
          kv: layout,
          nHeads,
          t,
          s,
          scale: 1 / Math.sqrt(hd),
          pattern,
          z,
        });
        if (runner.wants(`${B}.attn.hook_pattern`)) await site(`${B}.attn.hook_pattern`, l, pattern, s, batch * nHeads * t);
        await site(`${B}.attn.hook_z`, l, z, nHeads * hd);
        this.runGroup(p.o, z, rows, attnOut, w);
        await site(`${B}.hook_attn_out`, l, attnOut, d);
        ops.recordAdd(rt, x, attnOut, mid, rows * d);
        await site(`${B}.hook_resid_mid`, l, mid, d);
        this.normalize(mid, p.mlpNorm, h, rows);
        await site(`${B}.ln2.hook_normalized`, l, h, d);
        this.runGroup(p.mlpIn, h, rows, gu, w);
        if (p.gated) ops.recordSiluGate(rt, gu, post, rows, dMlp);
        else ops.recordGelu(rt, gu, post, rows * dMlp);
        await site(`${B}.mlp.hook_post`, l, post, dMlp);
        this.runGroup(p.down, post, rows, mlpOut, w);
        await site(`${B}.hook_mlp_out`, l, mlpOut, d);
        ops.recordAdd(rt, mid, mlpOut, x, rows * d);
        await site(`${B}.hook_resid_post`, l, x, d);
      }
      kv.length += t;
      if (inp.stop === undefined) {
        this.normalize(x, this.finalNorm, h, rows);
        await site('ln_final.hook_normalized', null, h, d);
      }
      const V = cfg.vocabSize;
      let logitsT: GpuTensor | null = null;
      let per = t;
      if (mode !== 'none') {
        let src = h;
        let n = rows;
        if (mode === 'last' && t > 1) {
          per = 1;
          n = batch;
          rt.write(
            w.lastIdx,
            Uint32Array.from({ length: batch }, (_, b) => b * t + t - 1),
          );
          src = w.last;
          ops.recordGatherRows(rt, h, w.lastIdx, batch, d, src);
        }
        logitsT = per === 1 ? w.lastLogits : w.logits;
        this.runGroup(this.unembed, src, n, logitsT, w);
      }
      const got = await rt.read([
        ...(logitsT ? [{ t: logitsT, length: (per === 1 ? batch : rows) * V }] : []),
        ...reads.map((r) => ({ t: r.t })),
      ]);
      const logits = logitsT ? got[0].slice() : new Float32Array(0);
      const cached = logitsT ? got.slice(1) : got;
      reads.forEach((r, i) => runner.store(r.name, { data: cached[i].slice(), shape: r.shape }));
      if (checkFinite) assertFiniteLogits(logits);
      return { logits, logitsShape: [batch, mode === 'none' ? 0 : per, V] };
    } finally {
      rt.submit();
      this.freePending();
    }
  }

  private readonly workspaces = new Map<string, Workspace>();

  /** The activation buffers of a step shape, kept for the call (same buffers every decode step: cached bind groups). */
  private workspace(batch: number, t: number, cap: number): Workspace {
    const key = `${batch}x${t}x${cap}`;
    let w = this.workspaces.get(key);
    if (w) return w;
    const { rt, cfg } = this;
    const rows = batch * t;
    const { dModel: d, nHeads, headDim: hd, dMlp, vocabSize: V } = cfg;
    const qkvW = nHeads * hd + 2 * cfg.nKvHeads * hd;
    const mlpW = this.layers[0]?.mlpIn.width ?? dMlp;
    const mk = (n: number, what: string) => rt.tensor(n, what);
    w = {
      ids: mk(rows, 'ids'),
      cs: mk(rows * hd, 'rope tables'),
      pos: mk(rows, 'positions'),
      pe: mk(rows * d, 'position embedding'),
      x: mk(rows * d, 'residual'),
      mid: mk(rows * d, 'residual mid'),
      h: mk(rows * d, 'normalized'),
      qkv: mk(rows * qkvW, 'qkv'),
      z: mk(rows * nHeads * hd, 'z'),
      attnOut: mk(rows * d, 'attn out'),
      gu: mk(rows * mlpW, 'mlp in'),
      post: mk(rows * dMlp, 'mlp post'),
      mlpOut: mk(rows * d, 'mlp out'),
      scratch: mk(rows * Math.max(d, dMlp, nHeads * hd), 'perm scratch'),
      mixedIn: mk(rows * this.mixedIn, 'mixed outlier input'),
      mixedOut: mk(rows * this.mixedOut, 'mixed outlier output'),
      pattern: mk(batch * nHeads * t * cap, 'attention pattern'),
      lastIdx: mk(batch, 'last rows'),
      last: mk(batch * d, 'last normalized'),
      lastLogits: mk(batch * V, 'logits'),
      logits: t > 1 ? mk(rows * V, 'logits') : mk(1, 'logits'),
    };
    this.workspaces.set(key, w);
    return w;
  }

  /** Frees what one forward/generate call allocated (workspaces, hook vectors). */
  endCall(): void {
    for (const w of this.workspaces.values()) for (const t of Object.values(w)) this.rt.free(t);
    this.workspaces.clear();
    for (const t of this.unitVectors.values()) this.rt.free(t);
    this.unitVectors.clear();
  }

  private normalize(x: GpuTensor, n: Norm, y: GpuTensor, rows: number): void {
    const { dModel: d, normEps } = this.cfg;
    if (this.cfg.norm === 'layer') ops.recordLayerNorm(this.rt, x, n.w, n.b!, y, rows, d, normEps);
    else ops.recordRmsNorm(this.rt, x, n.w, y, rows, d, normEps);
  }

  private unit(v: Float32Array): GpuTensor {
    let t = this.unitVectors.get(v);
    if (!t) {
      t = this.rt.upload(v, 'hook vector');
      this.unitVectors.set(v, t);
    }
    return t;
  }

  /**
   * A hook point: declared ops run as kernels; any JavaScript hook reads the activation back (one submit
   * and map), runs every matching hook on the host and uploads the result; cached points are gathered at
   * the requested positions into a tensor read back with the logits.
   */
  private async site(
    runner: HookRunner,
    reads: CacheRead[],
    name: string,
    layer: number | null,
    act: GpuTensor,
    width: number,
    batch: number,
    t: number,
    n: number,
  ): Promise<void> {
    const hooks = runner.matching(name);
    const rt = this.rt;
    if (hooks.length) {
      if (hooks.every((hk) => hk.op)) {
        for (const hk of hooks) this.recordOp(hk, act, batch, t, n, width, runner.step);
      } else {
        const [host] = await rt.read([{ t: act, length: n * width }]);
        const out = runner.fire({ name, layer, batch, pos: t, width }, host.slice());
        rt.write(act, out);
        return; // runner.fire cached it too
      }
    }
    if (!runner.caches(name)) return;
    if (name.endsWith('hook_pattern')) {
      const copy = rt.tensor(n * width, `cache ${name}`);
      rt.copy(act, 0, copy, 0, n * width);
      reads.push({ name, t: copy, shape: [batch, n / (batch * t), t, width] });
      this.pending.push(copy);
      return;
    }
    const ps = runner.cachedPositions(name, t);
    const idx = rt.tensor(batch * ps.length, 'cache rows');
    rt.write(
      idx,
      Uint32Array.from({ length: batch * ps.length }, (_, i) => Math.floor(i / ps.length) * t + ps[i % ps.length]),
    );
    const out = rt.tensor(batch * ps.length * width, `cache ${name}`);
    ops.recordGatherRows(rt, act, idx, batch * ps.length, width, out);
    reads.push({ name, t: out, shape: [batch, ps.length, width] });
    this.pending.push(idx, out);
  }

  /**
   * Patch sources (cached runs' activations) stay on the device across calls, keyed by the host array: a patching
   * sweep runs many forwards from one cached run and uploads it once. Oldest evicted past PATCH_SOURCE_BYTES
   * (freed after the current step's submit: a recorded dispatch may still read them).
   */
  private readonly patchSources = new Map<Float32Array, GpuTensor>();
  private patchSourceBytes = 0;
  private patchSource(a: Float32Array): GpuTensor {
    let t = this.patchSources.get(a);
    if (t) return t;
    t = this.rt.upload(a, 'patch source');
    this.patchSources.set(a, t);
    this.patchSourceBytes += t.bytes;
    for (const [k, old] of this.patchSources) {
      if (this.patchSourceBytes <= PATCH_SOURCE_BYTES || k === a) break;
      this.patchSources.delete(k);
      this.patchSourceBytes -= old.bytes;
      this.pending.push(old);
    }
    return t;
  }

  /** Tensors of cached reads, freed after the step's submit by freePending(). */
  private pending: GpuTensor[] = [];
  freePending(): void {
    for (const t of this.pending) this.rt.free(t);
    this.pending = [];
  }

  private recordOp(hk: Hook, act: GpuTensor, batch: number, t: number, rows: number, width: number, step: number): void {
    const op = hk.op!;
    if (op.kind === 'patch') {
      if (step !== 0) return;
      if (rows !== batch * t) throw new RangeError(`hook '${hk.name}': patching needs a [batch, pos, width] activation`);
      checkPatchTargets(op, hk.name, batch, t, width);
      const n = op.targets.length / 4;
      const idx = new Uint32Array(3 * n);
      for (let i = 0; i < n; i++) {
        const [row, pos, src, col] = op.targets.subarray(4 * i, 4 * i + 4);
        idx.set([row * t + pos, src, col], 3 * i);
      }
      const idxT = this.rt.upload(idx, 'patch targets');
      this.pending.push(idxT);
      ops.recordPatchRows(this.rt, act, this.patchSource(op.source), idxT, n, width, patchCols(op, width));
    } else if (op.kind === 'projectOut') {
      if (op.direction.length !== width)
        throw new RangeError(`hook '${hk.name}': direction has ${op.direction.length} values, activation width ${width}`);
      ops.recordProjectOut(this.rt, act, this.unit(op.direction), rows, width);
    } else {
      if (op.promptOnly && step !== 0) return;
      if (op.vector.length !== width)
        throw new RangeError(`hook '${hk.name}': vector has ${op.vector.length} values, activation width ${width}`);
      ops.recordAddVector(this.rt, act, this.unit(op.vector), op.coeff, rows, width);
    }
  }

  dispose(): void {
    for (const t of this.patchSources.values()) this.rt.free(t);
    this.patchSources.clear();
    for (const t of this.owned) this.rt.free(t);
    for (const h of this.linears) freeLinear(this.rt, h);
    for (const h of this.mixeds) freeMixed(this.rt, h);
    this.endCall();
    this.freePending();
  }
}

function assertFiniteLogits(a: Float32Array): void {
  for (let i = 0; i < a.length; i++)
    if (a[i] - a[i] !== 0) throw new NonFiniteError(`non-finite value ${a[i]} in logits at flat index ${i}`);
}

/** Same format, K, group size and zero-point kind, and no input permutation (as runtime-linear.ts). */
function asGpuWeight(w: LinearWeight): GpuWeight {
  return w.format === 'bf16' ? widenBf16Weight(w) : w;
}

function fusable(ws: GpuWeight[]): boolean {
  const a = ws[0];
  return ws.every((w) => {
    if (w.format !== a.format || w.k !== a.k || w.perm) return false;
    if (w.format === 'f32') return true;
    if (w.groupSize !== (a as typeof w).groupSize) return false;
    return w.format !== 'int4' || (w.zeros === null) === ((a as typeof w).zeros === null);
  });
}
