import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { codeOf, gql, signUp, uploadBytes, type GqlResult } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { freePort, spawnRedisServer } from '../helpers/ports';
import { until } from '../helpers/wait';

// Several API instances behind a load balancer count wrong passwords together through Redis, so
// an attacker does not get the limit once per instance; without Redis, sign-in still works and
// each instance limits on its own.
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery';
const SIGNIN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';
const CREATE_LINK = 'mutation($f: ID!, $p: String) { createShareLink(fileId: $f, password: $p) { url } }';
const config = (redisUrl: string) => ({ redisUrl, signInMaxFailures: 3, linkPasswordMaxFailures: 2, rateLimitWindowSeconds: 120, livePollMs: 600_000 });

const signIn = (srv: TestServer, email: string, password: string) => gql(srv.url, SIGNIN, { e: email, p: password });
const wrong = async (srv: TestServer, email: string) => expect(codeOf(await signIn(srv, email, 'wrong password'))).toBe('UNAUTHENTICATED');
const right = async (srv: TestServer, email: string) => expect((await signIn(srv, email, PASSWORD)).data?.signIn.token).toBeTruthy();
function expectLimited(r: GqlResult) {
  expect(codeOf(r)).toBe('RATE_LIMITED');
  const after = r.errors![0].extensions.retryAfterSeconds as number;
  expect(after).toBeGreaterThan(0);
  expect(after).toBeLessThanOrEqual(120);
}
const limiterOf = (srv: TestServer) => (srv.app.services.auth as any).signInLimiter;

describe('two API instances on one MariaDB, rate limits shared through Redis', () => {
  let db: TestDatabase;
  const servers: TestServer[] = [];
  let redis: ChildProcess | undefined;
  beforeAll(async () => { db = await freshDatabase('mariadb'); });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    redis?.kill('SIGKILL');
    await db?.drop();
  });
  const twoInstances = async (redisUrl: string): Promise<[TestServer, TestServer]> => {
    const a = await startTestServer({ databaseUrl: db.url, config: config(redisUrl) });
    const b = await startTestServer({ databaseUrl: db.url, config: config(redisUrl) });
    servers.push(a, b);
    return [a, b];
  };

  describe('with the shared Redis', () => {
    let a: TestServer, b: TestServer;
    beforeAll(async () => { [a, b] = await twoInstances(SHARED_REDIS); });

    test('signIn: two failures on A and one on B: the next attempt is RATE_LIMITED on either', async () => {
      const { email } = await signUp(a.url);
      const other = await signUp(a.url);
      await wrong(a, email);
      await wrong(a, email);
      await wrong(b, email);
      expectLimited(await signIn(a, email, PASSWORD));
      expectLimited(await signIn(b, email, PASSWORD));
      expectLimited(await signIn(b, email, 'wrong password'));
      // someone else is not limited
      await right(b, other.email);
    });

    test('signIn: 12 wrong passwords sent at once to both instances: only 3 are tried, the rest are RATE_LIMITED', async () => {
      const { email } = await signUp(a.url);
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(i % 2 ? a : b, email, 'wrong password')));
      const codes = results.map(codeOf);
      expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(3);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(9);
    });

    test('signIn: a correct password resets the count on every instance', async () => {
      const { email } = await signUp(a.url);
      await wrong(a, email);
      await wrong(b, email);
      await right(b, email);
      await wrong(a, email);
      await wrong(b, email);
      await right(a, email); // two failures since the reset: still allowed
      await wrong(a, email);
      await wrong(b, email);
      await wrong(a, email);
      expectLimited(await signIn(b, email, PASSWORD));
    });

    test('share link: one wrong password on A and one on B: the next is 429 with Retry-After on either', async () => {
      const owner = await signUp(a.url);
      const file = await uploadBytes(a.url, owner.token, '/secret.bin', Buffer.from('secret'));
      const link = (await gql(a.url, CREATE_LINK, { f: file.id, p: 'open sesame' }, owner.token)).data.createShareLink;
      const open = (srv: TestServer, password: string) => fetch(new URL(new URL(link.url, a.url).pathname, srv.url), { redirect: 'manual', headers: { 'x-share-password': password } });
      expect((await open(b, 'open sesame')).status).toBe(302);
      expect((await open(a, 'guess 1')).status).toBe(403);
      expect((await open(b, 'guess 2')).status).toBe(403);
      for (const srv of [a, b]) {
        const limited = await open(srv, 'open sesame');
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    });
  });

  test('Redis hangs, then stops: sign-in still works and each instance limits on its own; back, the count is shared again', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-redis-'));
    const start = async () => {
      redis = await spawnRedisServer(port, dir);
    };
    await start();
    const [a, b] = await twoInstances(`redis://127.0.0.1:${port}`);
    expect(limiterOf(a).redis.status).toBe('ready');
    const warn = jest.spyOn(a.app.log, 'warn');
    const info = jest.spyOn(a.app.log, 'info');
    const [u1, u2, u3] = [await signUp(a.url), await signUp(a.url), await signUp(a.url)];

    // hung (SIGSTOP): commands time out quickly instead of hanging sign-in
    redis!.kill('SIGSTOP');
    let t0 = Date.now();
    await right(a, u1.email);
    expect(Date.now() - t0).toBeLessThan(4000);
    redis!.kill('SIGCONT');

    // gone
    const stopped = new Promise((r) => redis!.once('exit', r));
    redis!.kill('SIGTERM');
    await stopped;
    t0 = Date.now();
    await right(a, u1.email);
    expect(Date.now() - t0).toBeLessThan(2000);
    // A counts on its own: three failures there limit the user there...
    for (let i = 0; i < 3; i++) await wrong(a, u1.email);
    expectLimited(await signIn(a, u1.email, PASSWORD));
    // ...B (which did not see them) still lets them in, and counts on its own too
    await right(b, u1.email);
    for (let i = 0; i < 3; i++) await wrong(b, u2.email);
    expectLimited(await signIn(b, u2.email, PASSWORD));
    const outageWarnings = warn.mock.calls.filter((c) => /Redis unavailable/.test(String(c[1])));
    expect(outageWarnings).toHaveLength(1); // once, not per attempt

    // back (empty): A's failures from the outage still count until they leave the window...
    await start();
    for (const srv of [a, b]) await until(() => limiterOf(srv).redis.status === 'ready', 10_000, 'rate limit redis reconnect');
    expectLimited(await signIn(a, u1.email, PASSWORD));
    // ...and new ones are counted across instances again
    await wrong(a, u3.email);
    await wrong(b, u3.email);
    await wrong(a, u3.email);
    expectLimited(await signIn(b, u3.email, PASSWORD));
    expect(info.mock.calls.some((c) => /Redis is back/.test(String(c[1])))).toBe(true);
  }, 60_000);
});

