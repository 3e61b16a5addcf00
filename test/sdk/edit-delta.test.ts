import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { MIB } from '../../clients/sdk/hashing';
import type { StorageConfig } from '../../src/storage/registry';
import { gql } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 8 * MIB;

const stores: [string, () => StorageConfig | undefined][] = [
  ['local', () => undefined],
  ['s3', () => ({ kind: 's3', s3: { ...rgwEnv(), prefix: `delta-${randomBytes(4).toString('hex')}` } })],
];

/** DESIGN.md: "a 1 MiB edit in the middle of a 1 GiB synced file moves at most two parts" (here 5 parts). */
describe.each(stores)('uploading an edited file on the %s store', (_name, storage) => {
  let server: TestServer;
  let config: StorageConfig | undefined;
  let dir: string;
  let client: TesseraClient;
  beforeAll(async () => {
    config = storage();
    server = await startTestServer({ storage: config });
    dir = await mkdtemp(join(tmpdir(), 'tessera-delta-'));
    client = new TesseraClient({ server: server.url });
    await client.signUp(`delta-${Date.now()}-${Math.random()}@example.com`, 'correct horse battery');
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    if (config?.kind === 's3' && config.s3.prefix) await emptyRgwPrefix(config.s3.prefix);
  });

  async function roundTrip(name: string, data: Buffer) {
    const src = join(dir, name);
    await writeFile(src, data);
    const up = await client.upload(src, `/${name}`);
    await client.download(`/${name}`, join(dir, `${name}.out`));
    expect((await readFile(join(dir, `${name}.out`))).equals(data)).toBe(true);
    return up;
  }

  it('sends only the part a 1 MiB edit touches; the others are copied inside the store', async () => {
    const data = randomBytes(4 * PART + MIB);
    const first = await roundTrip('big.bin', data);
    expect(first.partsSent).toBe(5);
    randomBytes(MIB).copy(data, 2 * PART + 3 * MIB);
    const second = await roundTrip('big.bin', data);
    expect(second).toMatchObject({ partsSent: 1, partsCopied: 4, bytesSent: PART, deduplicated: false });
    expect((await client.revisions('/big.bin')).map((r) => r.revision)).toEqual([2, 1]);
  });

  it('sends two parts when the edit straddles a part boundary', async () => {
    const data = randomBytes(4 * PART + MIB);
    await roundTrip('edge.bin', data);
    randomBytes(MIB).copy(data, PART - MIB / 2);
    const up = await roundTrip('edge.bin', data);
    expect(up).toMatchObject({ partsSent: 2, partsCopied: 3 });
  });

  it('downloads only the part that changed when the older local copy is given (reuseFrom)', async () => {
    const data = randomBytes(4 * PART + MIB);
    await roundTrip('pull.bin', data);
    const local = join(dir, 'pull.bin.out');
    const edited = Buffer.from(data);
    randomBytes(MIB).copy(edited, 3 * PART + MIB);
    await writeFile(join(dir, 'pull.bin'), edited);
    await client.upload(join(dir, 'pull.bin'), '/pull.bin');

    const r = await client.download('/pull.bin', local, { reuseFrom: local });
    expect(r).toMatchObject({ partsDownloaded: 1, partsReused: 4, bytesReceived: PART });
    expect((await readFile(local)).equals(edited)).toBe(true);
    // a missing older copy is no error: everything is fetched
    const fresh = await client.download('/pull.bin', join(dir, 'pull.fresh'), { reuseFrom: join(dir, 'no-such-file') });
    expect(fresh).toMatchObject({ partsDownloaded: 5, partsReused: 0 });
  });

  it('copies nothing the current version does not hold at the same place (the server checks)', async () => {
    const data = randomBytes(2 * PART + 10);
    await roundTrip('check.bin', data);
    const changed = Buffer.from(data);
    changed[5] ^= 1;
    // declare the new version through the API and ask to copy every part, the changed one too
    const { createHash } = await import('node:crypto');
    const cuts = [changed.subarray(0, PART), changed.subarray(PART, 2 * PART), changed.subarray(2 * PART)];
    const parts = cuts.map((b, i) => ({ partNumber: i + 1, size: String(b.length), sha256: createHash('sha256').update(b).digest('hex'),
      md5: createHash('md5').update(b).digest('hex') }));
    const contentHash = createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p.sha256, 'hex')))).digest('hex');
    const begun = await gql(server.url, 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }',
      { i: { path: '/check.bin', size: String(changed.length), contentHash, parts } }, client.token);
    const r = await gql(server.url, 'mutation($s: ID!) { copyParts(sessionId: $s, partNumbers: [1, 2, 3]) { partNumber status url } }',
      { s: begun.data.beginUpload.id }, client.token);
    expect(r.errors).toBeUndefined();
    expect(r.data.copyParts.map((p: { status: string }) => p.status)).toEqual(['PENDING', 'VERIFIED', 'VERIFIED']);
    expect(r.data.copyParts[0].url).toBeTruthy();
    const tooMany = await gql(server.url, 'mutation($s: ID!, $n: [Int!]!) { copyParts(sessionId: $s, partNumbers: $n) { partNumber } }',
      { s: begun.data.beginUpload.id, n: Array.from({ length: 65 }, (_, i) => i + 1) }, client.token);
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
