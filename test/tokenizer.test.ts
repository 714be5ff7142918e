import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../engine/tokenizer.ts';
import { ModelFolderError, UsageError } from '../engine/errors.ts';
import type { Tokenizer } from '../engine/types.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

const tinyDir = path.join(projectRoot, 'models/tiny-chat');
const tiny = loadTokenizer(tinyDir) as Tokenizer;
const golden = JSON.parse(readFileSync(path.join(tinyDir, 'golden/prompts.json'), 'utf8')) as Array<{
  instruction: string;
  chat_text: string;
  input_ids: number[];
  greedy_completion_ids: number[];
  greedy_completion: string;
}>;

describe('tiny-chat tokenizer', () => {
  it('reads the special tokens', () => {
    expect(tiny).not.toBeNull();
    expect([tiny.vocabSize, tiny.bosTokenId, tiny.eosTokenIds, tiny.padTokenId, tiny.hasChatTemplate]).toEqual([2048, 1, [2], 0, true]);
    expect(['<|pad|>', '<|bos|>', '<|end|>', '<|user|>', '<|assistant|>'].map((t) => tiny.tokenToId(t))).toEqual([0, 1, 2, 3, 4]);
    expect(tiny.tokenToId('no-such-token')).toBeNull();
  });

  it('renders the chat template exactly and encodes it as the HF golden ids', () => {
    expect(golden.length).toBe(8);
    for (const g of golden) {
      const text = tiny.applyChatTemplate([{ role: 'user', content: g.instruction }], { addGenerationPrompt: true });
      expect(text).toBe(`<|bos|><|user|>\n${g.instruction}<|end|>\n<|assistant|>\n`);
      expect(text).toBe(g.chat_text);
      expect(tiny.encodeChat(g.instruction)).toEqual(g.input_ids);
      // Decoding the golden completion reproduces the recorded text.
      expect(tiny.decode(g.greedy_completion_ids)).toBe(g.greedy_completion);
    }
  });

  it('add_generation_prompt defaults to false, as in transformers', () => {
    expect(tiny.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('<|bos|><|user|>\nhi<|end|>\n');
  });

  it('turns template exceptions into a typed error', () => {
    expect(() => tiny.applyChatTemplate([{ role: 'system', content: 'x' }])).toThrow(UsageError);
    expect(() => tiny.applyChatTemplate([{ role: 'system', content: 'x' }])).toThrow(/Only user and assistant roles/);
  });

  it('postInstructionIds are the 4 ids of <|end|>\\n<|assistant|>\\n', () => {
    expect(tiny.postInstructionIds()).toEqual([2, 15, 4, 15]);
    expect(tiny.postInstructionIds()).toEqual(tiny.encode('<|end|>\n<|assistant|>\n'));
  });

  it('adds no BOS (add_bos_token false: the template emits it) and decodes specials on request', () => {
    const ids = tiny.encode('Hello world');
    expect(ids[0]).not.toBe(1);
    expect(tiny.encode('Hello world', { addSpecialTokens: false })).toEqual(ids);
    const chat = tiny.encodeChat('Hello world');
    expect(tiny.decode(chat)).toBe('<|bos|><|user|>\nHello world<|end|>\n<|assistant|>\n');
    expect(tiny.decode(chat, { skipSpecialTokens: true })).toBe('\nHello world\n\n');
    expect(tiny.decode([])).toBe('');
    expect(() => tiny.decode([5000])).toThrow(UsageError);
  });
});

describe('tokenizer folders built from tiny-chat', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-tok-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const baseCfg = JSON.parse(readFileSync(path.join(tinyDir, 'tokenizer_config.json'), 'utf8'));
  const folder = (name: string, cfg: Record<string, unknown> | null, extra: Record<string, string> = {}) => {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    if (cfg) writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
    for (const [f, text] of Object.entries(extra)) writeFileSync(path.join(dir, f), text);
    return dir;
  };

  it('adds BOS when add_bos_token is true, never twice via the chat template', () => {
    const tok = loadTokenizer(folder('bos', { ...baseCfg, add_bos_token: true }))!;
    expect(tok.encode('Hello')[0]).toBe(1);
    expect(tok.encode('Hello').slice(1)).toEqual(tok.encode('Hello', { addSpecialTokens: false }));
    expect(tok.encodeChat('Hello').filter((id) => id === 1)).toHaveLength(1);
  });

  it('without add_bos_token the tokenizer.json post-processor decides; the flag overrides it', () => {
    const tokJson = JSON.parse(readFileSync(path.join(tinyDir, 'tokenizer.json'), 'utf8'));
    tokJson.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|bos|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|bos|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|bos|>': { id: '<|bos|>', ids: [1], tokens: ['<|bos|>'] } },
    };
    const { add_bos_token: _, ...noFlag } = baseCfg;
    const viaPost = loadTokenizer(folder('post', noFlag, { 'tokenizer.json': JSON.stringify(tokJson) }))!;
    expect(viaPost.encode('Hello')[0]).toBe(1);
    expect(viaPost.encode('Hello', { addSpecialTokens: false })[0]).not.toBe(1);
    // The chat template already emits <|bos|>: apply_chat_template must not add a second one.
    expect(viaPost.encodeChat('Hello').filter((id) => id === 1)).toHaveLength(1);
    const flagged = loadTokenizer(folder('post-off', { ...noFlag, add_bos_token: false }, { 'tokenizer.json': JSON.stringify(tokJson) }))!;
    expect(flagged.encode('Hello')[0]).not.toBe(1);
  });

  it('falls back to the common suffix when the suffix merges with the instruction', () => {
    // "…sea" + "ing" tokenizes differently from "ing" alone, so "ing" cannot be a post-instruction token.
    const tpl =
      "{{ bos_token }}{% for m in messages %}<|user|>\n{{ m['content'] }}ing<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
    const tok = loadTokenizer(folder('merge', { ...baseCfg, chat_template: tpl }))!;
    const eoi = tok.postInstructionIds();
    expect(eoi).toEqual([2, 15, 4, 15]);
    const alone = tok.encode('ing<|end|>\n<|assistant|>\n');
    expect(alone.length).toBeGreaterThan(eoi.length); // the raw suffix had more tokens
    for (const instr of ['Write a poem about the sea', 'Count to 10', 'Why?']) expect(tok.encodeChat(instr).slice(-4)).toEqual(eoi);
  });

  it('without a chat template: encodeChat = encode, no post-instruction tokens', () => {
    const { chat_template: _, ...noTpl } = baseCfg;
    const tok = loadTokenizer(folder('plain', { ...noTpl, add_bos_token: true }))!;
    expect(tok.hasChatTemplate).toBe(false);
    expect(tok.encodeChat('Hello there')).toEqual(tok.encode('Hello there'));
    expect(tok.encodeChat('Hello there')[0]).toBe(1);
    expect(tok.postInstructionIds()).toEqual([]);
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(ModelFolderError);
  });

  it('reads chat_template.jinja, AddedToken-dict specials and generation_config eos lists', () => {
    const cfg = { ...baseCfg, chat_template: undefined, eos_token: { content: '<|end|>', special: true } };
    const dir = folder('jinja', cfg, {
      'chat_template.jinja': "{{ bos_token }}[{{ messages[0]['content'] }}]{{ eos_token }}",
      'generation_config.json': JSON.stringify({ eos_token_id: [2, 4] }),
    });
    const tok = loadTokenizer(dir)!;
    expect(tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('<|bos|>[x]<|end|>');
    expect(tok.eosTokenIds).toEqual([2, 4]);
    expect(tok.postInstructionIds()).toEqual(tok.encode(']<|end|>'));
  });

  it('returns null without tokenizer.json and names broken files', () => {
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(loadTokenizer(empty)).toBeNull();
    const bad = folder('badjson', null, { 'tokenizer.json': '{not json' });
    expect(() => loadTokenizer(bad)).toThrow(ModelFolderError);
    expect(() => loadTokenizer(bad)).toThrow(/tokenizer\.json: not valid JSON/);
    const badTpl = folder('badtpl', { ...baseCfg, chat_template: '{% for %}' });
    expect(() => loadTokenizer(badTpl)).toThrow(/tokenizer_config\.json: chat_template does not parse/);
    const badBos = folder('badbos', { ...baseCfg, bos_token: '<|nope|>' });
    expect(() => loadTokenizer(badBos)).toThrow(/bos_token "<\|nope\|>" is not in/);
  });
});

describeShared('tiny-chat tokenizer on the shared prompt sets', () => {
  const load = (f: string) =>
    (JSON.parse(readFileSync(path.join(sharedDir!, 'data', f), 'utf8')) as Array<{ instruction: string }>).map((r) => r.instruction);

  it('round-trips every harmful prompt and 600 harmless ones, each chat prompt ending in the EOI ids', () => {
    const prompts = [
      ...load('harmful_train.json'),
      ...load('harmful_val.json'),
      ...load('harmless_train.json').slice(0, 300),
      ...load('harmless_val.json').slice(0, 300),
    ];
    expect(prompts.length).toBe(260 + 39 + 600);
    const eoi = tiny.postInstructionIds();
    for (const p of prompts) {
      expect(tiny.decode(tiny.encode(p))).toBe(p);
      const chat = tiny.encodeChat(p);
      expect(chat[0]).toBe(1);
      expect(chat.slice(-eoi.length)).toEqual(eoi);
      expect(tiny.decode(chat)).toBe(`<|bos|><|user|>\n${p}<|end|>\n<|assistant|>\n`);
    }
  });
});
