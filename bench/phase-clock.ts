/**
 * Wall and CPU time per named phase, summed over every time the phase runs. CPU time is process.cpuUsage() (user +
 * system of every thread of the process, the wasm workers included): on a busy machine wall time stretches, CPU time
 * much less, so both are reported. Also a Progress wrapper that times each progress label as a phase (the study's
 * steps), and the table the benchmarks print.
 */
import type { PhaseTimer, Progress } from '../analysis/progress.ts';

export interface PhaseTime {
  wallMs: number;
  cpuMs: number;
  /** How many times the phase ran. */
  runs: number;
}

export class PhaseClock implements PhaseTimer {
  readonly phases = new Map<string, PhaseTime>();

  begin(phase: string): () => void {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    return () => {
      const c = process.cpuUsage(c0);
      const p = this.phases.get(phase) ?? { wallMs: 0, cpuMs: 0, runs: 0 };
      p.wallMs += performance.now() - w0;
      p.cpuMs += (c.user + c.system) / 1000;
      p.runs++;
      this.phases.set(phase, p);
    };
  }

  /** Rounded, for JSON. */
  json(): Record<string, { wallS: number; cpuS: number; runs: number }> {
    return Object.fromEntries(
      [...this.phases].map(([k, v]) => [k, { wallS: +(v.wallMs / 1000).toFixed(2), cpuS: +(v.cpuMs / 1000).toFixed(2), runs: v.runs }]),
    );
  }

  /** A text table: phase, wall s, CPU s, CPU / wall (about the threads kept busy), runs, and a total row. */
  table(totalWallMs: number, totalCpuMs: number): string {
    const rows = [...this.phases].map(([k, v]) => [k, v.wallMs / 1000, v.cpuMs / 1000, v.runs] as const);
    const name = Math.max(28, ...rows.map((r) => r[0].length));
    const line = (a: string, w: string, c: string, r: string, u: string) =>
      `${a.padEnd(name)}  ${w.padStart(9)}  ${c.padStart(9)}  ${u.padStart(8)}  ${r.padStart(5)}`;
    const out = [line('phase', 'wall s', 'CPU s', 'runs', 'CPU/wall')];
    for (const [k, w, c, r] of rows) out.push(line(k, w.toFixed(1), c.toFixed(1), String(r), (c / Math.max(w, 1e-9)).toFixed(2)));
    out.push(
      line(
        'total',
        (totalWallMs / 1000).toFixed(1),
        (totalCpuMs / 1000).toFixed(1),
        '',
        (totalCpuMs / Math.max(totalWallMs, 1e-9)).toFixed(2),
      ),
    );
    return out.join('\n');
  }
}

/** Passes everything to `inner` and times each label from start() to the next stop() (or start()) as a phase. */
export function timedProgress(inner: Progress, clock: PhaseClock): Progress {
  let end: (() => void) | null = null;
  const close = () => {
    end?.();
    end = null;
  };
  return {
    start(label, total) {
      close();
      end = clock.begin(label);
      inner.start(label, total);
    },
    increment: (n) => inner.increment(n),
    stop() {
      close();
      inner.stop();
    },
  };
}
