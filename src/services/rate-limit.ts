import { AppError } from './errors';

export interface RateLimit {
  /** Attempts allowed per window. */
  max: number;
  windowMs: number;
}

/**
 * Counts failures per key (e.g. email + client IP) in a sliding window. `attempt` is what a
 * guarded operation calls first: in one atomic step it throws RATE_LIMITED (with
 * `retryAfterSeconds`) once `max` failures are within the window, or else counts this attempt as
 * a failure right away, so concurrent attempts cannot all slip past one check while a slow
 * password hash runs; the caller forgives it when the attempt succeeded. `check` only looks,
 * `fail` only records, and a success may `reset` the key. signUp counts every attempt per client
 * address this way and forgives none (a rate rather than a failure limit).
 *
 * Two implementations: `MemoryRateLimiter` counts in process memory (the default without Redis;
 * with several API instances each counts on its own, so the effective limit is `max` times the
 * number of instances), `RedisRateLimiter` (redis-rate-limit.ts, used when REDIS_URL is set) counts
 * in Redis, shared by every instance on that Redis, and falls back to the in-process count while
 * Redis is unreachable.
 */
export interface RateLimiter {
  /** Throws RATE_LIMITED, or counts a failure now and resolves with a function that takes it back. */
  attempt(key: string): Promise<Forgive>;
  check(key: string): Promise<void>;
  fail(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

/** Takes back the failure an `attempt` counted (the attempt succeeded). */
export type Forgive = () => Promise<void>;

/** The RATE_LIMITED error, with `retryAfterSeconds` (at least 1). */
export const limited = (retryAfterMs: number) =>
  new AppError('RATE_LIMITED', 'too many attempts; try again later', { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });

/** Failures counted in this process only (see `RateLimiter`). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {}

  async attempt(key: string): Promise<Forgive> {
    return this.attemptNow(key);
  }

  async check(key: string): Promise<void> {
    this.checkNow(key);
  }

  async fail(key: string): Promise<void> {
    this.failNow(key);
  }

  async reset(key: string): Promise<void> {
    this.failures.delete(key);
  }

  /** `check`, synchronously. */
  checkNow(key: string): void {
    const recent = this.prune(key);
    if (recent.length >= this.limit.max) {
      // the count falls below `max` when the max-th newest failure leaves the window
      throw limited(recent[recent.length - this.limit.max] + this.limit.windowMs - this.now());
    }
  }

  /** `attempt`, synchronously (hence atomic in this process). */
  attemptNow(key: string): Forgive {
    this.checkNow(key);
    const at = this.now();
    this.failNow(key);
    return async () => {
      const recent = this.failures.get(key);
      const i = recent?.lastIndexOf(at) ?? -1;
      if (i >= 0) recent!.splice(i, 1);
    };
  }

  /** `fail`, synchronously. */
  failNow(key: string): void {
    const recent = this.prune(key);
    recent.push(this.now());
    // only the newest `max` failures decide anything
    this.failures.set(key, recent.slice(-this.limit.max));
    if (this.failures.size > 100_000) this.sweep();
  }

  private prune(key: string): number[] {
    const since = this.now() - this.limit.windowMs;
    const recent = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (recent.length) this.failures.set(key, recent); else this.failures.delete(key);
    return recent;
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.prune(key);
  }
}
