/** The prompt flags shared by `generate` and `trace`: --prompt TEXT [--chat] or --ids 1,2,3, turned into token ids. */
import { UsageError } from '../engine/errors.ts';
import { parseIntegerList } from '../engine/numbers.ts';
import type { Tokenizer } from '../engine/types.ts';

export interface PromptFlags {
  prompt?: string;
  chat?: boolean;
  ids?: string;
}

/** The prompt's token ids from --ids, or --prompt encoded (chat-formatted with --chat). */
export function promptIds(flags: PromptFlags, tokenizer: Tokenizer | null, vocabSize: number): number[] {
  if ((flags.prompt === undefined) === (flags.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --ids 1,2,3');
  if (flags.ids !== undefined) {
    if (flags.chat) throw new UsageError('--chat applies to --prompt TEXT only; --ids are used as given');
    return parseIntegerList(flags.ids, '--ids', { min: 0, max: vocabSize - 1 });
  }
  if (!tokenizer) throw new UsageError('--prompt: this model folder has no tokenizer.json; pass --ids instead');
  if (flags.chat) {
    if (!tokenizer.hasChatTemplate) throw new UsageError('--chat: tokenizer_config.json has no chat_template');
    return tokenizer.encodeChat(flags.prompt!);
  }
  return tokenizer.encode(flags.prompt!);
}
