/**
 * The Arditi direction pipeline (small profile) on webgpu (resident, SwiftShader in CI) and on wasm-simd
 * selects the same (position, layer), with cosine ≥ 0.9999 between the two directions (issue 12); and the
 * study's per-method number, the cosine between a compressed model's direction and the original's, agrees
 * between the backends for one compressed model (int4-g32: the resident int4 kernel). The whole `study` (greedy
 * evaluation of every model) does not fit SwiftShader's time in CI: its direction and cosine steps are the ones
 * run here, its evaluation is generate + refusal/KL scoring, covered by test/webgpu-model.test.ts (greedy
 * completions and ablation/addition equal to wasm-simd's).
 *
 * Profile: 8 train / 4 val prompts per class, --max-layer-fraction 1.0, candidates at the last two layers only
 * (tiny-chat's direction forms at the input of its last block), no refusal filter; the same restriction on both
 * backends keeps the comparison exact. All 6 layers with the filter took 7.4 min on SwiftShader under load ~20
 * (over 12 min under load ~8 with 8/4 prompts), too slow for CI; this profile took 33 s on a quiet machine.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compressModel } from '../analysis/compress/apply.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { candidateDirections } from '../analysis/direction/candidate-directions.ts';
import { runDirection, type DirectionResult } from '../analysis/direction/direction-pipeline.ts';
import { encodeInstructions } from '../analysis/model-runs.ts';
import { cosine } from '../analysis/vector-math.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { createBackend } from '../kernels/select.ts';
import { loadModel } from '../models/load.ts';
import { projectRoot } from './helpers/shared.ts';

const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';
const dir = path.join(projectRoot, 'models/tiny-chat');

describe.skipIf(available || !required)('direction on webgpu without an adapter', () => {
  it('GLASSBOX_REQUIRE_WEBGPU=1: an adapter must exist', () => expect.fail('no WebGPU adapter'));
});

interface BackendRun {
  dir: DirectionResult;
  /** The int4-g32 model's direction at the original's selected (pos, layer), same train prompts. */
  compressed: Float64Array;
  resident: boolean;
}

describe.skipIf(!available)('direction pipeline and a compressed model: webgpu vs wasm-simd', () => {
  it("same selected (pos, layer), cosine >= 0.9999; the int4-g32 model's study cosine agrees", async () => {
    const inputs = {
      harmful: loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json')),
      harmless: loadPrompts(path.join(projectRoot, 'data/prompts/harmless.json')),
    };
    const run = async (name: 'webgpu' | 'wasm-simd'): Promise<BackendRun> => {
      const backend = await createBackend(name);
      try {
        const model = await loadModel(dir, { backend });
        const d = await runDirection(model, inputs, {
          nTrain: 8,
          nVal: 4,
          maxLayerFraction: 1.0,
          seed: 7,
          filter: false,
          include: (_pos: number, layer: number) => layer >= 4,
        });
        // the study's step for one method: compress, re-extract on the same train prompts, compare at the selection
        const c = await compressModel(model, parseMethod('int4-g32'), { calibration: [] });
        const enc = (xs: { instruction: string }[]) =>
          encodeInstructions(
            c.model,
            xs.map((p) => p.instruction),
          );
        const cands = await candidateDirections(c.model, enc(d.splits.harmfulTrain), enc(d.splits.harmlessTrain), d.candidates.nPos);
        const { pos, layer } = d.selection.selected;
        const resident = (c.model as unknown as { residentActive: boolean }).residentActive;
        c.model.dispose();
        return { dir: d, compressed: cands.get(pos + cands.nPos, layer), resident };
      } finally {
        backend.dispose();
      }
    };
    const g = await run('webgpu');
    const c = await run('wasm-simd');
    expect(g.resident).toBe(true);
    const sel = (r: BackendRun) => [r.dir.selection.selected.pos, r.dir.selection.selected.layer];
    expect(sel(g)).toEqual(sel(c));
    expect(cosine(g.dir.direction, c.dir.direction)!).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(g.compressed, c.compressed)!).toBeGreaterThanOrEqual(0.9999);
    // the number the study reports for the method, on each backend
    const studyCos = (r: BackendRun) => cosine(r.compressed, r.dir.direction)!;
    expect(Math.abs(studyCos(g) - studyCos(c))).toBeLessThan(1e-4);
    // a compressed model that did not move the direction at all would make the comparison above vacuous
    expect(studyCos(c)).toBeLessThan(1);
  }, 600_000);
});
