import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { GlassboxError, UsageError } from '../engine/errors.ts';
import { airdSettings, shippedPromptsDir, studyAction, type StudyCliOptions } from '../cli/commands/study.ts';
import { projectRoot } from './helpers/shared.ts';

const defaults: StudyCliOptions = {
  // Never written: every case fails first. Under the temp folder so the --out check passes for any user.
  out: path.join(os.tmpdir(), 'glassbox-study-cli-never-written'),
  methods: 'int8',
  airdVariant: 'A',
  airdLayer: 'source',
  airdAlpha: '1',
  maxLayerFraction: '1.0',
  nTrain: '4',
  nVal: '2',
  maxTokens: '4',
  seed: '1',
  nCalibration: '2',
  batchSize: '8',
  nTest: '2',
  calibration: 'generic',
  bootstrap: '100',
  seeds: '1',
};

describe('glassbox study: argument errors are one-line UsageErrors naming the flag', () => {
  it('finds the shipped prompt lists', () => {
    expect(shippedPromptsDir()).toBe(path.join(projectRoot, 'data', 'prompts'));
  });
  for (const [patch, flag] of [
    [{ methods: 'int8,int3' }, /--methods: unknown method "int3"/],
    [{ maxLayerFraction: '1.5' }, /--max-layer-fraction/],
    [{ aird: true, airdVariant: 'E' }, /--aird-variant/],
    [{ aird: true, airdLayer: 'middle' }, /--aird-layer/],
    [{ harmful: '/nonexistent/harmful.json' }, /nonexistent\/harmful\.json/],
    [{ backend: 'tpu' }, /--backend/],
    [{ nTest: '0' }, /--n-test/],
    [{ seeds: 'two' }, /--seeds/],
    [{ bootstrap: '5' }, /--bootstrap/],
    [{ calibration: '/nonexistent/corpus.txt' }, /--calibration: cannot read \/nonexistent\/corpus\.txt/],
    [{ evalHarmful: '/nonexistent/eval.json' }, /nonexistent\/eval\.json/],
  ] as const)
    it(`rejects ${JSON.stringify(patch)}`, async () => {
      const err = await studyAction(path.join(projectRoot, 'models/tiny-chat'), { ...defaults, ...patch }).catch((e) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toMatch(flag);
      expect(err.message).not.toContain('\n');
    });
  it('a missing model folder is a GlassboxError naming it', async () => {
    const err = await studyAction('/nonexistent/model', defaults).catch((e) => e);
    expect(err).toBeInstanceOf(GlassboxError);
    expect(err.message).toContain('/nonexistent/model');
  });
  it('parses AIRD settings', () => {
    expect(airdSettings({ ...defaults })).toBeNull();
    expect(airdSettings({ ...defaults, aird: true, airdVariant: 'b', airdLayer: '3', airdKeepF32: true })).toEqual({
      variant: 'B',
      layerRule: 3,
      keepF32: true,
      alpha: 1,
    });
  });
});
