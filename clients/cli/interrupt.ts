/**
 * Turns Ctrl-C (and SIGTERM) into an abort while a command runs, so a transfer keeps its
 * confirmed parts for a resume and a long-running command ends cleanly. `dispose()` removes
 * the handlers.
 */
export function interruptible(message = 'interrupted; run the same command again to resume'): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = () => ac.abort(new DOMException(message, 'AbortError'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
