/**
 * HF tokenizers for model folders: tokenizer.json through @huggingface/tokenizers, the chat template of
 * tokenizer_config.json (or chat_template.jinja) through @huggingface/jinja, with transformers' conventions:
 *  - encode(text) adds BOS/EOS as the tokenizer config says: explicit `add_bos_token` / `add_eos_token` flags
 *    win (as LlamaTokenizerFast rebuilds its post-processor from them); without them the post-processor of
 *    tokenizer.json decides.
 *  - encodeChat renders the template and encodes WITHOUT adding special tokens again, as
 *    apply_chat_template(tokenize=True) does: the template itself emits BOS where the model wants it.
 *  - A model without a chat template: encodeChat(x) = encode(x) (BOS per the config) and
 *    postInstructionIds() = [] (there is no end-of-instruction marker to read directions at).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { ModelFolderError, UsageError } from './errors.ts';
import { filePath, readJson, type FolderSource } from './folder-source.ts';
import { nodeFolderSource } from './node-folder-source.ts';
import type { ChatMessage, Tokenizer } from './types.ts';
import { postInstructionSuffix } from './post-instruction.ts';
import { renderLimited } from './chat-template.ts';
import { hasNestedQuantifier, tokenizerRegexes } from './regex-guard.ts';

/**
 * Longest text encode() accepts (characters): about 250k tokens, past the context of every model Glassbox runs;
 * a 50 MB prompt would otherwise take gigabytes in the tokenizer before the context limit could refuse it.
 */
export const MAX_ENCODE_CHARS = 1_000_000;

type Json = Record<string, unknown>;

/** Load the folder's tokenizer, or null when it has no tokenizer.json (ids-only models such as stories260k). */
export function loadTokenizer(dir: string): Tokenizer | null {
  return loadTokenizerFrom(nodeFolderSource(dir));
}

/** loadTokenizer over any FolderSource (the web app's fetched or picked folders). */
export function loadTokenizerFrom(files: FolderSource): Tokenizer | null {
  if (!files.has('tokenizer.json')) return null;
  const tokFile = filePath(files, 'tokenizer.json');
  const tokJson = readObject(files, 'tokenizer.json');
  const cfgFile = filePath(files, 'tokenizer_config.json');
  const cfg = files.has('tokenizer_config.json') ? readObject(files, 'tokenizer_config.json') : {};
  const specialMap = files.has('special_tokens_map.json') ? readObject(files, 'special_tokens_map.json') : {};
  const gen = files.has('generation_config.json') ? readObject(files, 'generation_config.json') : {};
  return new FolderTokenizer({
    tokenizerFile: tokFile,
    tokenizerJson: tokJson,
    configFile: cfgFile,
    config: cfg,
    specialTokensMap: specialMap,
    generationConfig: gen,
    chatTemplate: chatTemplateSource(files, cfg, cfgFile),
  });
}

function readObject(files: FolderSource, name: string): Json {
  const v = readJson(files, name, ModelFolderError);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ModelFolderError(`${filePath(files, name)}: expected a JSON object`);
  return v as Json;
}

/** The template text: tokenizer_config.json's chat_template (string or named list: "default"), else chat_template.jinja. */
function chatTemplateSource(files: FolderSource, cfg: Json, cfgFile: string): string | null {
  const t = cfg.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as Array<{ name?: string; template?: string }>;
    const chosen = named.find((x) => x?.name === 'default') ?? named[0];
    if (typeof chosen?.template !== 'string') throw new ModelFolderError(`${cfgFile}: chat_template list has no "default" template`);
    return chosen.template;
  }
  return files.has('chat_template.jinja') ? files.readText('chat_template.jinja') : null;
}

/** A special-token entry is a string or an AddedToken dict ({content: ...}). */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/** A tokenizer folder's files as read by loadTokenizer ({} for an absent JSON file); the paths name them in errors. */
interface TokenizerFiles {
  tokenizerFile: string;
  tokenizerJson: Json;
  configFile: string;
  /** tokenizer_config.json */
  config: Json;
  /** special_tokens_map.json */
  specialTokensMap: Json;
  /** generation_config.json */
  generationConfig: Json;
  /** The chat template source (tokenizer_config.json or chat_template.jinja), null when there is none. */
  chatTemplate: string | null;
}

class FolderTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  readonly hasChatTemplate: boolean;
  private readonly hf: HfTokenizer;
  private readonly template: Template | null;
  private readonly tokenVars: Record<string, string>;
  private readonly addBos: boolean | null;
  private readonly addEos: boolean;
  private postIds: number[] | null = null;

  private readonly tokFile: string;
  private readonly cfgFile: string;

  constructor(files: TokenizerFiles) {
    const { tokenizerFile: tokFile, tokenizerJson: tokJson, configFile: cfgFile, config: cfg } = files;
    const { specialTokensMap: specialMap, generationConfig: gen, chatTemplate: templateSource } = files;
    this.tokFile = tokFile;
    this.cfgFile = cfgFile;
    // Untrusted regexes: refuse the exponential-backtracking shape before the tokenizer compiles them.
    for (const { where, regex } of tokenizerRegexes({ normalizer: tokJson.normalizer, pre_tokenizer: tokJson.pre_tokenizer })) {
      if (hasNestedQuantifier(regex))
        throw new ModelFolderError(
          `${tokFile}: ${where} regex ${JSON.stringify(regex)} has a nested quantifier (catastrophic backtracking); refused`,
        );
    }
    try {
      this.hf = new HfTokenizer(tokJson, cfg);
    } catch (e) {
      throw new ModelFolderError(`${tokFile}: cannot build tokenizer (${(e as Error).message.split('\n')[0]})`);
    }
    const vocab = this.hf.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    // Special tokens as the template sees them: tokenizer_config.json first, special_tokens_map.json second.
    this.tokenVars = {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'sep_token', 'cls_token', 'mask_token']) {
      const s = tokenString(cfg[key]) ?? tokenString(specialMap[key]);
      if (s !== null) this.tokenVars[key] = s;
    }
    const idOf = (key: string): number | null => {
      const s = this.tokenVars[key];
      if (s === undefined) return null;
      const id = this.tokenToId(s);
      if (id === null) throw new ModelFolderError(`${cfgFile}: ${key} "${s}" is not in ${tokFile}`);
      return id;
    };
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token');
    // generate() stops at any of generation_config.json's eos ids (Llama 3 lists several) and the tokenizer's.
    const eos = new Set<number>();
    const tokEos = idOf('eos_token');
    if (tokEos !== null) eos.add(tokEos);
    const genEos = gen.eos_token_id;
    for (const id of Array.isArray(genEos) ? genEos : genEos == null ? [] : [genEos]) {
      if (typeof id === 'number' && Number.isInteger(id)) eos.add(id);
    }
    this.eosTokenIds = [...eos];
    this.addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : null;
    this.addEos = cfg.add_eos_token === true;

    this.hasChatTemplate = templateSource !== null;
    try {
      this.template = templateSource === null ? null : new Template(templateSource);
    } catch (e) {
      throw new ModelFolderError(`${cfgFile}: chat_template does not parse (${(e as Error).message.split('\n')[0]})`);
    }
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const add = opts.addSpecialTokens ?? true;
    if (text.length > MAX_ENCODE_CHARS)
      throw new UsageError(`prompt of ${text.length} characters exceeds the ${MAX_ENCODE_CHARS}-character encode limit`);
    if (this.addBos === null) return this.hf.encode(text, { add_special_tokens: add }).ids;
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    if (!add) return ids;
    if (this.addBos) {
      if (this.bosTokenId === null) throw new ModelFolderError(`${this.cfgFile}: add_bos_token is true but there is no bos_token`);
      ids.unshift(this.bosTokenId);
    }
    if (this.addEos && this.eosTokenIds.length > 0) ids.push(this.eosTokenIds[0]);
    return ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new UsageError(`${this.tokFile}: cannot decode token id ${id} (vocabulary has ${this.vocabSize} ids)`);
      }
    }
    return this.hf.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.template) throw new ModelFolderError(`${this.cfgFile}: no chat_template (the model has no chat format)`);
    try {
      // transformers defaults add_generation_prompt to false; the template also sees the special-token strings.
      return renderLimited(this.template, {
        ...this.tokenVars,
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new UsageError(`${this.cfgFile}: chat_template failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  encodeChat(instruction: string): number[] {
    if (!this.template) return this.encode(instruction);
    const text = this.applyChatTemplate([{ role: 'user', content: instruction }], { addGenerationPrompt: true });
    return this.encode(text, { addSpecialTokens: false });
  }

  postInstructionIds(): number[] {
    if (!this.template) return [];
    this.postIds ??= postInstructionSuffix(
      (instruction) => this.applyChatTemplate([{ role: 'user', content: instruction }], { addGenerationPrompt: true }),
      (text) => this.encode(text, { addSpecialTokens: false }),
    );
    return [...this.postIds];
  }
}
