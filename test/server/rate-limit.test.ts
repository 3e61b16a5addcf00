import crypto from 'node:crypto';
import Redis from 'ioredis';
import pino from 'pino';
import { AppError } from '../../src/services/errors';
import { MemoryRateLimiter, type RateLimit, type RateLimiter } from '../../src/services/rate-limit';
import { RATE_LIMIT_KEY_PREFIX, RedisRateLimiter, closeRateLimitRedis, connectRateLimitRedis } from '../../src/services/redis-rate-limit';
import { freePort } from '../helpers/ports';

// The sliding window of both limiters, the Redis one against the real shared Redis, with a fake
// clock (the limiters take the time from `now`; only the keys' TTL runs on Redis's own clock).
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT: RateLimit = { max: 3, windowMs: 60_000 };

/** RATE_LIMITED's retryAfterSeconds, or null if the key may try. */
async function retryAfter(limiter: RateLimiter, key: string): Promise<number | null> {
  try {
    await limiter.check(key);
    return null;
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'RATE_LIMITED') throw e;
    return e.extensions.retryAfterSeconds as number;
  }
}

let clock = 0;
const now = () => clock;
let redis: Redis;
const names: string[] = [];
/** A limiter namespace of its own, so runs and tests never share keys. */
const freshName = () => { const n = `test-${crypto.randomBytes(6).toString('hex')}`; names.push(n); return n; };

beforeAll(async () => { redis = await connectRateLimitRedis(SHARED_REDIS); expect(redis.status).toBe('ready'); });
afterAll(async () => {
  for (const n of names) {
    const keys = await redis.keys(`${RATE_LIMIT_KEY_PREFIX}${n}:*`);
    if (keys.length) await redis.del(...keys);
  }
  await closeRateLimitRedis(redis);
});
beforeEach(() => { clock = 1_000_000; });

describe.each([
  ['in memory', () => { const l = new MemoryRateLimiter(LIMIT, now); return [l, l] as const; }],
  // two instances: two limiters of the same name on one Redis
  ['in Redis', () => { const n = freshName(); return [new RedisRateLimiter(redis, n, LIMIT, undefined, now), new RedisRateLimiter(redis, n, LIMIT, undefined, now)] as const; }],
])('sliding window %s', (_kind, make) => {
  test('max failures within the window limit the key until the max-th newest leaves it', async () => {
    const [a, b] = make();
    await a.fail('k');
    clock += 10_000;
    await b.fail('k');
    clock += 10_000;
    expect(await retryAfter(a, 'k')).toBeNull();
    await a.fail('k');
    clock += 10_000; // failures at 0, 10 and 20 s; now 30 s
    expect(await retryAfter(a, 'k')).toBe(30);
    expect(await retryAfter(b, 'k')).toBe(30);
    expect(await retryAfter(a, 'other')).toBeNull();
    clock += 29_999;
    expect(await retryAfter(b, 'k')).toBe(1);
    clock += 1; // the first failure left the window
    expect(await retryAfter(a, 'k')).toBeNull();
    await b.fail('k'); // 10, 20, 60 s
    expect(await retryAfter(a, 'k')).toBe(10);
    clock += 10_000;
    expect(await retryAfter(a, 'k')).toBeNull();
  });

  test('more failures than max (concurrent attempts): retry after the max-th newest leaves the window', async () => {
    const [a, b] = make();
    for (let i = 0; i < 5; i++) { await (i % 2 ? a : b).fail('k'); clock += 1000; }
    // failures at 0..4 s, now 5 s: the 3rd newest (2 s) leaves at 62 s
    expect(await retryAfter(a, 'k')).toBe(57);
  });

  test('attempts check and count in one step: of 10 concurrent ones on two instances exactly max pass; a forgiven one does not count', async () => {
    const [a, b] = make();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).attempt('race')));
    const passed = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<() => Promise<void>>[];
    expect(passed).toHaveLength(LIMIT.max);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await retryAfter(a, 'race')).toBe(60);
    await passed[0].value(); // that attempt succeeded
    expect(await retryAfter(b, 'race')).toBeNull();
    const forgive = await b.attempt('race');
    await expect(a.attempt('race')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await forgive();
    clock += 1000;
    await expect(a.attempt('race')).resolves.toBeInstanceOf(Function);
  });

  test('reset clears the key for every instance', async () => {
    const [a, b] = make();
    for (let i = 0; i < 3; i++) await a.fail('k');
    expect(await retryAfter(b, 'k')).toBe(60);
    await b.reset('k');
    expect(await retryAfter(a, 'k')).toBeNull();
    expect(await retryAfter(b, 'k')).toBeNull();
  });
});

describe('RedisRateLimiter keys', () => {
  test('one sorted set per key under tessera:rl:<name>:, no email in clear, never more than max members, expiring with the window', async () => {
    const name = freshName();
    const l = new RedisRateLimiter(redis, name, LIMIT, undefined, now);
    const key = 'someone@example.com|10.0.0.1';
    await Promise.all(Array.from({ length: 10 }, () => l.fail(key)));
    const keys = await redis.keys(`${RATE_LIMIT_KEY_PREFIX}${name}:*`);
    expect(keys).toEqual([l.redisKey(key)]);
    expect(keys[0]).not.toContain('example.com');
    expect(await redis.type(keys[0])).toBe('zset');
    expect(await redis.zcard(keys[0])).toBe(LIMIT.max);
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(LIMIT.windowMs - 5000);
    expect(ttl).toBeLessThanOrEqual(LIMIT.windowMs);
    // limiters of another name count apart
    expect(await retryAfter(new RedisRateLimiter(redis, freshName(), LIMIT, undefined, now), key)).toBeNull();
  });

  test('a real window: keys vanish on their own', async () => {
    const l = new RedisRateLimiter(redis, freshName(), { max: 1, windowMs: 300 });
    await l.fail('k');
    expect(await retryAfter(l, 'k')).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await redis.exists(l.redisKey('k'))).toBe(0);
    expect(await retryAfter(l, 'k')).toBeNull();
  });
});

describe('RedisRateLimiter without Redis', () => {
  test('counts in process, answers at once, and warns once', async () => {
    const port = await freePort();
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
    const dead = await connectRateLimitRedis(`redis://127.0.0.1:${port}`, log, 200);
    try {
      expect(dead.status).not.toBe('ready');
      const l = new RedisRateLimiter(dead, freshName(), LIMIT, log, now);
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) {
        expect(await retryAfter(l, 'k')).toBeNull();
        await l.fail('k');
      }
      expect(await retryAfter(l, 'k')).toBe(60);
      await l.reset('k');
      expect(await retryAfter(l, 'k')).toBeNull();
      expect(Date.now() - t0).toBeLessThan(1000);
      const warnings = lines.filter((x) => x.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toMatch(/Redis unavailable/);
    } finally {
      await closeRateLimitRedis(dead);
    }
  });
});

