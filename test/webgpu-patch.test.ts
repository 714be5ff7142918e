/**
 * Activation patching from a cached run on the resident webgpu path (issue 12): the `patch` hook op runs as a
 * kernel (kernels/webgpu/ops.ts recordPatchRows) with the cached run's activations kept on the device, so a patching
 * sweep reads back only logits: one submit per forward. Checked against the host reference (models/patch-op.ts,
 * exact: the kernel copies) and, end to end, against activationPatching on wasm-simd with tiny-chat.
 * SwiftShader in CI; GLASSBOX_REQUIRE_WEBGPU=1 turns a missing adapter into a failure.
 */
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchHook } from '../analysis/interventions.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import * as ops from '../kernels/webgpu/ops.ts';
import { WgpuRuntime } from '../kernels/webgpu/runtime.ts';
import { loadModel } from '../models/load.ts';
import { applyPatchOp } from '../models/patch-op.ts';
import type { Model, PatchOp } from '../models/types.ts';
import { randoms } from './helpers/gpujs.ts';
import { projectRoot } from './helpers/shared.ts';

const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';

describe.skipIf(available || !required)('webgpu patching without an adapter', () => {
  it('GLASSBOX_REQUIRE_WEBGPU=1: an adapter must exist', () => expect.fail('no WebGPU adapter'));
});

/** A patch case: activation [batch, t, width], source [srcRows, width], non-overlapping targets of `cols` columns. */
const caseArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    t: fc.integer({ min: 1, max: 5 }),
    width: fc.integer({ min: 1, max: 40 }),
    srcRows: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer({ min: 1, max: 1000 }),
  })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      cols: fc.option(fc.integer({ min: 1, max: c.width }), { nil: null }),
      picks: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()), { maxLength: 12 }),
    }),
  )
  .map(({ c, cols, picks }) => {
    const w = cols ?? c.width;
    const slots = Math.floor(c.width / w);
    const seen = new Set<string>();
    const targets: number[] = [];
    for (const [a, b, s, k] of picks) {
      const row = a % c.batch;
      const pos = b % c.t;
      const col = (k % slots) * w;
      if (seen.has(`${row},${pos},${col}`)) continue;
      seen.add(`${row},${pos},${col}`);
      targets.push(row, pos, s % c.srcRows, col);
    }
    const op: PatchOp = { kind: 'patch', source: randoms(c.seed, c.srcRows * c.width), targets: Int32Array.from(targets), cols };
    return { ...c, op };
  });

describe.skipIf(!available)('patch kernel vs the host reference', () => {
  let rt: WgpuRuntime;
  beforeAll(async () => {
    rt = await WgpuRuntime.create();
  });
  afterAll(() => rt?.dispose());

  it('recordPatchRows writes exactly what applyPatchOp writes (and nothing else)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ batch, t, width, seed, op }) => {
        const act = randoms(seed + 1, batch * t * width);
        const want = act.slice();
        applyPatchOp(op, 'h', want, batch, t, width);
        const n = op.targets.length / 4;
        const idx = new Uint32Array(3 * n);
        for (let i = 0; i < n; i++)
          idx.set([op.targets[4 * i] * t + op.targets[4 * i + 1], op.targets[4 * i + 2], op.targets[4 * i + 3]], 3 * i);
        const x = rt.upload(act, 'x');
        const src = rt.upload(op.source, 'source');
        const it = rt.upload(idx, 'idx');
        ops.recordPatchRows(rt, x, src, it, n, width, op.cols ?? width);
        const [got] = await rt.read([{ t: x }]);
        expect(got).toEqual(want);
        for (const tt of [x, src, it]) rt.free(tt);
      }),
      // one pipeline for every shape (shapes are uniforms): cheap runs
      { numRuns: 25 },
    );
  });
});

describe.skipIf(!available)('activation patching on tiny-chat: resident webgpu vs wasm-simd', () => {
  let gpuBe: Backend;
  let cpuBe: Backend;
  let gpu: Model;
  let cpu: Model;
  const dir = path.join(projectRoot, 'models/tiny-chat');
  beforeAll(async () => {
    gpuBe = await createBackend('webgpu');
    cpuBe = await createBackend('wasm-simd');
    gpu = await loadModel(dir, { backend: gpuBe });
    cpu = await loadModel(dir, { backend: cpuBe });
  });
  afterAll(() => {
    gpuBe?.dispose();
    cpuBe?.dispose();
  });

  it('every site (resid_pre, attn_out, mlp_out, heads) matches wasm-simd; one submit per forward, no readback per op', async () => {
    // an 11-token chat prompt (golden prompt 3's template and words, shortened) and a corruption of one token
    const clean = [1, 3, 15, 440, 266, 540, 51, 2, 15, 4, 15];
    const corrupted = clean.map((id, i) => (i === 4 ? 1010 : id));
    const metric = { kind: 'refusal-score' as const, refusalTokens: [78, 1568] };
    const before = gpuBe.resident!.submits;
    const g = await activationPatching(gpu, clean, corrupted, metric, { batchSize: 16 });
    // the clean (cached) and corrupted baselines, then one submit per batched forward of patches
    expect(gpuBe.resident!.submits - before).toBe(2 + g.forwards);
    const c = await activationPatching(cpu, clean, corrupted, metric, { batchSize: 16 });
    const flat = (r: typeof g) => [r.clean, r.corrupted, ...r.resid_pre.flat(), ...r.attn_out, ...r.mlp_out, ...r.heads.flat()];
    const a = flat(g);
    const b = flat(c);
    expect(a).toHaveLength(2 + 6 * 11 + 6 + 6 + 36);
    // the metric is a difference of log-probabilities from logits within 1e-3 of each other (f32 goldens)
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `value ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(4e-3);
    // not vacuous: the corruption moves the metric, and restoring the one corrupted position of layer 0's input
    // makes the patched run the clean run
    expect(Math.abs(c.clean - c.corrupted)).toBeGreaterThan(0.05);
    expect(Math.abs(g.resid_pre[0][4] - g.clean)).toBeLessThan(4e-3);
    expect(Math.abs(g.resid_pre[0][3] - g.corrupted)).toBeLessThan(4e-3);
  }, 300_000);

  it('a patch target outside the activation is refused on both backends, naming the hook', async () => {
    const source = new Float32Array(3 * gpu.config.dModel);
    const bad = [patchHook('blocks.2.hook_resid_pre', source, [{ row: 0, pos: 5, srcRow: 0 }])];
    for (const m of [gpu, cpu])
      await expect(m.forward([[1, 3, 15]], { hooks: bad, logits: 'last' })).rejects.toThrow(
        /hook 'blocks\.2\.hook_resid_pre': patch target 0 \(row 0, pos 5, source row 0, column 0\) is outside/,
      );
    const overlap = [
      patchHook('blocks.2.hook_resid_pre', source, [
        { row: 0, pos: 1, srcRow: 0 },
        { row: 0, pos: 1, srcRow: 2 },
      ]),
    ];
    for (const m of [gpu, cpu])
      await expect(m.forward([[1, 3, 15]], { hooks: overlap, logits: 'last' })).rejects.toThrow(
        /patch targets 0 and 1 both write row 0, pos 1/,
      );
    // a failed step leaves the resident model usable
    const ok = await gpu.forward([[1, 3, 15]], { logits: 'last' });
    expect(ok.logits).toHaveLength(gpu.config.vocabSize);
  });
});
