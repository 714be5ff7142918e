/**
 * Reused step arrays (models/step-buffers.ts): an unhooked step draws its intermediates from a pool and hands
 * them back when it ends. Reuse must change no number and must never let two live results share memory: the
 * same logits and ids as the fresh-array path (a hooked step), on both CPU backends and both families, with
 * interleaved forward calls, and logits that stay the caller's.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { loadModel } from '../models/load.ts';
import { StepBuffers } from '../models/step-buffers.ts';
import { ablationHooks } from '../analysis/interventions.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { Hook } from '../models/types.ts';
import { projectRoot } from './helpers/shared.ts';

/** A hook that looks and changes nothing: it switches the step to fresh arrays (a hook may keep what it sees). */
const watch: Hook[] = [{ name: 'blocks.0.hook_resid_pre', fn: () => undefined }];

describe('StepBuffers', () => {
  it('reuses a closed scope’s arrays, never a kept one, never one another open scope holds', () => {
    const pool = new StepBuffers();
    const a = pool.open(0)!;
    const x = a.f32(8);
    const kept = a.f32(8);
    a.close([kept.subarray(2)]); // a view keeps its whole array
    const b = pool.open(0)!;
    const c = pool.open(0)!;
    const y = b.f32(8);
    expect(y).toBe(x);
    const z = c.f32(8);
    expect(z).not.toBe(x);
    expect(z).not.toBe(kept);
    expect(pool.stats).toEqual({ lent: 4, reused: 1 });
    // Mid-step hand-back: what was lent after the mark returns at once, the kept array stays lent.
    const m = b.mark();
    const u = b.f32(5);
    const w = b.f32(5);
    b.releaseSince(m, [w]);
    expect(b.f32(5)).toBe(u);
    b.release(w);
    expect(c.f32(5)).toBe(w);
    b.close();
    c.close();
    expect(() => b.f32(8)).toThrow(/after close/);
    // Lengths the last scope did not ask for are dropped: the pool holds at most one step's worth.
    const d = pool.open(0)!;
    d.f32(3);
    d.close();
    const e = pool.open(0)!;
    expect(pool.take(8)).toBeUndefined();
    e.close();
  });

  it('refuses a scope for a step too big to hold', () => {
    expect(new StepBuffers().open(1e12)).toBeNull();
  });
});

const tinyChat = path.join(projectRoot, 'models/tiny-chat');
const prompts = [
  [1, 3, 200, 201, 202, 2, 4],
  [1, 3, 300, 2, 4],
];

describe.each([
  ['reference', () => createReferenceBackend()],
  ['wasm-simd', () => createWasmSimdBackend({ threads: 2 })],
])('tiny-chat on %s: reused arrays give the same numbers as fresh ones', (_name, backend) => {
  it('forward logits bit for bit, and returned logits stay the caller’s', async () => {
    const model = (await loadModel(tinyChat, { backend: await backend() })) as DecoderModel;
    const fresh = await model.forward(prompts, { hooks: watch });
    const reused = await model.forward(prompts);
    expect(reused.logits).toEqual(fresh.logits);
    const copy = reused.logits.slice();
    const other = [
      [1, 3, 7, 8, 9, 2, 4],
      [1, 3, 10, 2, 4],
    ]; // the same shapes: every length the first call used is asked for again
    await model.forward(other);
    await model.forward(other);
    expect(reused.logits).toEqual(copy);
    model.dispose();
  });

  it('declared-op hooks (ablation) reuse arrays with the same logits; a hook without an op keeps what it saw', async () => {
    const model = (await loadModel(tinyChat, { backend: await backend() })) as DecoderModel;
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i + 1));
    const declared = ablationHooks(r);
    const plain = declared.map(({ name, fn }) => ({ name, fn })); // the same edits, undeclared: fresh arrays
    const before = model.stepBuffers.stats.lent;
    const fresh = await model.forward(prompts, { hooks: plain });
    expect(model.stepBuffers.stats.lent).toBe(before);
    const reused = await model.forward(prompts, { hooks: declared });
    expect(model.stepBuffers.stats.lent).toBeGreaterThan(before);
    expect(reused.logits).toEqual(fresh.logits);
    const seen: Float32Array[] = [];
    const keeper = { name: 'blocks.*.hook_mlp_out', fn: (a: Float32Array) => void seen.push(a) };
    await model.forward(prompts, { hooks: [...declared, keeper] });
    const copies = seen.map((a) => a.slice());
    await model.forward(prompts, { hooks: declared });
    await model.forward(prompts);
    seen.forEach((a, i) => expect(a).toEqual(copies[i]));
    model.dispose();
  });

  it('greedy ids equal, decode reuses its arrays, and two interleaved generations do not collide', async () => {
    const model = (await loadModel(tinyChat, { backend: await backend() })) as DecoderModel;
    const opts = { maxNewTokens: 12, stopTokens: [] };
    const fresh = await model.generate(prompts, { ...opts, hooks: watch });
    const before = { ...model.stepBuffers.stats };
    const reused = await model.generate(prompts, opts);
    expect(reused.tokens).toEqual(fresh.tokens);
    const lent = model.stepBuffers.stats.lent - before.lent;
    const again = model.stepBuffers.stats.reused - before.reused;
    expect(lent).toBeGreaterThan(0);
    expect(again / lent).toBeGreaterThan(0.8); // decode steps repeat their lengths
    // Interleaved at their awaits: each scope holds its own arrays.
    const [a, b] = await Promise.all([model.generate([prompts[0]], opts), model.generate([prompts[1]], opts)]);
    expect([a.tokens[0], b.tokens[0]]).toEqual(fresh.tokens);
    model.dispose();
  });
});

it('the gpt2 family (learned positions, gelu) gives the same logits with reused arrays', async () => {
  const cfg = syntheticConfig({ family: 'gpt2', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 4, dMlp: 64, vocabSize: 50 });
  const model = new DecoderModel(syntheticProvider(cfg, 3), { backend: createWasmSimdBackend({ threads: 1 }) });
  const ids = [
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ];
  const fresh = await model.forward(ids, { hooks: watch });
  await model.forward(ids);
  expect((await model.forward(ids)).logits).toEqual(fresh.logits);
  const g1 = await model.generate(ids, { maxNewTokens: 6, stopTokens: [], hooks: watch });
  expect((await model.generate(ids, { maxNewTokens: 6, stopTokens: [] })).tokens).toEqual(g1.tokens);
  model.dispose();
});
