/**
 * `--judge-command "CMD"`: an external judge (e.g. a script calling an LLM judge) behind analysis's `Judge` interface,
 * over a JSON-lines protocol. Glassbox runs CMD through the shell once per batch, writes one line per completion
 * to its stdin, `{"id": "...", "prompt": "...", "completion": "..."}`, closes stdin, and reads one line per completion
 * from its stdout, `{"id": "...", "refusal": true|false, "harmful": true|false (optional)}`, in any order. A non-zero
 * exit, a line that is not such an object, or an unknown, repeated or missing id is a JudgeError naming the command.
 * The command's stderr is collected, and its last line goes into the error when it fails (Glassbox's errors stay one
 * line); Ctrl-C kills the command.
 */
import { spawn } from 'node:child_process';
import { InterruptedError } from '../engine/errors.ts';
import { type Judge, type JudgeItem, type JudgeVerdict, JudgeError } from '../analysis/eval/judge.ts';

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Parses the command's stdout into verdicts (ids are checked against the items by analysis's judgeAll). */
export function parseVerdicts(stdout: string, command: string): JudgeVerdict[] {
  const out: JudgeVerdict[] = [];
  stdout.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `--judge-command "${command}": stdout line ${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new JudgeError(`${where}: invalid JSON (${oneLine((e as Error).message)})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new JudgeError(`${where}: expected an object {"id", "refusal", "harmful"?}`);
    const o = v as Record<string, unknown>;
    if (typeof o.id !== 'string' && typeof o.id !== 'number') throw new JudgeError(`${where}: field id is missing or not a string`);
    if (typeof o.refusal !== 'boolean') throw new JudgeError(`${where}: field refusal is missing or not a boolean`);
    if (o.harmful !== undefined && typeof o.harmful !== 'boolean') throw new JudgeError(`${where}: field harmful is not a boolean`);
    out.push({ id: String(o.id), refusal: o.refusal, ...(o.harmful !== undefined ? { harmful: o.harmful as boolean } : {}) });
  });
  return out;
}

/** Runs CMD once with `items` as JSON lines on stdin; resolves with its stdout. */
function runOnce(command: string, items: readonly JudgeItem[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError(`--judge-command "${command}": interrupted`));
    const child = spawn(command, { shell: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      child.kill('SIGTERM');
      reject(e);
    };
    const onAbort = () => fail(new InterruptedError(`--judge-command "${command}": interrupted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    // Only the tail matters (the error quotes the last line).
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-4096)));
    child.on('error', (e) => fail(new JudgeError(`--judge-command "${command}": cannot start (${oneLine(e.message)})`)));
    // A judge that exits before reading all its input closes the pipe: its exit status tells the story, not EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      const last = stderr
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '')
        .pop();
      const said = last ? ` (stderr: ${oneLine(last).slice(0, 200)})` : '';
      if (code !== 0) reject(new JudgeError(`--judge-command "${command}": exited with ${sig ? `signal ${sig}` : `code ${code}`}${said}`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    child.stdin.end(items.map((it) => JSON.stringify({ id: it.id, prompt: it.prompt, completion: it.completion })).join('\n') + '\n');
  });
}

export function commandJudge(command: string): Judge {
  return {
    name: `command "${command}"`,
    judge: async (items, signal) => parseVerdicts(await runOnce(command, items, signal), command),
  };
}
