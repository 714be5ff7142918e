/**
 * `glassbox` CLI entry. Each command lives in cli/commands/<name>.ts and exports `register(program)`.
 * User errors (GlassboxError, and commander's own usage errors) print one line on stderr and exit 1; --debug
 * prints the stack.
 */
import { Command } from 'commander';
import { GlassboxError } from '../engine/errors.ts';
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

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

const debug = process.argv.includes('--debug');
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof GlassboxError && !debug) {
    process.stderr.write(`glassbox: ${oneLine(e.message)}\n`);
  } else {
    process.stderr.write(`glassbox: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exitCode = 1;
}
