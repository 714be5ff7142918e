/**
 * WebGPU in Node: gpu.js looks for `navigator.gpu`, which Node does not have. The `webgpu` package
 * (Dawn) provides it; installing it must happen before gpu.js probes.
 *
 * Adapters. Dawn reaches GPUs on Linux through the Vulkan loader, which reads `VK_ICD_FILENAMES` when
 * Dawn creates its instance (each `create()`), so the variable can be set from inside the process.
 * A machine without a GPU often has Mesa's lavapipe installed, which Dawn rejects ("Vulkan
 * shaderUniform*ArrayDynamicIndexing required"), so `requestAdapter()` answers null. Chromium ships
 * SwiftShader, a Vulkan driver Dawn accepts: when no adapter answers and a webgpu backend was asked for
 * explicitly, the probe retries with SwiftShader's ICD (GLASSBOX_SWIFTSHADER_ICD, else Chromium's
 * install paths). A software adapter is never chosen automatically (kernels/select.ts asks for a
 * hardware one only).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GlassboxError } from '../../engine/errors.ts';
import { isWebgpuAvailable } from './runtime.ts';

/** webgpu was asked for where no adapter exists. */
export class WebgpuUnavailableError extends GlassboxError {}

export const SWIFTSHADER_ICD_ENV = 'GLASSBOX_SWIFTSHADER_ICD';
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe/llvmpipe, a fallback adapter): correct, never fast. */
  software: boolean;
  /** The ICD file the probe pointed Vulkan at, when it had to (SwiftShader); null when the system default answered. */
  icd: string | null;
}

/** Names by which software Vulkan/WebGPU implementations identify themselves. */
const SOFTWARE_NAMES = /swiftshader|lavapipe|llvmpipe|softpipe|software|mock|warp|basic render/i;

export function isSoftwareAdapter(info: {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_NAMES.test([info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '));
}

/**
 * On Linux Dawn reaches GPUs only through the Vulkan loader. Without libvulkan.so.1 the probe can only
 * fail, after loading an 18 MB native module and printing Dawn's warnings, so it is skipped.
 */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
  return !dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

/** The SwiftShader ICD to try: GLASSBOX_SWIFTSHADER_ICD when set (must exist), else Chromium's. */
export function swiftshaderIcd(env: NodeJS.ProcessEnv = process.env): string | null {
  const own = env[SWIFTSHADER_ICD_ENV]?.trim();
  if (own) return existsSync(own) ? own : null;
  return SWIFTSHADER_ICDS.find((p) => existsSync(p)) ?? null;
}

interface GpuLike {
  requestAdapter(o?: object): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null>;
}
type WebgpuModule = { create: (opts: string[]) => GpuLike; globals: Record<string, unknown> };

let mod: Promise<WebgpuModule | null> | null = null;
let hardwareProbe: Promise<WebgpuAdapterInfo | null> | null = null;
let anyProbe: Promise<WebgpuAdapterInfo | null> | null = null;
let installedIcd: string | null = null;

function loadModule(): Promise<WebgpuModule | null> {
  mod ??= (async () => {
    if (vulkanLoaderMissing()) return null;
    try {
      const m = (await import('webgpu')) as unknown as WebgpuModule;
      Object.assign(globalThis, m.globals);
      return m;
    } catch {
      return null; // the native module failed to load (e.g. missing system libraries): no webgpu
    }
  })();
  return mod;
}

/** Makes `gpu` the navigator.gpu gpu.js will use (Node 21+ has a read-only navigator; Node 20 none). */
function installNavigator(gpu: GpuLike): void {
  const g = globalThis as Record<string, unknown>;
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  try {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
    if (!g.navigator) g.navigator = nav;
  } catch {
    g.navigator = { gpu };
  }
}

async function adapterOf(gpu: GpuLike, icd: string | null): Promise<WebgpuAdapterInfo | null> {
  const a = await gpu.requestAdapter();
  if (!a) return null;
  const i = (a.info ?? {}) as Record<string, string | boolean | undefined>;
  const s = (k: string) => String(i[k] ?? '');
  return {
    vendor: s('vendor'),
    architecture: s('architecture'),
    device: s('device'),
    description: s('description'),
    software: isSoftwareAdapter({
      vendor: s('vendor'),
      architecture: s('architecture'),
      device: s('device'),
      description: s('description'),
      isFallbackAdapter: Boolean(a.isFallbackAdapter ?? i.isFallbackAdapter),
    }),
    icd,
  };
}

/** The system's own adapter (no ICD override): hardware or not, as the system answers. */
function probeSystem(): Promise<WebgpuAdapterInfo | null> {
  hardwareProbe ??= (async () => {
    // A browser (the web app's worker) has its own navigator.gpu: nothing to install, no process to ask.
    const own = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (own) return adapterOf(own, null).catch(() => null);
    const m = await loadModule();
    if (!m) return null;
    const gpu = m.create([]);
    const info = await adapterOf(gpu, null).catch(() => null);
    if (info) installNavigator(gpu);
    return info;
  })();
  return hardwareProbe;
}

/**
 * The adapter a webgpu backend runs on: the system's, else SwiftShader when its ICD is found and
 * VK_ICD_FILENAMES is not already set by the user. Probed once per process.
 */
export function webgpuAdapter(): Promise<WebgpuAdapterInfo | null> {
  anyProbe ??= (async () => {
    const sys = await probeSystem();
    if (sys) return sys;
    const m = await loadModule();
    const icd = swiftshaderIcd();
    if (!m || !icd || process.env.VK_ICD_FILENAMES) return null;
    process.env.VK_ICD_FILENAMES = icd;
    installedIcd = icd;
    const gpu = m.create([]);
    const info = await adapterOf(gpu, icd).catch(() => null);
    if (info) installNavigator(gpu);
    return info;
  })();
  return anyProbe;
}

/** A hardware adapter, or null (software adapters do not count): what automatic backend choice asks. */
export async function hardwareWebgpuAdapter(): Promise<WebgpuAdapterInfo | null> {
  const sys = await probeSystem();
  return sys && !sys.software ? sys : null;
}

/** The ICD this process pointed Vulkan at (null when the system default was used). */
export const webgpuIcdOverride = (): string | null => installedIcd;

/** True when a WebGPU adapter answers (hardware or software); probed once per process. */
export async function webgpuAvailable(): Promise<boolean> {
  const info = await webgpuAdapter();
  if (!info) return false;
  return await isWebgpuAvailable();
}

/** One line naming the adapter, for `inspect` and the benches. */
export function describeAdapter(info: WebgpuAdapterInfo | null): string {
  if (!info) return 'none';
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${name}${info.software ? ' (software)' : ''}`;
}
