/** The terminal side of analysis/progress.ts: a cli-progress bar on stderr implementing its `Progress` interface. */
import { createRequire } from 'node:module';
import type { Progress } from '../analysis/progress.ts';

// cli-progress ships no type declarations: the few members used here, typed locally.
interface Bar {
  start(total: number, value: number): void;
  increment(n: number): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (opts: Record<string, unknown>, preset: unknown) => Bar;
  Presets: { shades_classic: unknown };
}
const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;

/** A bar with ETA on stderr, so stdout stays clean for --json; without a TTY it prints a line every 5 s. */
export function stderrProgress(): Progress {
  let bar: Bar | null = null;
  return {
    start(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          format: `${label.padEnd(22)} [{bar}] {percentage}% | {value}/{total} prompts | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: false,
          etaBuffer: 50,
          noTTYOutput: !process.stderr.isTTY,
          notTTYSchedule: 5000,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    },
    increment(n) {
      bar?.increment(n);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
