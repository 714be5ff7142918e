/**
 * `glassbox generate <model-dir> (--prompt TEXT [--chat] | --ids 1,2,3) [options]`: KV-cached generation,
 * streamed to stdout as it decodes, or one JSON object with --json.
 */
import type { Command } from 'commander';
import { InterruptedError } from '../../engine/errors.ts';
import { parseInteger, parseNumber } from '../../engine/numbers.ts';
import { loadModel } from '../../models/load.ts';
import type { WeightPrecision } from '../../models/types.ts';
import { type ModelFlags, NON_NEGATIVE, POSITIVE, SEED_RANGE, optionalInteger, optionalNumber, precisionFlags } from '../flags.ts';
import { sigintSignal } from '../interrupt.ts';
import { info, printResult } from '../output.ts';
import { type PromptFlags, promptIds } from '../prompt-flags.ts';
import { terminalSafe } from '../terminal.ts';

export interface GenerateJson {
  promptIds: number[];
  generatedIds: number[];
  text: string;
  tokensPerSecond: number;
  finish: 'stop' | 'length';
  prefillMs: number;
  decodeMs: number;
  precision: WeightPrecision;
  backend: string;
}

interface GenerateFlags extends PromptFlags, ModelFlags {
  allowLongContext?: boolean;
  maxTokens: string;
  temperature: string;
  topK?: string;
  topP?: string;
  seed: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate text from a prompt (greedy by default), KV-cached, streaming to stdout')
    .argument('<model-dir>', 'Hugging Face model folder')
    .option('--prompt <text>', 'prompt text (tokenized with the model tokenizer)')
    .option('--chat', 'wrap --prompt in the chat template as one user turn, with the generation prompt')
    .option('--ids <ids>', 'prompt as comma-separated token ids instead of text')
    .option('--max-tokens <n>', 'new tokens at most', '64')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', '0')
    .option('--top-k <k>', 'sample among the k most likely tokens')
    .option('--top-p <p>', 'nucleus sampling mass')
    .option('--seed <s>', 'sampling seed', '0')
    .option('--precision <p>', 'run-time weights: auto (the checkpoint dtype), f32, bf16, int8 or int4 (default f32)')
    .option('--quant <format>', 'quantize the linears at load: int8 (per channel) or int4 (group 128)')
    .option('--group-size <g>', 'int4 group size (default 128)')
    .option('--allow-long-context', "run past config.json's max_position_embeddings (RoPE models only)")
    .option('--json', 'print one JSON object {promptIds, generatedIds, text, tokensPerSecond, ...} on stdout')
    .action(async (dir: string, flags: GenerateFlags) => {
      // Flags.
      const { precision, groupSize } = precisionFlags(flags);
      const maxNewTokens = parseInteger(flags.maxTokens, '--max-tokens', NON_NEGATIVE);
      const temperature = parseNumber(flags.temperature, '--temperature', { min: 0, max: 100 });
      const topK = optionalInteger(flags.topK, '--top-k', POSITIVE);
      const topP = optionalNumber(flags.topP, '--top-p', { min: 0, max: 1 });
      const seed = parseInteger(flags.seed, '--seed', SEED_RANGE);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false, allowLongContext: flags.allowLongContext });
      const tok = model.tokenizer;
      const { signal, dispose } = sigintSignal('the current token');
      const generated: number[] = [];
      let shown = '';
      const json = flags.json ?? false;
      try {
        const ids = promptIds(flags, model.tokenizer, model.config.vocabSize);
        // The library call, streaming tokens to stdout as they come.
        const r = await model.generate([ids], {
          maxNewTokens,
          temperature,
          topK,
          topP,
          seed,
          signal,
          onToken: ([id]) => {
            if (id < 0) return;
            generated.push(id);
            if (json) return;
            // Decode the whole continuation each time: a multi-byte character may span tokens.
            const text = tok ? tok.decode(generated, { skipSpecialTokens: true }) : `${generated.join(' ')}`;
            if (text.startsWith(shown)) process.stdout.write(terminalSafe(text.slice(shown.length), true));
            shown = text;
          },
        });
        // Print.
        const text = tok ? tok.decode(r.tokens[0], { skipSpecialTokens: true }) : r.tokens[0].join(' ');
        const result: GenerateJson = {
          promptIds: ids,
          generatedIds: r.tokens[0],
          text,
          tokensPerSecond: r.tokensPerSecond,
          finish: r.finish[0],
          prefillMs: r.prefillMs,
          decodeMs: r.decodeMs,
          precision: model.precision,
          backend: model.backendName,
        };
        if (json) printResult(result, true);
        else {
          process.stdout.write('\n');
          info(
            `${r.tokens[0].length} tokens (${r.finish[0]}), ${r.tokensPerSecond.toFixed(1)} tokens/s, ${model.precision} on ${model.backendName}`,
          );
        }
      } catch (e) {
        if (e instanceof InterruptedError) throw new InterruptedError(`generate: interrupted after ${generated.length} tokens`);
        throw e;
      } finally {
        dispose();
        model.dispose();
      }
    });
}
