/**
 * The calibration stream (analysis/compress/calibration-stream.ts) against collectInputStats, a forward from the
 * embedding per layer: the same statistics bit for bit at every layer while the blocks below are edited between
 * layers (as compression edits them), on every CPU backend, with several batches of left-padded prompts.
 */
import { describe, expect, it } from 'vitest';
import { collectInputStats, statsHooks, type InputPoint } from '../analysis/compress/calibrate.ts';
import { CalibrationStream } from '../analysis/compress/calibration-stream.ts';
import { denseOf } from '../analysis/compress/dense.ts';
import { quantizeInt8PerChannel } from '../analysis/compress/rtn.ts';
import { CompressionError } from '../analysis/compress/errors.ts';
import { backendModels, cpuBackends } from './helpers/backend-models.ts';

const synthetic = backendModels(3, 5);
const calib = Array.from({ length: 7 }, (_, i) => Array.from({ length: 3 + ((i * 5) % 7) }, (_, j) => 2 + ((i * 11 + j * 7) % 60)));
const points: InputPoint[] = ['attnIn', 'oIn', 'mlpIn', 'downIn'];

function sameF64(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe.each(cpuBackends())('calibration stream on %s', (backendName) => {
  it.each(['f32', 'int8'] as const)(
    '%s: every layer’s statistics equal a forward from the embedding, blocks below edited',
    async (precision) => {
      const model = (await synthetic(backendName, 'qwen2', precision)).clone();
      const L = model.config.nLayers;
      const want = { hessian: true, sampleRows: 20 };
      const stream = new CalibrationStream(model, calib, 3);
      for (let l = 0; l < L; l++) {
        const h = statsHooks([l], want);
        await stream.run(l, h.hooks);
        const ref = (await collectInputStats(model, calib, [l], want, 3)).get(l)!;
        for (const p of points) {
          const got = h.stats.get(l)!.get(p)!;
          const exp = ref.get(p)!;
          expect(got.nTokens, `${l} ${p}`).toBe(exp.nTokens);
          expect(got.nTokens).toBe(calib.flat().length);
          expect(sameF64(got.sumSq, exp.sumSq), `${l} ${p} sumSq`).toBe(true);
          expect(sameF64(got.absSum, exp.absSum), `${l} ${p} absSum`).toBe(true);
          expect(sameF64(got.absMax, exp.absMax), `${l} ${p} absMax`).toBe(true);
          expect(sameF64(got.hessian!.h, exp.hessian!.h), `${l} ${p} hessian`).toBe(true);
          expect(sameF64(got.sample().x, exp.sample().x), `${l} ${p} rows`).toBe(true);
        }
        // Edit block l as compression would (int8 q and down), then carry the stream past it.
        for (const r of ['q', 'down'] as const) {
          const { weight, bias } = model.getLinear(l, r);
          model.setLinear(l, r, { weight: quantizeInt8PerChannel(denseOf(weight), weight.n, weight.k, r), bias });
        }
        if (l < L - 1) await stream.advance(l);
      }
      model.dispose();
    },
  );
});

it('refuses to run a block whose input it does not hold', async () => {
  const model = await synthetic('reference', 'qwen2', 'f32');
  const stream = new CalibrationStream(model, calib, 4);
  await expect(stream.run(1, [])).rejects.toThrow(CompressionError);
  await stream.advance(0);
  await expect(stream.advance(0)).rejects.toThrow(/holds block 1's input, asked to run block 0/);
});
