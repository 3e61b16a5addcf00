import crypto from 'node:crypto';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { limited, MemoryRateLimiter, type Forgive, type RateLimit, type RateLimiter } from './rate-limit';

/**
 * `attempt` in one server-side step: drop what left the window; if `max` failures remain, answer
 * the score of the max-th newest (the caller is limited until it leaves); else add this attempt
 * and renew the key's expiry, answering nil. KEYS[1] the set; ARGV now, window, max, member.
 */
const ATTEMPT_SCRIPT = `
local key, now, window, max = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= max then
  return redis.call('ZREVRANGE', key, max - 1, max - 1, 'WITHSCORES')[2]
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return false
`;

/** Every key of a `RedisRateLimiter` starts with this. */
export const RATE_LIMIT_KEY_PREFIX = 'tessera:rl:';

/**
 * Connection options for the rate limiters' Redis client: a command never waits for a
 * connection (no offline queue) and gives up after `commandTimeout` ms, so a dead or hung Redis
 * costs a sign-in at most that long per command instead of hanging it.
 */
export const RATE_LIMIT_REDIS_OPTIONS = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  commandTimeout: 500,
  connectTimeout: 2000,
  // nothing to flush on close: do not keep the process 2 s (ioredis's default) for a dead socket
  disconnectTimeout: 200,
} as const;

/**
 * The rate limiters' own connection to `url` (the same REDIS_URL as the event bus). Waits up to
 * `readyMs` for it to be ready, so the shared count applies from the first request; a Redis that
 * is down at start-up does not stop the server (the limiters count in process until it is up).
 */
export async function connectRateLimitRedis(url: string, log?: Logger, readyMs = 2000): Promise<Redis> {
  const redis = new Redis(url, { ...RATE_LIMIT_REDIS_OPTIONS });
  // ioredis reconnects on its own; the limiters log the outage once themselves
  redis.on('error', (err) => log?.debug({ err: err.message }, 'rate limit redis'));
  await new Promise<void>((resolve) => {
    const done = () => { clearTimeout(timer); redis.off('ready', done); resolve(); };
    const timer = setTimeout(done, readyMs);
    redis.once('ready', done);
  });
  return redis;
}

/** Closes a connection made by `connectRateLimitRedis`, also when Redis is down. */
export async function closeRateLimitRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => undefined);
  redis.disconnect();
}

/**
 * Failures counted in Redis, shared by every API instance on the same Redis: one sorted set per
 * key (`tessera:rl:<name>:<sha256 of the key>`, so emails and IPs are not stored in clear), one
 * member per failure scored by its time; `attempt` is one Lua script (check and count atomically,
 * across instances); `fail` is one MULTI (drop what left the window, add,
 * keep the newest `max`, PEXPIRE the window, so idle keys vanish on their own), `check` one
 * ZREVRANGEBYSCORE. Times come from this process's clock (`now`), so instances' clocks should
 * agree (NTP); a skew shifts the window by that much.
 *
 * Redis unavailable (down, or a command fails or times out): sign-in keeps working, and a failure
 * Redis could not record is counted in process (`MemoryRateLimiter`) instead, so during an outage
 * the limit is the per-process one, as without Redis, rather than none. `check` consults that
 * local count first, so failures made during an outage keep counting (in their process) until
 * they leave the window, also after Redis is back. A warning is logged once per outage; every
 * call tries Redis again, and the first that succeeds logs that Redis is back. `reset` clears the
 * local count and the shared one (that one only if Redis answers).
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly local: MemoryRateLimiter;
  private readonly prefix: string;
  private unavailable = false;

  constructor(
    private readonly redis: Redis,
    /** Namespace of this limiter's keys, e.g. `signin`. */
    readonly name: string,
    private readonly limit: RateLimit,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.local = new MemoryRateLimiter(limit, now);
    this.prefix = `${RATE_LIMIT_KEY_PREFIX}${name}:`;
  }

  /** The Redis key counting `key`'s failures. */
  redisKey(key: string): string {
    return this.prefix + crypto.createHash('sha256').update(key, 'utf8').digest('base64url');
  }

  async attempt(key: string): Promise<Forgive> {
    this.local.checkNow(key);
    const now = this.now();
    const rkey = this.redisKey(key);
    const member = `${now}:${crypto.randomBytes(6).toString('hex')}`;
    const answer = await this.shared(async () => ({
      limitedSince: (await this.redis.eval(ATTEMPT_SCRIPT, 1, rkey, now, this.limit.windowMs, this.limit.max, member)) as string | null,
    }));
    if (!answer) return this.local.attemptNow(key);
    if (answer.limitedSince !== null) throw limited(Number(answer.limitedSince) + this.limit.windowMs - now);
    return async () => {
      await this.shared(() => this.redis.zrem(rkey, member));
    };
  }

  async check(key: string): Promise<void> {
    this.local.checkNow(key);
    const now = this.now();
    const rkey = this.redisKey(key);
    // the max-th newest failure inside the window: if there is one, `max` are in the window
    const hit = await this.shared(() => this.redis.zrevrangebyscore(rkey, '+inf', `(${now - this.limit.windowMs}`, 'WITHSCORES', 'LIMIT', this.limit.max - 1, 1));
    if (hit?.length) throw limited(Number(hit[1]) + this.limit.windowMs - now);
  }

  async fail(key: string): Promise<void> {
    const now = this.now();
    const rkey = this.redisKey(key);
    const recorded = await this.shared(async () => {
      const results = await this.redis.multi()
        .zremrangebyscore(rkey, '-inf', now - this.limit.windowMs)
        .zadd(rkey, now, `${now}:${crypto.randomBytes(6).toString('hex')}`)
        .zremrangebyrank(rkey, 0, -(this.limit.max + 1))
        .pexpire(rkey, this.limit.windowMs)
        .exec();
      const err = results?.find(([e]) => e)?.[0];
      if (!results || err) throw err ?? new Error('MULTI aborted');
      return true;
    });
    if (!recorded) this.local.failNow(key);
  }

  async reset(key: string): Promise<void> {
    await this.local.reset(key);
    await this.shared(() => this.redis.del(this.redisKey(key)));
  }

  /** Runs a Redis command; undefined (and the local count alone decides) when Redis fails. */
  private async shared<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await command();
      if (this.unavailable) {
        this.unavailable = false;
        this.log?.info({ limiter: this.name }, 'rate limit: Redis is back, counting across instances again');
      }
      return result;
    } catch (err) {
      if (!this.unavailable) {
        this.unavailable = true;
        this.log?.warn({ limiter: this.name, err: (err as Error).message }, 'rate limit: Redis unavailable, counting in this process only until it is back');
      }
      return undefined;
    }
  }
}
