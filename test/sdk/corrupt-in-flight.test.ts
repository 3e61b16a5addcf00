import crypto from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { MIB } from '../../clients/sdk/hashing';
import type { StorageConfig } from '../../src/storage/registry';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

/** A fetch that flips one byte in the body of the first part PUT, as a bad link would. */
function corruptingFetch() {
  let corrupted = 0;
  const f = (async (input: string | URL, init: RequestInit = {}) => {
    if ((init.method ?? 'GET') === 'PUT' && corrupted === 0) {
      corrupted++;
      const body = Buffer.from(await new Response(init.body as BodyInit).arrayBuffer());
      body[body.length >> 1] ^= 0x55;
      const { duplex: _d, ...rest } = init as RequestInit & { duplex?: string };
      return fetch(input, { ...rest, body: body as Uint8Array<ArrayBuffer> });
    }
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: f, corrupted: () => corrupted };
}

const stores: [string, () => StorageConfig | undefined][] = [
  ['local', () => undefined],
  ['s3', () => ({ kind: 's3', s3: { ...rgwEnv(), prefix: `corrupt-${crypto.randomBytes(4).toString('hex')}` } })],
];

describe.each(stores)('a part corrupted in flight on the %s store', (_name, storage) => {
  let server: TestServer;
  let dir: string;
  let config: StorageConfig | undefined;
  beforeAll(async () => {
    config = storage();
    server = await startTestServer({ storage: config });
    dir = await mkdtemp(join(tmpdir(), 'tessera-corrupt-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    if (config?.kind === 's3' && config.s3.prefix) await emptyRgwPrefix(config.s3.prefix);
  });

  it('is refused by the store, sent again, and the file arrives byte-identical', async () => {
    const data = crypto.randomBytes(2 * 8 * MIB + 4321);
    const src = join(dir, 'src.bin');
    await writeFile(src, data);
    const { fetch: f, corrupted } = corruptingFetch();
    const client = new TesseraClient({ server: server.url, fetch: f });
    await client.signUp(`corrupt-${Date.now()}@example.com`, 'correct horse battery');
    const up = await client.upload(src, '/corrupt/file.bin', { fetch: f, concurrency: 1, fixedParts: true }); // parts of 8 MiB
    expect(corrupted()).toBe(1);
    expect(up.partsSent).toBeGreaterThanOrEqual(3);
    const dest = join(dir, 'back.bin');
    await client.download('/corrupt/file.bin', dest);
    expect((await readFile(dest)).equals(data)).toBe(true);
    expect(up.file.contentHash).toBeDefined();
  });
});
