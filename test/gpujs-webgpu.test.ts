/**
 * The gpu.js linear and ops suites on gpu.js' webgpu mode. Node gets WebGPU from the `webgpu` package
 * (Dawn); on a machine without a GPU the adapter is SwiftShader (Chromium's software Vulkan driver, found
 * by kernels/gpujs/webgpu.ts). Without any adapter the suites skip with a message, except where
 * GLASSBOX_REQUIRE_WEBGPU=1 (CI sets it in .ci/run): there a missing adapter is a failure.
 * Also runnable standalone on a GPU machine: `node --import tsx bench/webgpu-check.ts`.
 */
import { describe, expect, it } from 'vitest';
import { createGpujsBackend, WebgpuUnavailableError } from '../kernels/gpujs/backend.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { linearSuite } from './helpers/gpujs-linear-suite.ts';
import { opsSuite } from './helpers/gpujs-ops-suite.ts';

const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';
if (!available) console.log('[gpujs-webgpu] no WebGPU adapter here (navigator.gpu.requestAdapter() returned null)');

describe.skipIf(available)('gpu.js webgpu without an adapter', () => {
  it.skipIf(!required)('GLASSBOX_REQUIRE_WEBGPU=1: an adapter (SwiftShader at least) must exist', () => {
    expect.fail('no WebGPU adapter: install chromium (SwiftShader) and libvulkan1, see .ci/run');
  });
  it('createGpujsBackend("webgpu") fails with a typed error instead of a broken backend', async () => {
    await expect(createGpujsBackend('webgpu')).rejects.toThrow(WebgpuUnavailableError);
  });
});

if (available) {
  linearSuite('webgpu');
  opsSuite('webgpu');
}
