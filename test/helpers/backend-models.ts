/**
 * Small seeded random-weight models on a named backend, and bitwise equality of their results: the tests that hold
 * two ways of running a forward to the same bits (induce from residuals, a shared prefix, skipped padding).
 */
import { afterAll } from 'vitest';
import { createBackend, wasmSimdPresent } from '../../kernels/select.ts';
import type { BackendName } from '../../kernels/types.ts';
import { DecoderModel } from '../../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../../models/synthetic.ts';
import type { Model, WeightPrecision } from '../../models/types.ts';

/** The CPU backends present here: reference, and wasm-simd where this Node has it. */
export const cpuBackends = (): BackendName[] => (wasmSimdPresent() ? ['reference', 'wasm-simd'] : ['reference']);

/** Bitwise equality of two float arrays (NaN equal to NaN only with the same bits). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * A model builder for one test file: d_model 32, 4 heads (2 KV heads for qwen2), d_mlp 48, vocabulary 64, `nLayers`
 * blocks, weights from `seed`; every backend it creates is disposed after the file's tests.
 */
export function backendModels(nLayers: number, seed: number) {
  const disposers: (() => void)[] = [];
  afterAll(() => disposers.forEach((d) => d()));
  return async (backendName: BackendName, family: 'qwen2' | 'gpt2', precision: WeightPrecision): Promise<Model> => {
    const backend = await createBackend(backendName);
    disposers.push(() => backend.dispose());
    const cfg = syntheticConfig({ family, nLayers, dModel: 32, nHeads: 4, nKvHeads: family === 'gpt2' ? 4 : 2, dMlp: 48, vocabSize: 64 });
    return new DecoderModel(syntheticProvider(cfg, seed), { backend, precision });
  };
}
