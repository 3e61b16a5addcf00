import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { MIB } from '../../clients/sdk/hashing';
import { countingFetch } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

/** Small files cost few round trips: the plan is remembered, the last confirmation rides on completeUpload. */
describe('SDK small uploads (local store, SQLite)', () => {
  let server: TestServer;
  let dir: string;
  let client: TesseraClient;
  const operations: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-small-'));
    client = new TesseraClient({ server: server.url, fetch: countingFetch(operations) });
    await client.signUp(`small-${process.pid}-${Date.now()}@example.com`, 'correct horse battery');
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('after the first, a small file takes two GraphQL requests: beginUpload and completeUpload', async () => {
    for (let i = 0; i < 3; i++) {
      const bytes = randomBytes(1000 + i);
      await writeFile(join(dir, `s${i}.bin`), bytes);
      operations.length = 0;
      const r = await client.upload(join(dir, `s${i}.bin`), `/small/s${i}.bin`);
      expect(r).toMatchObject({ deduplicated: false, partsSent: 1, bytesSent: bytes.length });
      expect(operations).toEqual(i === 0 ? ['UploadPlan', 'BeginUpload', 'CompleteUpload'] : ['BeginUpload', 'CompleteUpload']);
      await client.download(`/small/s${i}.bin`, join(dir, `back${i}.bin`));
      expect((await readFile(join(dir, `back${i}.bin`))).equals(bytes)).toBe(true);
    }
  });

  it('a remembered plan the server no longer follows is dropped and the upload made again with a fresh one', async () => {
    await client.upload(await small(dir, 'warm.bin', 10), '/warm.bin'); // remembers the plan (SHA-256 parts)
    // the store now wants each part's MD5 too: the remembered plan sends none, and the server refuses it
    // (a part size the plan no longer gives is not refused: any parts within the store's rules are taken)
    const storage = (server.app.services.uploads as unknown as { storage: object }).storage;
    Object.defineProperty(storage, 'checksum', { value: 'MD5', configurable: true });
    try {
      const bytes = randomBytes(7 * MIB + 5);
      await writeFile(join(dir, 'seven.bin'), bytes);
      operations.length = 0;
      const r = await client.upload(join(dir, 'seven.bin'), '/seven.bin');
      expect(operations.filter((o) => o === 'UploadPlan')).toHaveLength(1);
      expect(operations.filter((o) => o === 'BeginUpload')).toHaveLength(2);
      expect(r.partsSent).toBe(1);
      const info = await client.fileByPath('/seven.bin');
      expect(info?.size).toBe(String(bytes.length));
      await client.download('/seven.bin', join(dir, 'seven-back.bin'));
      expect((await readFile(join(dir, 'seven-back.bin'))).equals(bytes)).toBe(true);
    } finally {
      delete (storage as { checksum?: string }).checksum;
    }
  });

  it('a file that changes while it is sent fails with CHANGED (the store refused the part), and nothing is completed', async () => {
    const path = join(dir, 'moving.bin');
    await writeFile(path, randomBytes(3000));
    const rewrite: typeof fetch = (input, init) => {
      writeFileSync(path, randomBytes(3000)); // same size, other bytes, after the hash pass
      return fetch(input, init);
    };
    await expect(client.upload(path, '/moving.bin', { fetch: rewrite })).rejects.toMatchObject({ code: 'CHANGED' });
    expect(await client.fileByPath('/moving.bin')).toBeNull();
    const r = await client.upload(path, '/moving.bin'); // run again: the file as it is now
    expect(r.partsSent).toBe(1);
  });
});

async function small(dir: string, name: string, size: number): Promise<string> {
  await writeFile(join(dir, name), randomBytes(size));
  return join(dir, name);
}
