/**
 * Runs `worker` over `items` with at most `concurrency` in flight. The first failure aborts
 * the signal handed to the other workers and is rethrown once all of them have settled; an
 * abort of `signal` rejects with its reason.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const lane = async () => {
    while (!firstError && next < items.length) {
      const item = items[next++];
      try {
        combined.throwIfAborted();
        await worker(item, combined);
      } catch (error) {
        if (!firstError) firstError = { error: signal?.aborted ? signal.reason : error };
        stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (firstError) throw firstError.error;
}
