/** The CLI's commands, in `--help` order: each module exports `register(program)`; add yours to the array. */
import type { Command } from 'commander';
import { register as generate } from './generate.ts';
import { register as inspect } from './inspect.ts';
import { register as direction } from './direction.ts';
import { register as evaluate } from './eval.ts';
import { register as orthogonalize } from './orthogonalize.ts';
import { register as trace } from './trace.ts';
import { register as study } from './study.ts';
import { register as project } from './project.ts';
import { register as lens } from './lens.ts';
import { register as patch } from './patch.ts';
import { register as attention } from './attention.ts';
import { register as sae } from './sae.ts';
import { register as app } from './app.ts';

export const commands: Array<(program: Command) => void> = [
  inspect,
  direction,
  evaluate,
  orthogonalize,
  generate,
  trace,
  study,
  project,
  lens,
  patch,
  attention,
  sae,
  app,
];
