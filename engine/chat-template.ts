/**
 * Rendering a chat template (tokenizer_config.json's Jinja) with limits. The template is untrusted code:
 * `range(1000000000)` would allocate a billion-entry array and abort Node, nested loops would run for hours.
 * So rendering runs on an Interpreter that counts evaluation steps (MAX_STEPS) and a `range` that refuses
 * more than MAX_RANGE items per call; the globals are those @huggingface/jinja's Template.render sets.
 * Real chat templates take a few thousand steps for a one-turn conversation.
 */
import { Environment, Interpreter, type Template } from '@huggingface/jinja';
import { GlassboxError } from './errors.ts';

export const MAX_STEPS = 1_000_000;
export const MAX_RANGE = 100_000;
/** All range() calls of one render together (a loop over an empty body evaluates nothing, so steps miss it). */
export const MAX_RANGE_TOTAL = 200_000;

/** Thrown inside the interpreter; the caller turns it into its own error naming the file. */
export class TemplateLimitError extends GlassboxError {}

type Statement = Parameters<Interpreter['evaluate']>[0];

class LimitedInterpreter extends Interpreter {
  private steps = 0;

  override evaluate(statement: Statement, environment: Environment): ReturnType<Interpreter['evaluate']> {
    if (++this.steps > MAX_STEPS) throw new TemplateLimitError(`rendering took more than ${MAX_STEPS} steps (a runaway loop?)`);
    return super.evaluate(statement, environment);
  }
}

/** A range() for one render: at most MAX_RANGE items per call and MAX_RANGE_TOTAL over the render. */
function boundedRange(): (start: number, stop?: number, step?: number) => number[] {
  let total = 0;
  return (start, stop, step = 1) => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (!(count <= MAX_RANGE)) throw new TemplateLimitError(`range() of ${count} items exceeds the ${MAX_RANGE}-item limit`);
    total += count;
    if (total > MAX_RANGE_TOTAL)
      throw new TemplateLimitError(`range() calls produced more than ${MAX_RANGE_TOTAL} items in one render (nested loops?)`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(start + i * step);
    return out;
  };
}

function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (t) => {
    switch (t) {
      case '%Y':
        return String(d.getFullYear());
      case '%m':
        return pad(d.getMonth() + 1);
      case '%d':
        return pad(d.getDate());
      case '%b':
        return d.toLocaleString('en-US', { month: 'short' });
      case '%B':
        return d.toLocaleString('en-US', { month: 'long' });
      case '%H':
        return pad(d.getHours());
      case '%M':
        return pad(d.getMinutes());
      default:
        return '%';
    }
  });
}

/** Template.render with the step and range limits. Throws TemplateLimitError past them. */
export function renderLimited(template: Template, items: Record<string, unknown>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (args: unknown) => {
      throw new Error(String(args));
    },
    range: boundedRange(),
    strftime_now: strftimeNow,
  };
  for (const [k, v] of Object.entries({ ...globals, ...items })) env.set(k, v);
  const result = new LimitedInterpreter(env).run(template.parsed);
  return String(result.value);
}
