/// <reference types="@webgpu/types" />
/**
 * The resident WebGPU runtime: the device gpu.js uses (one `GPUDevice` per process, from gpu.js'
 * WebGPUContext), a cache of compute pipelines keyed by shader source, GPU tensors, and a recorder that
 * encodes every dispatch of a forward step into ONE command encoder and submits it once.
 *
 * Why hand-written WGSL rather than gpu.js pipeline kernels (kernels/README.md): a gpu.js pipeline
 * kernel submits its own command buffer per call and always writes a fresh kernel-owned output buffer,
 * so it cannot append to a KV cache in place, and its fused executor (pipeline-executor.js) refuses
 * GPU-resident handles as arguments, so a chain that reads the resident cache cannot be fused into one
 * submit. Both are what a resident decode step needs.
 *
 * Parameters: every dispatch gets its own 256-byte slot of a per-step uniform arena (written once, before
 * the submit), so a recorded step can carry hundreds of dispatches with different parameters. Bind
 * groups are cached per (pipeline, buffers, slot): a decode step repeats the same dispatches with the
 * same buffers, so from the second token on no bind group is created.
 */
import gpujs from 'gpu.js';
import { ShapeError } from '../../engine/errors.ts';
import { webgpuAdapter, WebgpuUnavailableError, type WebgpuAdapterInfo } from '../gpujs/webgpu.ts';
import { gpuMemoryBudget, type GpuMemoryBudget } from './memory.ts';

const SLOT = 256;
/** The parameter block every shader declares (params.ts). */
export { PARAMS_WGSL } from './params.ts';

export interface Params {
  u?: number[];
  f?: number[];
}

/** A GPU-resident f32 (or u32) array; `length` counts 4-byte elements. */
export class GpuTensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
    readonly id: number,
  ) {}
  get bytes(): number {
    return this.length * 4;
  }
}

interface GpujsContext {
  acquire(): Promise<{ adapter: GPUAdapter; device: GPUDevice; isLost: boolean }>;
}

let nextId = 1;

export class WgpuRuntime {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private arena: GPUBuffer;
  private arenaBytes: ArrayBuffer;
  private slot = 0;
  private encoder: GPUCommandEncoder | null = null;
  /** Bytes of GPU memory this runtime allocated and has not freed (weights, activations, caches). */
  allocated = 0;
  /** The most `allocated` has been (bench: GPU memory). */
  peakAllocated = 0;
  /** Dispatches and submits since creation: the benches report them, the tests check one submit per step. */
  dispatches = 0;
  submits = 0;

