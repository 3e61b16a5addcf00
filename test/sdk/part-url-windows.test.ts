import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 1024 * 1024;

/** Counts the GraphQL operations a client sends (everything else passes through untouched). */
function countingFetch() {
  const ops: string[] = [];
  const f = (async (input: string | URL, init: RequestInit = {}) => {
    if (String(input).endsWith('/graphql')) ops.push(/(?:query|mutation) (\w+)/.exec(JSON.parse(String(init.body)).query)?.[1] ?? '?');
    return fetch(input, init);
  }) as typeof fetch;
  return { f, ops };
}

/** Big uploads fetch part URLs a window at a time, small ones get them all from beginUpload. */
describe('part URLs for uploads with many parts (1 MiB parts, local store)', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-windows-'));
    server = await startTestServer({
      storage: { kind: 'local', local: { root: join(dir, 'blobs'), signingSecret: 'test-signing-secret', minPartSize: PART } },
      config: { minPartSize: PART },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function client() {
    const { f, ops } = countingFetch();
    const c = new TesseraClient({ server: server.url, fetch: f });
    await c.signUp(`windows-${Date.now()}-${Math.random()}@example.com`, 'correct horse battery');
    return { c, ops };
  }

  it('asks for 150 parts\' URLs in a handful of refreshPartUrls calls and uploads identical bytes', async () => {
    const data = randomBytes(150 * PART - 1000);
    const src = join(dir, 'many.bin');
    await writeFile(src, data);
    const { c, ops } = await client();
    const up = await c.upload(src, '/many.bin', { concurrency: 8, fixedParts: true }); // the plan's 1 MiB parts
    expect(up.partsSent).toBe(150);
    // URLs come in windows of 64: from copyParts (which hands them out for the parts it could not copy) or refreshPartUrls
    const refreshes = ops.filter((o) => o === 'RefreshPartUrls' || o === 'CopyParts').length;
    expect(refreshes).toBeGreaterThanOrEqual(Math.ceil(150 / 64));
    expect(refreshes).toBeLessThanOrEqual(8);
    await c.download('/many.bin', join(dir, 'many.out'));
    expect((await readFile(join(dir, 'many.out'))).equals(data)).toBe(true);
  });

  it('takes a small file\'s URLs from beginUpload (no refresh call)', async () => {
    const data = randomBytes(3 * PART);
    const src = join(dir, 'few.bin');
    await writeFile(src, data);
    const { c, ops } = await client();
    await c.upload(src, '/few.bin');
    expect(ops.filter((o) => o === 'RefreshPartUrls')).toEqual([]);
  });
});
