import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ConfigError, loadConfig } from '../../src/server/config';
import { gql, signUp } from '../helpers/gql';
import { startTestServer } from '../helpers/server';

describe('configuration', () => {
  test('every bad setting is named in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', STORAGE: 'floppy', DATABASE_URL: 'postgres://x', REDIS_URL: 'http://r', PART_URL_TTL: '-5', DATA_DIR: '/tmp/tessera-cfg-test' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'STORAGE', 'DATABASE_URL', 'REDIS_URL', 'PART_URL_TTL']) expect(problems).toContain(name);
  });

  test('S3 without a bucket is refused; defaults are the embedded SQLite + local store', () => {
    expect(() => loadConfig({ STORAGE: 's3', DATA_DIR: '/tmp/tessera-cfg-test' })).toThrow(ConfigError);
    const c = loadConfig({ DATA_DIR: '/tmp/tessera-cfg-test' });
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toMatch(/^sqlite:.*tessera\.sqlite$/);
    expect(c.storage.kind).toBe('local');
  });
});

describe('health, readiness and shutdown', () => {
  test('/healthz and /readyz answer; /readyz is 503 when the store is unreachable', async () => {
    const ok = await startTestServer();
    try {
      expect((await fetch(`${ok.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${ok.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ database: 'ok', storage: 'ok' });
    } finally {
      await ok.stop();
    }
    const broken = await startTestServer({
      storage: { kind: 's3', s3: { endpoint: 'http://127.0.0.1:9', bucket: 'nowhere', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', forcePathStyle: true } },
    });
    try {
      const ready = await fetch(`${broken.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((await ready.json()).database).toBe('ok');
    } finally {
      await broken.stop();
    }
  });

  test('close() ends live WebSocket subscriptions and stops accepting connections', async () => {
    const srv = await startTestServer();
    const { token } = await signUp(srv.url);
    const client = createClient({ url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    let firstChange: (path: string) => void = () => {};
    const received = new Promise<string>((resolve) => { firstChange = resolve; });
    const ended = new Promise<string>((resolve) => {
      client.subscribe<{ changes: { path: string } }>({ query: 'subscription { changes { kind path } }' }, {
        next: (r) => firstChange(r.data!.changes.path), error: () => resolve('error'), complete: () => resolve('complete'),
      });
    });
    await gql(srv.url, 'mutation { createFolder(path: "/live") { id } }', {}, token);
    expect(await received).toBe('/live');
    await srv.stop();
    expect(['error', 'complete']).toContain(await ended);
    await expect(fetch(`${srv.url}/healthz`)).rejects.toThrow();
    await client.dispose();
  });

  test('WebSockets upgrade on /graphql only', async () => {
    const srv = await startTestServer();
    try {
      const outcome = (path: string) => new Promise<string>((resolve) => {
        const ws = new WebSocket(srv.url.replace('http', 'ws') + path, 'graphql-transport-ws');
        ws.once('open', () => { ws.close(); resolve('open'); });
        ws.once('error', () => resolve('refused'));
      });
      expect(await outcome('/graphql')).toBe('open');
      expect(await outcome('/elsewhere')).toBe('refused');
    } finally {
      await srv.stop();
    }
  });
});
