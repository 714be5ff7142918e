/**
 * `glassbox` CLI entry. Each command lives in cli/commands/<name>.ts and exports `register(program)`.
 * User errors (GlassboxError, and commander's own usage errors) print one line on stderr and exit 1; --debug
 * prints the stack.
 */
import { Command } from 'commander';
import { GlassboxError, InterruptedError } from '../engine/errors.ts';
import { terminalSafe } from './terminal.ts';
import { commands } from './commands/index.ts';

const program = new Command();
program
  .name('glassbox')
  .description('A transparent transformer inference engine for studying refusal in compressed models')
  .option('--debug', 'print stack traces on errors')
  // Usage errors found by commander (missing required option, unknown option, ...) follow the same contract as
  // ours: one line `glassbox: ...` on stderr, exit 1. Subcommands inherit this (it is set before they are added).
  .configureOutput({ outputError: (msg, write) => write(`glassbox: ${oneLine(msg.replace(/^error: /, ''))} (see --help)\n`) });

for (const register of commands) register(program);

/** One line, and no raw control characters (config strings and tensor names can carry escape sequences). */
function oneLine(s: string): string {
  return terminalSafe(s.replace(/\s*\n\s*/g, ' ').trim());
}

/** A Node system error (EPERM, ENOSPC, ENOTEMPTY, ...) that escaped a write path: still one line naming the path. */
function systemError(e: unknown): string | null {
  const x = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof x.code !== 'string' || typeof x.syscall !== 'string') return null;
  return `${x.path ? `${x.path}: ` : ''}${x.syscall} failed (${x.code})`;
}

const debug = process.argv.includes('--debug');
try {
  await program.parseAsync(process.argv);
} catch (e) {
  const sys = systemError(e);
  if (e instanceof GlassboxError && !debug) {
    process.stderr.write(`glassbox: ${oneLine(e.message)}\n`);
  } else if (sys && !debug) {
    process.stderr.write(`glassbox: ${oneLine(sys)}\n`);
  } else {
    process.stderr.write(`glassbox: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  // 128 + SIGINT, as a shell reports a process killed by Ctrl-C.
  process.exitCode = e instanceof InterruptedError ? 130 : 1;
}
