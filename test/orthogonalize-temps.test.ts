/**
 * An interrupted (killed) export leaves its hidden temp folder beside the target; the next export to the same
 * target removes the ones whose process is gone and keeps those of live processes and of other targets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { removeStaleTemps } from '../analysis/orthogonalize/orthogonalize-export.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-ortho-tmp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('removes temp folders of dead processes only, for this target only', () => {
  const dead = 2 ** 22 + 12345; // above Linux's default pid_max of 2^22: never a live process
  const mk = (name: string) => {
    fs.mkdirSync(path.join(tmp, name));
    fs.writeFileSync(path.join(tmp, name, 'model.safetensors'), 'partial');
  };
  mk(`.out.model.${dead}-0badc0de.tmp`);
  mk(`.out.model.${process.pid}-12345678.tmp`); // a live process: maybe a concurrent export
  mk(`.other.${dead}-0badc0de.tmp`); // another target
  mk('outXmodel'); // not a temp folder
  removeStaleTemps(path.join(tmp, 'out.model'));
  expect(fs.readdirSync(tmp).sort()).toEqual([`.other.${dead}-0badc0de.tmp`, `.out.model.${process.pid}-12345678.tmp`, 'outXmodel'].sort());
});
