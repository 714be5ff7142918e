/**
 * Flag parsing shared by the interpretability commands (project, lens, patch, attention, sae): the prompt, token
 * words, lists, the HTML output (the shared ones live in cli/flags.ts and cli/prompt-flags.ts). Numbers go through
 * engine/numbers.ts.
 */
import { UsageError } from '../../engine/errors.ts';
import { parseIntegerList } from '../../engine/numbers.ts';
import type { Tokenizer } from '../../engine/types.ts';
import type { Model } from '../../models/types.ts';
import type { ModelFlags } from '../flags.ts';
import { promptIds, type PromptFlags } from '../prompt-flags.ts';

export interface InterpFlags extends PromptFlags, ModelFlags {
  html?: string;
  json?: boolean;
}

export function promptOf(model: Model, flags: PromptFlags): number[] {
  return promptIds(flags, model.tokenizer, model.config.vocabSize);
}

/** A text prompt, chat-formatted with --chat (used for --clean / --corrupt). */
export function encodeText(model: Model, text: string, chat: boolean, flag: string): number[] {
  const tok = model.tokenizer;
  if (!tok) throw new UsageError(`${flag}: this model folder has no tokenizer.json`);
  if (chat) {
    if (!tok.hasChatTemplate) throw new UsageError('--chat: tokenizer_config.json has no chat_template');
    return tok.encodeChat(text);
  }
  return tok.encode(text);
}

/**
 * One token from a flag: `#123` is the id 123, anything else is text whose first token is taken (a note goes to
 * `warn` when the text is several tokens).
 */
export function tokenArg(text: string, flag: string, tok: Tokenizer | null, vocab: number, warn: (s: string) => void): number {
  if (/^#\d+$/.test(text)) {
    const [id] = parseIntegerList(text.slice(1), flag, { min: 0, max: vocab - 1 });
    return id;
  }
  if (!tok) throw new UsageError(`${flag}: this model folder has no tokenizer.json; give token ids as #123`);
  const ids = tok.encode(text, { addSpecialTokens: false });
  if (ids.length === 0) throw new UsageError(`${flag}: '${text}' encodes to no token`);
  const first = `${JSON.stringify(tok.decode([ids[0]]))} (id ${ids[0]})`;
  if (ids.length > 1) warn(`${flag}: '${text}' is ${ids.length} tokens; using the first, ${first}`);
  return ids[0];
}

/** A comma-separated list of tokens (see tokenArg). */
export function tokenListArg(text: string, flag: string, tok: Tokenizer | null, vocab: number, warn: (s: string) => void): number[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${flag}: empty item in '${text}'`);
  return items.map((s) => tokenArg(s, flag, tok, vocab, warn));
}

/** A comma-separated list of names, each one of `allowed`. */
export function choiceListArg<T extends string>(text: string, flag: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag}: empty list`);
  for (const s of items)
    if (!(allowed as readonly string[]).includes(s)) throw new UsageError(`${flag}: '${s}' is not one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

export function htmlArg(file: string | undefined): string | undefined {
  if (file !== undefined && !file.endsWith('.html')) throw new UsageError(`--html: expected a .html file name, got '${file}'`);
  return file;
}
