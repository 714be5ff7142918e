/**
 * `glassbox trace <model-dir> (--prompt TEXT [--chat] | --ids 1,2,3) --out FILE.safetensors [--hooks GLOBS]`:
 * one forward pass; writes the requested activations (TransformerLens names, f32 [batch, pos, width]),
 * `logits` [batch, pos, vocab] and `input_ids` I32 [batch, pos] to a safetensors file.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { checkOutputFile } from '../../engine/output-dir.ts';
import { writeSafetensors, type TensorToWrite } from '../../engine/safetensors-writer.ts';
import { loadModel } from '../../models/load.ts';
import { info, printResult } from '../output.ts';
import { parsePrecision, promptIds, type ModelOptions, type PromptOptions } from './generate.ts';

interface TraceFlags extends PromptOptions, ModelOptions {
  out: string;
  hooks: string;
  json?: boolean;
}

export interface TraceJson {
  out: string;
  promptIds: number[];
  tensors: { name: string; shape: number[] }[];
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('run one forward pass and save activations at hook points (and the logits) to safetensors')
    .argument('<model-dir>', 'Hugging Face model folder')
    .option('--prompt <text>', 'prompt text')
    .option('--chat', 'wrap --prompt in the chat template')
    .option('--ids <ids>', 'prompt as comma-separated token ids')
    .requiredOption('--out <file>', 'output .safetensors file')
    .option('--hooks <globs>', 'comma-separated hook names/globs (`*` within a segment, `**` across)', 'blocks.*.hook_resid_post')
    .option('--precision <p>', 'run-time weights: auto (the checkpoint dtype), f32, bf16, int8 or int4 (default f32)')
    .option('--quant <format>', 'quantize the linears at load: int8 or int4')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (dir: string, flags: TraceFlags) => {
      const { precision, groupSize } = parsePrecision(flags);
      if (!flags.out.endsWith('.safetensors')) throw new UsageError(`--out: expected a .safetensors file name, got '${flags.out}'`);
      checkOutputFile(flags.out);
      const globs = flags.hooks.split(',').map((s) => s.trim()).filter(Boolean);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      try {
        const ids = promptIds(flags, model.tokenizer, model.config.vocabSize);
        const known = model.hookNames();
        const r = await model.forward([ids], { cache: globs });
        if (r.cache.size === 0) throw new UsageError(`--hooks: '${flags.hooks}' matches no hook point (e.g. ${known[1]}, blocks.*.hook_resid_pre)`);
        // Keep firing order in the file, as hookNames() lists them.
        const tensors: TensorToWrite[] = known.filter((n) => r.cache.has(n)).map((name) => {
          const a = r.cache.get(name)!;
          return { name, dtype: 'F32', shape: a.shape, data: a.data };
        });
        tensors.push({ name: 'logits', dtype: 'F32', shape: r.logitsShape, data: r.logits });
        tensors.push({ name: 'input_ids', dtype: 'I32', shape: [1, ids.length], data: Int32Array.from(ids) });
        writeSafetensors(flags.out, tensors, {
          format: 'pt', model: path.resolve(dir), precision: model.precision, hooks: globs.join(','), prompt_ids: ids.join(','),
        });
        const result: TraceJson = { out: path.resolve(flags.out), promptIds: ids, tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })) };
        if (flags.json) printResult(result, true);
        else info(`wrote ${tensors.length} tensors to ${flags.out}`);
      } finally {
        model.dispose();
      }
    });
}
