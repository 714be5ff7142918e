/**
 * Non-finite values must never be hidden: a row of NaN attention scores is not a "fully masked" row (zeros), it
 * is NaN, so the NaN guard fires and names the hook (issue 10, medium). Weights as loaded are scanned too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { writeSafetensors } from '../engine/safetensors-writer.ts';
import { loadModel } from '../models/load.ts';
import { projectRoot, sharedDir } from './helpers/shared.ts';
import { attentionRef } from '../kernels/reference/ops.ts';
import { attention as wasmAttention } from '../kernels/wasm/js-ops.ts';
import { createWasmAttention } from '../kernels/wasm/attention.ts';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { NonFiniteError } from '../engine/errors.ts';
import type { AttentionArgs } from '../kernels/types.ts';
import { SMALL } from './helpers/synthetic-model.ts';

function args(qValue: number, kValue = 1): AttentionArgs {
  const t = 2;
  const s = 2;
  const d = 4;
  const q = new Float32Array(t * d).fill(0.5);
  q.fill(qValue, d); // the second query row only
  return {
    q,
    k: new Float32Array(s * d).fill(kValue),
    v: new Float32Array(s * d).fill(1),
    t,
    s,
    nHeads: 1,
    nKvHeads: 1,
    headDim: d,
    keyValid: Uint8Array.of(1, 1),
    scale: 0.5,
    patternOut: null,
  };
}

describe('attention softmax propagates NaN/Inf instead of treating the row as masked', () => {
  const kernels: [string, (a: AttentionArgs) => Float32Array | Promise<Float32Array>][] = [
    ['reference', attentionRef],
    ['wasm-simd js', wasmAttention],
    ['wasm-simd wasm', createWasmAttention(loadKernelModule(), true)],
  ];
  for (const [name, attn] of kernels) {
    it(`${name}: a row of all-NaN scores gives NaN, not zeros; the other row stays finite`, async () => {
      const out = await attn(args(NaN));
      expect(Array.from(out.subarray(0, 4)).every(Number.isFinite)).toBe(true);
      expect(Array.from(out.subarray(4)).every(Number.isNaN)).toBe(true);
    });
    it(`${name}: an Inf in k (all scores +Inf) gives NaN, a row with no visible key still gives zeros`, async () => {
      const out = await attn(args(0.5, Infinity));
      expect(Array.from(out).some(Number.isNaN)).toBe(true);
      const masked = await attn({ ...args(0.5), keyValid: Uint8Array.of(0, 1) });
      expect(Array.from(masked.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    });
  }
  it('gpu.js (cpu mode): a NaN query row gives NaN output', async () => {
    const b = await createGpujsBackend('cpu');
    try {
      const out = await b.attention(args(NaN));
      expect(Array.from(out.subarray(4)).some(Number.isNaN)).toBe(true);
    } finally {
      b.dispose();
    }
  });
});

describe('the NaN guard names the hook when q/k weights hold NaN', () => {
  it('reference backend: forward throws NonFiniteError at an attention hook (not wrong tokens with exit 0)', async () => {
    const cfg = syntheticConfig({ ...SMALL });
    const base = syntheticProvider(cfg, 7);
    const provider = {
      ...base,
      linear: (l: number, role: Parameters<typeof base.linear>[1]) => {
        const lin = base.linear(l, role);
        if (l === 1 && role === 'k' && lin.weight.format === 'f32') lin.weight.w.fill(NaN);
        return lin;
      },
    };
    const model = new DecoderModel(provider, { backend: createReferenceBackend() });
    await expect(model.forward([[1, 2, 3]])).rejects.toThrow(NonFiniteError);
    await expect(model.forward([[1, 2, 3]])).rejects.toThrow(/blocks\.1\.(attn|hook)/);
  });
});

describe('weights as loaded are scanned for NaN/Inf', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-nan-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of `src` whose tensor `target` has its element 3 replaced (raw 16-bit word or float). */
  function poisoned(src: string, target: (name: string) => boolean, name: string): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(src))
      if (fs.statSync(path.join(src, f)).isFile() && f !== 'model.safetensors') fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const st = openSafetensors(path.join(src, 'model.safetensors'));
    const tensors = st.tensors.map((t) => {
      const raw = st.readRaw(t.name);
      if (target(t.name)) {
        if (raw instanceof Uint16Array)
          raw[3] = t.dtype === 'BF16' ? 0x7fc0 : 0x7c00; // bf16 NaN / f16 +Inf
        else if (raw instanceof Float32Array) raw[3] = NaN;
      }
      return { name: t.name, dtype: t.dtype, shape: t.shape, data: raw };
    });
    st.close();
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, st.metadata);
    return dir;
  }

  it('a NaN in a bf16 k_proj weight of tiny-chat fails the load, naming the tensor', async () => {
    const dir = poisoned(path.join(projectRoot, 'models/tiny-chat'), (n) => n === 'model.layers.2.self_attn.k_proj.weight', 'tc-nan');
    await expect(loadModel(dir, { backend: createReferenceBackend() })).rejects.toThrow(NonFiniteError);
    await expect(loadModel(dir, { backend: createReferenceBackend() })).rejects.toThrow(
      /model\.layers\.2\.self_attn\.k_proj\.weight' holds NaN\/Inf \(element 3\)/,
    );
  });

  it.runIf(sharedDir)('an Inf in a GPTQ scale (f16) fails the load, naming the scales tensor', async () => {
    const src = path.join(sharedDir!, 'models/quantized/gptq4_g32_actorder');
    const dir = poisoned(src, (n) => n.endsWith('layers.0.self_attn.q_proj.scales'), 'gptq-inf');
    await expect(loadModel(dir, { backend: createReferenceBackend() })).rejects.toThrow(/q_proj\.scales' holds NaN\/Inf/);
  });
});
