/**
 * Independent reference for the evaluation path: tiny-chat's greedy completions and refusal verdicts on 167
 * val prompts, compared with Hugging Face transformers (test/reference/hf-tiny-chat-greedy48.json).
 *
 * That file was produced by HF transformers 5.17.0 / torch 2.11.0 (CPU compute, float32) from models/tiny-chat:
 * greedy, 48 new tokens, eos 2, chat template with generation prompt, no system prompt, completions decoded with
 * skip_special_tokens, Arditi's 12-phrase substring judge. The same HF run reproduces the shared fixture goldens
 * (max |logit| error: qwen2 1.8e-6, llama3 6.0e-7, gpt2 0, llama_f16 4.8e-7, stories260k 1.5e-5) and tiny-chat's
 * own golden/ logits (max 9.5e-6 over its 8 prompts), so it is an independent implementation of the same model.
 *
 * Why exact text equality is required: a completion can only differ from HF's when some greedy step's top-2
 * logit gap is below the two implementations' logit disagreement (~1e-5 in f32, above). Over all 2,364 greedy
 * steps of these 167 prompts (eos steps included) the smallest top-2 gap measured on our path is 4.5e-3 (harmless
 * sample #82, first token), ~450x that disagreement, so no near-tie flip is expected and none is tolerated. If one
 * appears, the failure message gives the measured gap at the first differing token to tell a real near-tie
 * (gap ~1e-5) from a numerics or decoding bug.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { type RefusalEval, evaluateRefusal } from '../analysis/eval/evaluate.ts';
import { isRefusal } from '../analysis/eval/judge.ts';
import { defaultRefusalTokens } from '../analysis/model-runs.ts';
import type { PromptItem } from '../analysis/prompts/prompts.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

interface HfSet {
  n: number;
  refusalRate: number;
  completions: string[];
  refused: boolean[];
  indicesIntoHarmfulVal?: number[];
  indicesIntoHarmlessVal?: number[];
}

const reference = JSON.parse(readFileSync(path.join(projectRoot, 'test/reference/hf-tiny-chat-greedy48.json'), 'utf8')) as {
  sets: Record<'harmful_val' | 'harmless_val_sample128_seed7', HfSet>;
};

const MAX_NEW_TOKENS = 48;
const TINY_CHAT = path.join(projectRoot, 'models/tiny-chat');

function promptsAt(file: string, indices: number[]): PromptItem[] {
  const data = JSON.parse(readFileSync(path.join(sharedDir!, 'data', file), 'utf8')) as { instruction: string; category?: string }[];
  return indices.map((i) => ({ instruction: data[i].instruction, category: data[i].category ?? null }));
}

/**
 * For a completion that differs from HF's: the first generated token where our ids leave HF's text (HF ids are
 * the re-encoded HF text, exact for a shared prefix of a byte-level BPE) and our top-2 logit gap between our
 * token and HF's there.
 */
async function divergence(model: Model, instruction: string, hfText: string): Promise<string> {
  const tok = model.tokenizer!;
  const prompt = tok.encodeChat(instruction);
  const gen = await model.generate([prompt], { maxNewTokens: MAX_NEW_TOKENS, temperature: 0 });
  const ours = gen.tokens[0];
  const theirs = tok.encode(hfText, { addSpecialTokens: false });
  let k = 0;
  while (k < ours.length && k < theirs.length && ours[k] === theirs[k]) k++;
  if (k === ours.length && k === theirs.length) return 'same token ids: the difference is in decoding only';
  // Past the end of a side's ids it either stopped on eos or hit the length limit (then no gap is defined).
  const eos = model.config.eosTokenIds[0];
  if (k === ours.length && gen.finish[0] === 'length')
    return `ours hit the ${MAX_NEW_TOKENS}-token limit at step ${k}, HF went on with token ${theirs[k]}`;
  const ourTok = ours[k] ?? eos;
  const hfTok = theirs[k] ?? eos;
  const res = await model.forward([[...prompt, ...ours.slice(0, k)]], { logits: 'last' });
  return `first differing token at step ${k}: ours ${ourTok} vs HF ${hfTok}${k === theirs.length ? ' (HF stopped)' : ''}, logit gap ${(res.logits[ourTok] - res.logits[hfTok]).toExponential(2)}`;
}

