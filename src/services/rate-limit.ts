import { AppError } from './errors';

export interface RateLimit {
  /** Attempts allowed per window. */
  max: number;
  windowMs: number;
}

/**
 * Counts failures per key (e.g. email + client IP) in a sliding window, in process memory.
 * `check` throws RATE_LIMITED (with `retryAfterSeconds`) once `max` failures happened within
 * the window; a success may `reset` the key. With several API instances each counts on its
 * own, so the effective limit is `max` times the number of instances.
 */
export class RateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {}

  check(key: string): void {
    const recent = this.prune(key);
    if (recent.length >= this.limit.max) {
      const retryAfterSeconds = Math.max(1, Math.ceil((recent[0] + this.limit.windowMs - this.now()) / 1000));
      throw new AppError('RATE_LIMITED', 'too many attempts; try again later', { retryAfterSeconds });
    }
  }

  fail(key: string): void {
    const recent = this.prune(key);
    recent.push(this.now());
    this.failures.set(key, recent);
    if (this.failures.size > 100_000) this.sweep();
  }

  reset(key: string): void {
    this.failures.delete(key);
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
