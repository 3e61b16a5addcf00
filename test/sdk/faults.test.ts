import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import { MIB } from '../../clients/sdk/hashing';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 8 * MIB;

/** A fetch that counts GraphQL operations and lets a test fail chosen store requests. */
function faultyFetch(fail: (method: string, url: string, nth: number) => Response | Error | undefined) {
  const ops: string[] = [];
  let storeCalls = 0;
  const f = (async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input);
    const method = init.method ?? 'GET';
    if (url.endsWith('/graphql')) {
      ops.push(/(?:query|mutation) (\w+)/.exec(JSON.parse(String(init.body)).query)?.[1] ?? '?');
      return fetch(input, init);
    }
    const fault = fail(method, url, ++storeCalls);
    if (fault instanceof Error) throw fault;
    if (fault) return fault;
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: f, ops };
}

describe('upload and download under store faults (real server, local store)', () => {
  let server: TestServer;
  let dir: string;
  let data: Buffer;
  let src: string;

  beforeAll(async () => {
    server = await startTestServer({ config: { partUrlTtl: 2 } });
    dir = await mkdtemp(join(tmpdir(), 'tessera-faults-'));
    data = randomBytes(2 * PART + MIB);
    src = join(dir, 'src.bin');
    await writeFile(src, data);
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function signedIn(fetchImpl?: typeof fetch): Promise<TesseraClient> {
    const client = new TesseraClient({ server: server.url, fetch: fetchImpl });
    await client.signUp(`faults-${Date.now()}-${Math.random()}@example.com`, 'correct horse battery');
    return client;
  }

  it('refreshes part URLs that expire soon or are refused with 403, and retries 5xx and network errors', async () => {
    const { fetch: f, ops } = faultyFetch((method, _url, nth) => {
      if (method !== 'PUT') return undefined;
      if (nth === 1) return new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 });
      if (nth === 2) return new Response('busy', { status: 503 });
      if (nth === 3) return new TypeError('fetch failed', { cause: new Error('ECONNRESET') });
      return undefined;
    });
    const client = await signedIn(f);
    const up = await client.upload(src, '/faults/up.bin', { fetch: f, concurrency: 1, fixedParts: true }); // three parts of 8 MiB
    expect(up.partsSent).toBe(3);
    expect(ops.filter((o) => o === 'RefreshPartUrls').length).toBeGreaterThanOrEqual(3);
    expect(ops.at(-1)).toBe('CompleteUpload');

    const dest = join(dir, 'up.out');
    await client.download('/faults/up.bin', dest);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('gives up with STORE after repeated refusals', async () => {
    const { fetch: f } = faultyFetch((method) => (method === 'PUT' ? new Response('denied', { status: 403 }) : undefined));
    const client = await signedIn(f);
    await expect(client.upload(src, '/faults/denied.bin', { fetch: f })).rejects.toMatchObject({ code: 'STORE', details: { status: 403 } });
  });

  it('re-fetches a part whose bytes fail verification, refreshes a refused download URL and retries 5xx', async () => {
    let corrupted = 0;
    let gets = 0;
    const { fetch: f, ops } = faultyFetch((method) => {
      if (method !== 'GET') return undefined;
      gets++;
      if (gets === 1) return new Response('expired', { status: 403 });
      if (gets === 2) return new Response('oops', { status: 500 });
      return undefined;
    });
    const client = await signedIn(f);
    await client.upload(src, '/faults/down.bin', { fixedParts: true }); // three parts of 8 MiB
    const corrupting = (async (input: string | URL, init?: RequestInit) => {
      const res = await f(input, init);
      if (res.status !== 206 || corrupted++ > 0) return res;
      const body = Buffer.from(await res.arrayBuffer());
      body[100] ^= 0xff;
      return new Response(body, { status: 206, headers: res.headers });
    }) as typeof fetch;
    const dest = join(dir, 'down.out');
    const r = await client.download('/faults/down.bin', dest, { fetch: corrupting, concurrency: 1 });
    expect(r.partsDownloaded).toBe(3);
    expect(ops).toContain('DownloadUrl');
    expect(corrupted).toBeGreaterThan(3);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('fails with INTEGRITY when a part never verifies, keeping the partial file', async () => {
    const client = await signedIn();
    await client.upload(src, '/faults/bad.bin');
    const corrupting = (async (input: string | URL, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (res.status !== 206) return res;
      const body = Buffer.from(await res.arrayBuffer());
      body[0] ^= 0xff;
      return new Response(body, { status: 206, headers: res.headers });
    }) as typeof fetch;
    const dest = join(dir, 'bad.out');
    await expect(client.download('/faults/bad.bin', dest, { fetch: corrupting, partAttempts: 2 })).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(readFile(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(dest + PARTIAL_SUFFIX)).size).toBe(data.length);
  });
});
