import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';
import { freePort, spawnRedisServer } from '../helpers/ports';

// Several API instances behind a load balancer: a subscriber on one hears a change committed
// through another (Redis pub/sub), and survives Redis going away (the journal is the truth).
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SUB = 'subscription($c: String) { changes(cursor: $c) { kind path } }';

function follow(url: string, token: string, cursor: string) {
  const client = createClient({ url: url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const got: string[] = [];
  const errors: unknown[] = [];
  client.subscribe({ query: SUB, variables: { c: cursor } }, {
    next: (v) => { if (v.data) got.push(`${(v.data as any).changes.kind} ${(v.data as any).changes.path}`); if (v.errors) errors.push(v.errors); },
    error: (e) => errors.push(e),
    complete: () => {},
  });
  return { client, got, errors };
}

async function twoInstances(db: TestDatabase, redisUrl: string, livePollMs: number): Promise<[TestServer, TestServer]> {
  const config = { redisUrl, livePollMs };
  const a = await startTestServer({ databaseUrl: db.url, config });
  const b = await startTestServer({ databaseUrl: db.url, config });
  return [a, b];
}

describe('two API instances on one MariaDB, fan-out through Redis', () => {
  let db: TestDatabase;
  const servers: TestServer[] = [];
  const clients: Client[] = [];
  let redis: ChildProcess | undefined;
  beforeAll(async () => { db = await freshDatabase('mariadb'); });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    for (const s of servers) await s.stop();
    redis?.kill('SIGKILL');
    await db?.drop();
  });

  test('a subscriber on instance A hears a change committed through instance B (shared Redis)', async () => {
    // a poll interval far beyond the test: only Redis can deliver in time
    const [a, b] = await twoInstances(db, SHARED_REDIS, 600_000);
    servers.push(a, b);
    const alice = await signUp(a.url);
    const cursor = (await gql(a.url, '{ latestCursor }', {}, alice.token)).data.latestCursor;
    const sub = follow(a.url, alice.token, cursor);
    clients.push(sub.client);
    await new Promise((r) => setTimeout(r, 300)); // subscribed
    const t0 = Date.now();
    await gql(b.url, 'mutation { createFolder(path: "/from-b") { id } }', {}, alice.token);
    await until(() => sub.got.length === 1, 5000, 'delivery through Redis');
    expect(sub.got).toEqual(['CREATED /from-b']);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 30_000);

  test('Redis stops for a moment: subscribers catch up from the journal when it returns, and live push resumes', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-redis-'));
    const start = async () => {
      redis = await spawnRedisServer(port, dir);
    };
    await start();
    const [a, b] = await twoInstances(db, `redis://127.0.0.1:${port}`, 600_000);
    servers.push(a, b);
    const alice = await signUp(a.url);
    const cursor = (await gql(a.url, '{ latestCursor }', {}, alice.token)).data.latestCursor;
    const sub = follow(a.url, alice.token, cursor);
    clients.push(sub.client);
    await new Promise((r) => setTimeout(r, 300));
    await gql(b.url, 'mutation { createFolder(path: "/before") { id } }', {}, alice.token);
    await until(() => sub.got.length === 1, 5000, 'delivery before the outage');

    // Redis goes away; B commits changes whose wake-ups are lost
    const stopped = new Promise((r) => redis!.once('exit', r));
    redis!.kill('SIGTERM');
    await stopped;
    for (const p of ['/during-1', '/during-2']) {
      const r = await gql(b.url, 'mutation($p: String!) { createFolder(path: $p) { id } }', { p }, alice.token);
      expect(r.errors).toBeUndefined();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.got).toEqual(['CREATED /before']);

    // it returns: A reconnects and its subscriber catches up from the journal, in order
    await start();
    await until(() => sub.got.length === 3, 15_000, 'catch-up after Redis returned');
    expect(sub.got).toEqual(['CREATED /before', 'CREATED /during-1', 'CREATED /during-2']);
    // and B's publisher reconnected too: live push works again
    await until(() => (b.app.services.bus as any).pub?.status === 'ready', 10_000, 'publisher reconnect');
    await gql(b.url, 'mutation { createFolder(path: "/after") { id } }', {}, alice.token);
    await until(() => sub.got.length === 4, 5000, 'live push after the outage');
    expect(sub.got[3]).toBe('CREATED /after');
    expect(sub.errors).toEqual([]);
  }, 60_000);
});

