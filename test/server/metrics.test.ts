import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { testDatabases } from '../helpers/db';
import { gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { freePort, requireBuild, ROOT, until } from '../transfers/processes';

/** The value of one sample of `name` whose labels include `labels` (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** GET /metrics: Prometheus text, protected by METRICS_TOKEN; the counters move with what the server does. */
describe('metrics', () => {
  let srv: TestServer;
  const TOKEN = 'scrape-me-please';
  const scrape = async () => {
    const res = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  beforeAll(async () => { srv = await startTestServer({ config: { metricsToken: TOKEN } }); });
  afterAll(async () => { await srv?.stop(); });

  it('needs the token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${srv.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${srv.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-same' } })).status).toBe(401);
    expect(await scrape()).toContain('# TYPE tessera_graphql_operations_total counter');
  });

  it('counts operations by outcome, local-store bytes and parts, sessions by state, journal writes, subscriptions, janitor runs', async () => {
    const before = await scrape();
    const user = await signUp(srv.url);
    expect((await gql(srv.url, '{ me { id } }')).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const bytes = crypto.randomBytes(200_000);
    const file = await uploadBytes(srv.url, user.token, '/m/a.bin', bytes);
    const url = (await gql(srv.url, 'query($id: ID!) { file(id: $id) { downloadUrl } }', { id: file.id }, user.token)).data.file.downloadUrl;
    expect((await (await fetch(new URL(url, srv.url))).arrayBuffer()).byteLength).toBe(bytes.length);

    // a live subscription over graphql-ws, counted while it is open
    const ws = createClient({ url: `${srv.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${user.token}` }, lazy: true, retryAttempts: 0 });
    const stop = ws.subscribe({ query: 'subscription { changes { path } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await until(async () => sample(await scrape(), 'tessera_live_subscriptions') === 1, 10_000);
    stop();
    await until(async () => sample(await scrape(), 'tessera_live_subscriptions') === 0, 10_000);
    await ws.dispose();

    await srv.app.runJanitor();
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('tessera_graphql_operations_total', { operation: 'mutation:signUp', outcome: 'ok' })).toBe(1);
    expect(moved('tessera_graphql_operations_total', { operation: 'query:me', outcome: 'UNAUTHENTICATED' })).toBe(1);
    expect(moved('tessera_graphql_operations_total', { operation: 'mutation:completeUpload', outcome: 'ok' })).toBe(1);
    expect(moved('tessera_graphql_operation_duration_seconds_count', { operation: 'mutation:signUp' })).toBe(1);
    expect(moved('tessera_local_store_bytes_total', { direction: 'uploaded' })).toBe(bytes.length);
    expect(moved('tessera_local_store_parts_total', { direction: 'uploaded' })).toBe(1);
    expect(moved('tessera_local_store_bytes_total', { direction: 'downloaded' })).toBe(bytes.length);
    expect(moved('tessera_journal_changes_total')).toBeGreaterThanOrEqual(2); // the folder /m and the file
    expect(sample(after, 'tessera_upload_sessions', { state: 'COMPLETED' })).toBeGreaterThanOrEqual(1);
    expect(moved('tessera_janitor_runs_total', { result: 'ok' })).toBe(1);
    expect(moved('tessera_http_requests_total', { route: 'blobs', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'tessera_db_up')).toBe(1);
    expect(after).toContain('tessera_process_cpu_user_seconds_total');
  });

  it('every response carries X-Request-Id: the client\'s own when sane, else a new one', async () => {
    const mine = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123.abc');
    const bad = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'no spaces <allowed>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const gqlRes = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(gqlRes.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('request ids in the logs (a real server process)', () => {
  it('a log line written while serving a request carries its id', async () => {
    requireBuild();
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-reqid-'));
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'debug' };
    delete env.DATABASE_URL;
    delete env.STORAGE;
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'server', 'main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    try {
      await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 20_000);
      await fetch(`http://127.0.0.1:${port}/readyz`, { headers: { 'x-request-id': 'find-me-42' } });
      await until(() => out.includes('find-me-42'), 5_000);
      const line = JSON.parse(out.split('\n').find((l) => l.includes('find-me-42'))!);
      expect(line).toMatchObject({ reqId: 'find-me-42', route: 'readyz', status: 200, msg: 'request' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

const mariadb = testDatabases.filter((d) => d !== 'sqlite');
(mariadb.length ? describe.each(mariadb) : describe.skip.each(['mariadb (TEST_DBS excludes it)']))('metrics on %s', (db) => {
  it('report the connection pool', async () => {
    const srv = await startTestServer({ db: db as never });
    try {
      await signUp(srv.url);
      const text = await (await fetch(`${srv.url}/metrics`)).text(); // no METRICS_TOKEN: open
      expect(sample(text, 'tessera_db_pool_connections', { state: 'all' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'tessera_db_up')).toBe(1);
    } finally {
      await srv.stop();
    }
  });
});

describe('metrics with Redis', () => {
  it('report each Redis connection as up', async () => {
    const srv = await startTestServer({ config: { redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' } });
    try {
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      for (const connection of ['bus-publish', 'bus-subscribe', 'rate-limits']) {
        expect({ connection, up: sample(text, 'tessera_redis_up', { connection, status: 'ready' }) }).toEqual({ connection, up: 1 });
      }
    } finally {
      await srv.stop();
    }
  });
});
