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

/**
 * Where analysis reports the time of its phases (a phase may begin and end many times; the caller sums). The
 * caller owns the clock: the benchmark reads wall and CPU time (bench/direction.ts), analysis never touches process.
 */
export interface PhaseTimer {
  /** Starts timing `phase`; the returned function ends it. */
  begin(phase: string): () => void;
}

export const noPhaseTimer: PhaseTimer = { begin: () => () => {} };
