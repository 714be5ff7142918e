/**
 * Progress reporting for long analysis runs. Analysis only calls this interface and never prints; the terminal
 * bar lives in cli/progress-bar.ts.
 */
export interface Progress {
  start(label: string, total: number): void;
  increment(n: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, increment() {}, stop() {} };
