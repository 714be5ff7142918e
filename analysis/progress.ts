/** Progress reporting for long analysis runs: an interface for the pipeline, a cli-progress bar for the CLI. */
import { createRequire } from 'node:module';

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

export interface Progress {
  start(label: string, total: number): void;
  increment(n: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, increment() {}, stop() {} };

/** A bar with ETA on stderr, so stdout stays clean for --json; without a TTY it prints a line every 5 s. */
export function stderrProgress(): Progress {
  let bar: Bar | null = null;
  return {
    start(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(22)} [{bar}] {percentage}% | {value}/{total} prompts | ETA {eta_formatted}`, stream: process.stderr, hideCursor: false, etaBuffer: 50, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 5000 },
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

/** An AbortSignal that fires on the first SIGINT; `dispose` restores default handling (a second Ctrl-C kills). */
export function sigintSignal(): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onSig = () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write('\nglassbox: interrupt received, stopping after the current batch (Ctrl-C again to kill)\n');
    ctl.abort();
  };
  process.on('SIGINT', onSig);
  return { signal: ctl.signal, dispose: () => process.off('SIGINT', onSig) };
}
