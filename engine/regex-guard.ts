/**
 * A static guard against catastrophic backtracking in tokenizer.json regexes (pre-tokenizer / normalizer
 * `Split` and `Replace` patterns). JavaScript regexes cannot be interrupted, so a pattern such as `(a+)+$` on a
 * long run of `a`s hangs the process. The guard refuses, at load, a repeated group that itself contains a
 * repetition (`(x+)+`, `(x*)*`, `(?:\w+\s?)*`, `(a{2,})+`): the classic exponential shape. It is a heuristic:
 * it does not find every slow pattern (overlapping alternatives such as `(a|a)*`), so input length is also
 * capped at encode time (engine/tokenizer.ts). The patterns of GPT-2, Llama 3, Qwen2 and tiny-chat pass.
 */

/** True when `re` has a quantified group that contains a quantifier. */
export function hasNestedQuantifier(re: string): boolean {
  const stack: boolean[] = [false]; // per open group: does it contain a repetition?
  const isRepeat = (i: number) =>
    re[i] === '+' ||
    re[i] === '*' ||
    (re[i] === '{' && /^\{\d*,?\d*\}/.test(re.slice(i)) && !/^\{[01]\}/.test(re.slice(i)) && !/^\{0?,1\}/.test(re.slice(i)));
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      if ((re[i + 1] === 'p' || re[i + 1] === 'P') && re[i + 2] === '{') i = re.indexOf('}', i);
      else i++;
      if (i < 0) return false;
      continue;
    }
    if (c === '[') {
      for (i++; i < re.length && re[i] !== ']'; i++) if (re[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      continue;
    }
    if (c === ')') {
      const inner = stack.pop() ?? false;
      if (stack.length === 0) stack.push(false);
      if (isRepeat(i + 1)) {
        if (inner) return true;
        stack[stack.length - 1] = true;
      } else if (inner) stack[stack.length - 1] = true;
      continue;
    }
    if (isRepeat(i)) stack[stack.length - 1] = true;
  }
  return false;
}

/** Every `{Regex: string}` pattern in a tokenizer.json subtree, with where it was found. */
export function tokenizerRegexes(node: unknown, where = ''): { where: string; regex: string }[] {
  if (Array.isArray(node)) return node.flatMap((x, i) => tokenizerRegexes(x, `${where}[${i}]`));
  if (!node || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  const out: { where: string; regex: string }[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k === 'Regex' && typeof v === 'string') out.push({ where, regex: v });
    else if (k !== 'model' && k !== 'added_tokens') out.push(...tokenizerRegexes(v, where ? `${where}.${k}` : k));
  }
  return out;
}
