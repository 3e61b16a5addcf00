import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import { MIB } from '../../clients/sdk/hashing';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 8 * MIB;

/** The same client against the S3 store (Ceph RGW): absolute presigned URLs, MD5-bound parts, quoted ETags. */
describe('SDK against a server on the S3 store (RGW)', () => {
  let server: TestServer;
  let dir: string;
  let client: TesseraClient;
  const prefix = `sdk-${Date.now().toString(36)}`;

  beforeAll(async () => {
    const env = rgwEnv();
    server = await startTestServer({ storage: { kind: 's3', s3: { ...env, prefix } } });
    dir = await mkdtemp(join(tmpdir(), 'tessera-sdk-s3-'));
    client = new TesseraClient({ server: server.url });
    await client.signUp(`s3-${Date.now()}@example.com`, 'correct horse battery');
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await emptyRgwPrefix(prefix);
  });

  it('uploads with the plan\'s part checksum, resumes, downloads by ranges and verifies', async () => {
    const data = randomBytes(2 * PART + 3 * MIB);
    const src = join(dir, 'src.bin');
    await writeFile(src, data);
    const plan = await client.uploadPlan(data.length);
    expect(plan.partChecksum).toBe('MD5');

    const ac = new AbortController();
    await expect(client.upload(src, '/s3/file.bin', {
      fixedParts: true, // parts of PART bytes: the abort lands after the first
      concurrency: 1,
      signal: ac.signal,
      onProgress: (p) => p.phase === 'upload' && p.bytesDone > PART && ac.abort(),
    })).rejects.toMatchObject({ name: 'AbortError' });
    const up = await client.upload(src, '/s3/file.bin', { fixedParts: true });
    expect(up.partsSkipped).toBeGreaterThanOrEqual(1);
    expect(up.bytesSent).toBeLessThan(data.length);

    const dest = join(dir, 'file.out');
    const stop = new AbortController();
    await expect(client.download('/s3/file.bin', dest, {
      concurrency: 1,
      signal: stop.signal,
      onProgress: (p) => p.bytesDone > PART && stop.abort(),
    })).rejects.toMatchObject({ name: 'AbortError' });
    await truncate(dest + PARTIAL_SUFFIX, PART + 1);
    const down = await client.download('/s3/file.bin', dest);
    expect(down.partsReused).toBe(1);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });
});
