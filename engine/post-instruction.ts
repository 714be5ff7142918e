/**
 * The post-instruction ("end of instruction") tokens of a chat template: what follows the user's text in a
 * rendered prompt, e.g. `<|end|>\n<|assistant|>\n`. Refusal directions are read at these positions, so
 * they must be the same ids at the end of EVERY prompt.
 *
 * Method: render the template with a sentinel instruction, cut the text after the sentinel, tokenize that
 * suffix alone. Tokenizing a piece alone can differ from tokenizing it in context (a BPE merge across the
 * boundary, e.g. an instruction ending in "." fusing with a following ".\n"), so the suffix is checked
 * against the tails of fully tokenized prompts; when they disagree, the longest common suffix of the
 * suffix ids and every probe prompt is used instead: those tokens are the ones present at the end of any
 * prompt. The probes vary the last characters of the instruction (letter, punctuation, digit, space).
 */
import { ModelFolderError } from './errors.ts';

const SENTINEL = 'GLASSBOXSENTINELxqz';
const PROBES = ['How do I bake bread?', 'Write a poem about the sea', 'List three colors.', 'Count to 10', 'hello ', SENTINEL];

export function postInstructionSuffix(render: (instruction: string) => string, encode: (text: string) => number[]): number[] {
  const text = render(SENTINEL);
  const at = text.indexOf(SENTINEL);
  if (at < 0 || text.indexOf(SENTINEL, at + 1) >= 0) {
    // Templates that transform the content (or repeat it) give no single place to split at.
    throw new ModelFolderError(`chat_template: cannot locate the user instruction in the rendered prompt`);
  }
  const suffix = encode(text.slice(at + SENTINEL.length));
  let keep = suffix.length;
  for (const probe of PROBES) keep = Math.min(keep, commonSuffixLength(suffix, encode(render(probe))));
  return suffix.slice(suffix.length - keep);
}

function commonSuffixLength(a: number[], b: number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}