  /**
   * Software adapters (SwiftShader) run workgroup barriers as coroutine switches, 4-50x slower than the
   * arithmetic around them: there kernels use one thread per row/query and no workgroup reductions.
   * GLASSBOX_WEBGPU_SERIAL=1/0 forces either choice (tests run both on SwiftShader).
   */
  serial: boolean;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: WebgpuAdapterInfo,
  ) {
    // a browser page (the web app's worker) has no process
    const env = typeof process === 'undefined' ? undefined : process.env.GLASSBOX_WEBGPU_SERIAL;
    this.serial = env === '1' ? true : env === '0' ? false : adapter.software;
    this.arenaBytes = new ArrayBuffer(SLOT * 256);
    this.arena = this.makeArena(256);
  }

  /** The device gpu.js uses; throws WebgpuUnavailableError without an adapter. */
  static async create(): Promise<WgpuRuntime> {
    const info = await webgpuAdapter();
    if (!info) throw new WebgpuUnavailableError('webgpu: no WebGPU adapter (navigator.gpu.requestAdapter() returned null)');
    const ctx = (gpujs as unknown as { WebGPUContext: GpujsContext }).WebGPUContext;
    const { device } = await ctx.acquire();
    return new WgpuRuntime(device, info);
  }

  private budget: GpuMemoryBudget | null | undefined;
  /** The GPU's memory (GLASSBOX_GPU_MEMORY_MB, nvidia-smi), or null when unknown; read once. */
  get memoryBudget(): GpuMemoryBudget | null {
    if (this.budget === undefined) this.budget = gpuMemoryBudget(this.adapter);
    return this.budget;
  }

  /** Lowers the storage-binding limit below the device's (tests: exercise the row-block splits on small tensors). */
  bindingCap = Infinity;

  get limits(): { maxBinding: number; maxWorkgroups: number } {
    const l = this.device.limits;
    return {
      maxBinding: Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, this.bindingCap),
      maxWorkgroups: l.maxComputeWorkgroupsPerDimension,
    };
  }

  private makeArena(slots: number): GPUBuffer {
    return this.device.createBuffer({ size: slots * SLOT, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** A zero-filled tensor of `length` 4-byte elements. */
  tensor(length: number, what: string): GpuTensor {
    const bytes = Math.max(4, length * 4);
    if (bytes > this.limits.maxBinding)
      throw new ShapeError(`webgpu: ${what} needs ${bytes} bytes, over this device's ${this.limits.maxBinding}-byte storage binding limit`);
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.allocated += bytes;
    this.peakAllocated = Math.max(this.peakAllocated, this.allocated);
    return new GpuTensor(buffer, length, nextId++);
  }

  /** Uploads data (f32, or u32/i32 bit patterns) into a new tensor. */
  upload(data: Float32Array | Uint32Array | Int32Array, what: string): GpuTensor {
    const t = this.tensor(data.length, what);
    if (data.length) this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  /** Overwrites `t` from element `offset` on (queue order: before the next submit's dispatches). */
  write(t: GpuTensor, data: Float32Array | Uint32Array | Int32Array, offset = 0): void {
    if (offset + data.length > t.length)
      throw new ShapeError(`webgpu: write of ${data.length} at ${offset} overflows a tensor of ${t.length}`);
    if (data.length) this.device.queue.writeBuffer(t.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  free(t: GpuTensor | null | undefined): void {
    if (!t) return;
    this.allocated -= t.bytes < 4 ? 4 : t.bytes;
    t.buffer.destroy();
  }

  private pipeline(code: string): GPUComputePipeline {
    let pl = this.pipelines.get(code);
    if (!pl) {
      const module = this.device.createShaderModule({ code });
      pl = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(code, pl);
    }
    return pl;
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /**
   * Records one dispatch: `code` declares P at binding 0 and the tensors at bindings 1..n in order.
   * `groups` is [x, y, z] workgroups.
   */
  dispatch(code: string, tensors: GpuTensor[], params: Params, groups: [number, number, number]): void {
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const max = this.limits.maxWorkgroups;
    if (groups.some((g) => g > max))
      throw new ShapeError(`webgpu: dispatch of ${groups.join('x')} workgroups exceeds the device's ${max} per dimension`);
    const pl = this.pipeline(code);
    if ((this.slot + 1) * SLOT > this.arenaBytes.byteLength) this.growArena();
    const u = new Uint32Array(this.arenaBytes, this.slot * SLOT, 16);
    const f = new Float32Array(this.arenaBytes, this.slot * SLOT, 16);
    (params.u ?? []).forEach((v, i) => (u[i] = v));
    (params.f ?? []).forEach((v, i) => (f[12 + i] = v));
    const key = `${this.pipelineId(code)}|${this.slot}|${tensors.map((t) => t.id).join(',')}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({
        layout: pl.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.arena, offset: this.slot * SLOT, size: 64 } },
          ...tensors.map((t, i) => ({ binding: i + 1, resource: { buffer: t.buffer } })),
        ],
      });
      if (this.bindGroups.size > 20000) this.bindGroups.clear();
      this.bindGroups.set(key, bg);
    }
    this.slot++;
    const pass = this.enc().beginComputePass();
    pass.setPipeline(pl);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
    this.dispatches++;
  }

  private readonly ids = new Map<string, number>();
  private pipelineId(code: string): number {
    let id = this.ids.get(code);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(code, id);
    }
    return id;
  }

  /** Doubling the arena invalidates every bind group (they point at the old buffer); only the first steps grow it. */
  private growArena(): void {
    if (this.encoder) this.submit();
    const slots = (this.arenaBytes.byteLength / SLOT) * 2;
    this.arena.destroy();
    this.arena = this.makeArena(slots);
    this.arenaBytes = new ArrayBuffer(slots * SLOT);
    this.bindGroups.clear();
  }

  /** Copies `len` elements of `src` from `srcOff` into `dst` at `dstOff`, inside the current encoder. */
  copy(src: GpuTensor, srcOff: number, dst: GpuTensor, dstOff: number, len: number): void {
    if (len > 0) this.enc().copyBufferToBuffer(src.buffer, srcOff * 4, dst.buffer, dstOff * 4, len * 4);
  }

  /** Submits everything recorded so far (one command buffer), with the parameter arena written before it. */
  submit(): void {
    if (!this.encoder) return;
    if (this.slot) this.device.queue.writeBuffer(this.arena, 0, this.arenaBytes, 0, this.slot * SLOT);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
    this.submits++;
  }

  /**
   * Submits what is recorded together with copies of `tensors` into one staging buffer, and resolves
   * their values (one submit, one map). `views` limits each to [offset, offset + length).
   */
  async read(tensors: { t: GpuTensor; offset?: number; length?: number }[]): Promise<Float32Array[]> {
    let total = 0;
    const spans = tensors.map(({ t, offset = 0, length = t.length - offset }) => {
      const s = { t, offset, length, at: total };
      total += length;
      return s;
    });
    const staging = this.device.createBuffer({ size: Math.max(4, total * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    for (const s of spans) if (s.length) this.enc().copyBufferToBuffer(s.t.buffer, s.offset * 4, staging, s.at * 4, s.length * 4);
    this.enc();
    this.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return spans.map((s) => all.subarray(s.at, s.at + s.length));
  }

  dispose(): void {
    this.encoder = null;
    this.arena.destroy();
    this.bindGroups.clear();
    this.pipelines.clear();
  }
}
