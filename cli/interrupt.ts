/** Ctrl-C handling for every long command: the first SIGINT asks the run to stop cleanly, a second one kills. */

/**
 * An AbortSignal that fires on the first SIGINT; `dispose` restores default handling. `stopsAfter` names what the
 * run finishes before it stops (shown to the user).
 */
export function sigintSignal(stopsAfter = 'the current batch'): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onSig = () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write(`\nglassbox: interrupt received, stopping after ${stopsAfter} (Ctrl-C again to kill)\n`);
    ctl.abort();
  };
  process.on('SIGINT', onSig);
  return { signal: ctl.signal, dispose: () => process.off('SIGINT', onSig) };
}
