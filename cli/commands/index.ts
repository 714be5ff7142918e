/** The CLI's commands, in `--help` order. */
import type { Command } from 'commander';

export const commands: Array<(program: Command) => void> = [];
