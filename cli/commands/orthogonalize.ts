/** `glassbox orthogonalize <model-dir> --direction DIR --out NEW_DIR`: export a weight-orthogonalized copy. */
import path from 'node:path';
import type { Command } from 'commander';
import { readDirection } from '../../analysis/direction/direction-io.ts';
import { orthogonalizeFolderAsync } from '../../analysis/orthogonalize/orthogonalize-export.ts';
import { sigintSignal } from '../interrupt.ts';
import { info, printResult, table } from '../output.ts';

export function register(program: Command): void {
  program
    .command('orthogonalize')
    .description('write a copy of the model with the refusal direction projected out of every residual-stream writer')
    .argument('<model-dir>', 'Hugging Face model folder (dense f32/bf16/f16 weights)')
    .requiredOption('--direction <dir>', 'folder written by `glassbox direction` (or a direction.safetensors)')
    .requiredOption('--out <dir>', 'new model folder (must not exist or be empty)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, o: { direction: string; out: string; json?: boolean }) => {
      const d = readDirection(o.direction);
      // Ctrl-C between tensors removes the temp folder and exits 130 (engine/steps.ts).
      const { signal, dispose } = sigintSignal();
      const rep = await orthogonalizeFolderAsync(dir, d.r, o.out, {
        pos: d.pos,
        layer: d.layer,
        source: path.resolve(o.direction),
        signal,
        onFile: (file, done, total) => info(`orthogonalize: wrote ${file} (${done}/${total})`),
      }).finally(dispose);
      printResult({ ...rep, pos: d.pos, layer: d.layer }, o.json ?? false, (r) =>
        table([
          ['written', r.outDir],
          ['direction', `pos ${r.pos}, layer ${r.layer}`],
          ['edited tensors', String(r.edited.length)],
          ['lm_head', r.untied ? 'untied: lm_head.weight = original embedding (source ties embeddings)' : 'as in the source'],
          ['files', r.files.join(', ')],
        ]),
      );
    });
}
