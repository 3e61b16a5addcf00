import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { gql, signUp } from '../helpers/gql';
import { freePort, killHard, requireBuild, startServerProcess, type ServerProcess } from './processes';

// Two separate API server processes behind "a load balancer": one MariaDB, the real Redis,
// one local store directory. A subscriber on A hears a change committed through B.
describe('two server processes on one MariaDB and Redis', () => {
  let db: TestDatabase;
  let work: string;
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    requireBuild();
    db = await freshDatabase('mariadb');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-two-'));
    const env = {
      DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379', DATA_DIR: path.join(work, 'data'),
      LOCAL_STORAGE_DIR: path.join(work, 'blobs'), LIVE_POLL_MS: '600000',
    };
    servers.push(await startServerProcess(env, await freePort()));
    servers.push(await startServerProcess(env, await freePort()));
  });
  afterAll(async () => {
    for (const s of servers) await killHard(s.child);
    await db?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a change written through B reaches a subscriber on A at once (Redis), in order', async () => {
    const [a, b] = servers;
    const user = await signUp(a.url);
    const client = createClient({ url: a.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${user.token}` }, retryAttempts: 0 });
    const seen: string[] = [];
    let wanted = 0;
    let reached = () => {};
    client.subscribe<{ changes: { path: string } }>({ query: 'subscription { changes { kind path } }' }, {
      next: (r) => { seen.push(r.data!.changes.path); if (seen.length >= wanted) reached(); },
      error: () => {}, complete: () => {},
    });
    const arrived = (n: number) => new Promise<void>((resolve) => { wanted = n; reached = resolve; if (seen.length >= n) resolve(); });
    const started = Date.now();
    for (const p of ['/one', '/two', '/three']) {
      const r = await gql(b.url, 'mutation($p: String!) { createFolder(path: $p) { id } }', { p }, user.token);
      expect(r.errors).toBeUndefined();
    }
    await arrived(3);
    // the live-poll safety net is 10 minutes here: only Redis can have carried the wake-up
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(seen).toEqual(['/one', '/two', '/three']);
    await client.dispose();
  });
});
