/**
 * The gpu.js linear and ops suites on gpu.js' webgpu mode. Node gets WebGPU from the `webgpu` package
 * (Dawn); without a GPU driver no adapter answers and the whole file is skipped with a message.
 * Also runnable standalone on a GPU machine: `node --import tsx bench/webgpu-check.ts`.
 */
import { describe, expect, it } from 'vitest';
import { createGpujsBackend, WebgpuUnavailableError } from '../kernels/gpujs/backend.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { linearSuite } from './helpers/gpujs-linear-suite.ts';
import { opsSuite } from './helpers/gpujs-ops-suite.ts';

const available = await webgpuAvailable();
if (!available) console.log('[gpujs-webgpu] skipped: no WebGPU adapter here (navigator.gpu.requestAdapter() returned null)');

describe.skipIf(available)('gpu.js webgpu without an adapter', () => {
  it('createGpujsBackend("webgpu") fails with a typed error instead of a broken backend', async () => {
    await expect(createGpujsBackend('webgpu')).rejects.toThrow(WebgpuUnavailableError);
  });
});

if (available) {
  linearSuite('webgpu');
  opsSuite('webgpu');
} else {
  describe.skip('gpu.js webgpu linear and ops suites (no WebGPU adapter)', () => {
    it.skip('needs a WebGPU adapter', () => {});
  });
}
