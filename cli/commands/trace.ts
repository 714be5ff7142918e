/**
 * `glassbox trace <model-dir> (--prompt TEXT [--chat] | --ids 1,2,3) --out FILE.safetensors [--hooks GLOBS]`:
 * one forward pass; writes the requested activations (TransformerLens names, f32 [batch, pos, width]),
 * `logits` [batch, pos, vocab] and `input_ids` I32 [batch, pos] to a safetensors file.
 */
import type { Command } from 'commander';
import { type TraceJson, traceToFile } from '../../analysis/trace/trace-run.ts';
import { UsageError } from '../../engine/errors.ts';
import { checkOutputFile } from '../../engine/output-dir.ts';
import { loadModel } from '../../models/load.ts';
import { type ModelFlags, precisionFlags } from '../flags.ts';
import { info, printResult } from '../output.ts';
import { type PromptFlags, promptIds } from '../prompt-flags.ts';

export type { TraceJson };

interface TraceFlags extends PromptFlags, ModelFlags {
  out: string;
  hooks: string;
  json?: boolean;
  allowLongContext?: boolean;
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
    .option('--allow-long-context', "run past config.json's max_position_embeddings (RoPE models only)")
    .option('--json', 'print a JSON summary on stdout')
    .action(async (dir: string, flags: TraceFlags) => {
      // Flags.
      const { precision, groupSize } = precisionFlags(flags);
      if (!flags.out.endsWith('.safetensors')) throw new UsageError(`--out: expected a .safetensors file name, got '${flags.out}'`);
      checkOutputFile(flags.out, '--out', [dir]);
      const globs = flags.hooks
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false, allowLongContext: flags.allowLongContext });
      try {
        const ids = promptIds(flags, model.tokenizer, model.config.vocabSize);
        const result = await traceToFile(model, ids, { globs, hooksFlag: flags.hooks, out: flags.out, modelDir: dir });
        if (flags.json) printResult(result, true);
        else info(`wrote ${result.tensors.length} tensors to ${flags.out}`);
      } finally {
        model.dispose();
      }
    });
}
