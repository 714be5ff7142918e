/**
 * `glassbox generate <model-dir> (--prompt TEXT [--chat] | --ids 1,2,3) [options]`: KV-cached generation,
 * streamed to stdout as it decodes, or one JSON object with --json.
 */
import type { Command } from 'commander';
import { InterruptedError, UsageError } from '../../engine/errors.ts';
import type { Tokenizer } from '../../engine/types.ts';
import { loadModel } from '../../models/load.ts';
import type { LoadPrecision, WeightPrecision } from '../../models/types.ts';
import { precisionArg } from '../../analysis/cli-args.ts';
import { info, printResult } from '../output.ts';

export interface PromptOptions {
  prompt?: string;
  chat?: boolean;
  ids?: string;
}

export interface ModelOptions {
  precision?: string;
  quant?: string;
  groupSize?: string;
}

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

/** The prompt's token ids from --ids, or --prompt encoded (chat-formatted with --chat). */
export function promptIds(opts: PromptOptions, tokenizer: Tokenizer | null, vocabSize: number): number[] {
  if ((opts.prompt === undefined) === (opts.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --ids 1,2,3');
  if (opts.ids !== undefined) {
    if (opts.chat) throw new UsageError('--chat applies to --prompt TEXT only; --ids are used as given');
    const ids = opts.ids.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (ids.length === 0 || bad !== undefined) throw new UsageError(`--ids: expected comma-separated token ids in 0..${vocabSize - 1}, got '${opts.ids}'`);
    return ids;
  }
  if (!tokenizer) throw new UsageError('--prompt: this model folder has no tokenizer.json; pass --ids instead');
  if (opts.chat) {
    if (!tokenizer.hasChatTemplate) throw new UsageError('--chat: tokenizer_config.json has no chat_template');
    return tokenizer.encodeChat(opts.prompt!);
  }
  return tokenizer.encode(opts.prompt!);
}

export function parsePrecision(opts: ModelOptions): { precision: LoadPrecision; groupSize?: number } {
  const q = precisionArg(opts.precision, opts.quant);
  const groupSize = opts.groupSize === undefined ? undefined : positiveInt(opts.groupSize, '--group-size');
  if (groupSize !== undefined && q !== 'int4') throw new UsageError(`--group-size: only applies to --precision int4 (got ${q})`);
  return { precision: q, groupSize };
}

function positiveInt(s: string, flag: string, min = 1): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got '${s}'`);
  return n;
}

function number(s: string, flag: string, lo: number, hi: number): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new UsageError(`${flag}: expected a number in [${lo}, ${hi}], got '${s}'`);
  return n;
}

interface GenerateFlags extends PromptOptions, ModelOptions {
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
    .option('--json', 'print one JSON object {promptIds, generatedIds, text, tokensPerSecond, ...} on stdout')
    .action(async (dir: string, flags: GenerateFlags) => {
      const { precision, groupSize } = parsePrecision(flags);
      const maxNewTokens = positiveInt(flags.maxTokens, '--max-tokens', 0);
      const temperature = number(flags.temperature, '--temperature', 0, 100);
      const topK = flags.topK === undefined ? undefined : positiveInt(flags.topK, '--top-k');
      const topP = flags.topP === undefined ? undefined : number(flags.topP, '--top-p', 0, 1);
      const seed = positiveInt(flags.seed, '--seed', 0);
      const model = await loadModel(dir, { precision, groupSize, retainWeights: false });
      const ids = promptIds(flags, model.tokenizer, model.config.vocabSize);
      const tok = model.tokenizer;
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      const generated: number[] = [];
      let shown = '';
      const json = flags.json ?? false;
      try {
        const r = await model.generate([ids], {
          maxNewTokens, temperature, topK, topP, seed, signal: ac.signal,
          onToken: ([id]) => {
            if (id < 0) return;
            generated.push(id);
            if (json) return;
            // Decode the whole continuation each time: a multi-byte character may span tokens.
            const text = tok ? tok.decode(generated, { skipSpecialTokens: true }) : `${generated.join(' ')}`;
            if (text.startsWith(shown)) process.stdout.write(text.slice(shown.length));
            shown = text;
          },
        });
        const text = tok ? tok.decode(r.tokens[0], { skipSpecialTokens: true }) : r.tokens[0].join(' ');
        const result: GenerateJson = {
          promptIds: ids, generatedIds: r.tokens[0], text, tokensPerSecond: r.tokensPerSecond, finish: r.finish[0],
          prefillMs: r.prefillMs, decodeMs: r.decodeMs, precision: model.precision, backend: model.backendName,
        };
        if (json) printResult(result, true);
        else {
          process.stdout.write('\n');
          info(`${r.tokens[0].length} tokens (${r.finish[0]}), ${r.tokensPerSecond.toFixed(1)} tokens/s, ${model.precision} on ${model.backendName}`);
        }
      } catch (e) {
        if (e instanceof InterruptedError) throw new InterruptedError(`generate: interrupted after ${generated.length} tokens`);
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
        model.dispose();
      }
    });
}