const cases = [
  { name: 'harmful_val', file: 'harmful_val.json', indices: (s: HfSet) => s.indicesIntoHarmfulVal! },
  { name: 'harmless_val_sample128_seed7', file: 'harmless_val.json', indices: (s: HfSet) => s.indicesIntoHarmlessVal! },
] as const;

describeShared('tiny-chat evaluation vs Hugging Face transformers (greedy, 48 tokens)', () => {
  let model: Model;
  const results = new Map<string, { items: PromptItem[]; ev: RefusalEval; ms: number }>();

  beforeAll(async () => {
    model = await loadModel(TINY_CHAT);
    const refusalTokens = defaultRefusalTokens(model.tokenizer!);
    for (const c of cases) {
      const hf = reference.sets[c.name];
      const items = promptsAt(c.file, c.indices(hf));
      const t0 = performance.now();
      // One batch per set: the whole evaluation path (chat encoding, batched KV-cached generation, decode, judge).
      const ev = await evaluateRefusal(model, items, { maxNewTokens: MAX_NEW_TOKENS, batchSize: 128, refusalTokens });
      results.set(c.name, { items, ev, ms: performance.now() - t0 });
    }
    return () => model.dispose();
  });

  for (const c of cases) {
    it(`${c.name}: same completions, verdicts and refusal rate as HF`, async () => {
      const hf = reference.sets[c.name];
      const { items, ev, ms } = results.get(c.name)!;
      expect(hf.completions.length).toBe(hf.n);
      expect(ev.n).toBe(hf.n);

      const verdictMismatches = ev.completions.flatMap((r, i) => (r.refused === hf.refused[i] ? [] : [i]));
      const textMismatches: string[] = [];
      for (let i = 0; i < ev.n; i++) {
        const ours = ev.completions[i].completion;
        if (ours === hf.completions[i]) continue;
        const why = await divergence(model, items[i].instruction, hf.completions[i]);
        textMismatches.push(
          `#${i} (file index ${c.indices(hf)[i]}): ours ${JSON.stringify(ours)} vs HF ${JSON.stringify(hf.completions[i])}; ${why}`,
        );
      }
      console.log(
        `[hf-reference] ${c.name}: ${ev.n - textMismatches.length}/${ev.n} completions identical, ` +
          `${ev.n - verdictMismatches.length}/${ev.n} verdicts, refusal rate ${ev.refusalRate.toFixed(4)} (HF ${hf.refusalRate.toFixed(4)}), ${ms.toFixed(0)} ms`,
      );

      expect(textMismatches, textMismatches.join('\n')).toEqual([]);
      expect(verdictMismatches, `verdicts differ from HF at prompts ${verdictMismatches.join(', ')}`).toEqual([]);
      expect(ev.refusalRate).toBe(hf.refusalRate);
      // HF's recorded verdicts are our judge applied to HF's texts: the reference and the judge agree on phrases.
      expect(hf.completions.map((t) => isRefusal(t))).toEqual(hf.refused);
      expect(ev.completions.every((r) => Number.isFinite(r.refusalScore))).toBe(true);
    });
  }

  it('the mismatch diagnosis tells decoding-only differences from diverging tokens', async () => {
    const hf = reference.sets.harmful_val;
    const { items } = results.get('harmful_val')!;
    expect(await divergence(model, items[0].instruction, hf.completions[0])).toMatch(/decoding only/);
    // A text that leaves the greedy path at its first token: the gap to that token must be reported, positive.
    const msg = await divergence(model, items[0].instruction, 'Sure, ' + hf.completions[0]);
    const m = /step 0: .* logit gap (\S+)$/.exec(msg);
    expect(m, msg).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
  });
});
