/** Waits `ms`; rejects with an AbortError (cause: the signal's reason) when `signal` aborts, as node:timers/promises does. Platform-neutral. */
function sleep(ms: number, _value: undefined, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    const aborted = () => Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal?.reason });
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => { clearTimeout(timer); reject(aborted()); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  /** Total attempts, including the first (default 5). */
  attempts?: number;
  /** First backoff delay in ms, doubled each time, with jitter (default 250). */
  baseDelayMs?: number;
  /** Upper bound for one delay (default 8000). */
  maxDelayMs?: number;
}

/**
 * Runs `fn` until it succeeds, `isRetryable(error)` is false, or attempts run out; waits
 * with exponential backoff and full jitter between attempts. Rejects with the last error,
 * or with the signal's reason when aborted.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (e: unknown) => boolean,
  opts: RetryOptions & { signal?: AbortSignal } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 8000;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e) || opts.signal?.aborted) throw e;
      const delay = Math.min(max, base * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2), undefined, { signal: opts.signal });
    }
  }
}

/** True for a fetch failure that never got an HTTP response (DNS, refused, reset). */
export function isNetworkFailure(e: unknown): boolean {
  // fetch's TypeError may come from another realm (e.g. under jest), so compare by name
  return (e as { name?: unknown })?.name === 'TypeError';
}

/** HTTP statuses worth retrying: 408, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Sleeps before retry number `attempt` (1-based): 250 ms doubled each time, capped at `maxMs` (default 8 s), with jitter (half to all of it). */
export function backoff(attempt: number, signal?: AbortSignal, maxMs = 8000): Promise<void> {
  const delay = Math.min(maxMs, 250 * 2 ** (Math.min(attempt, 16) - 1));
  return sleep(delay / 2 + Math.random() * (delay / 2), undefined, { signal });
}
