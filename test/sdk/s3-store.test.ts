import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import * as ops from '../../clients/sdk/operations';
import type { UploadSession } from '../../clients/sdk/types';
import { MIB } from '../../clients/sdk/hashing';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 8 * MIB;

/** The same client against the S3 store (Ceph RGW): absolute presigned URLs, SHA-256-bound parts, quoted ETags. */
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
    expect(plan.partChecksum).toBe('SHA256'); // the store verifies each part's SHA-256: no MD5 to compute

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

  /** beginUpload as a client hashes it, with or without each part's MD5. */
  async function begin(path: string, parts: Buffer[], withMd5: boolean): Promise<UploadSession> {
    const hex = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
    const content = createHash('sha256');
    for (const p of parts) content.update(createHash('sha256').update(p).digest());
    const { beginUpload } = await client.api.request<{ beginUpload: UploadSession }>(ops.BEGIN_UPLOAD, { input: {
      path, size: String(parts.reduce((n, p) => n + p.length, 0)), contentHash: content.digest('hex'),
      parts: parts.map((p, i) => ({ partNumber: i + 1, size: String(p.length), sha256: hex('sha256', p), ...(withMd5 ? { md5: hex('md5', p) } : {}) })),
    } });
    return beginUpload;
  }

  const putPart = (session: UploadSession, partNumber: number, body: Buffer) => {
    const p = session.parts.find((x) => x.partNumber === partNumber)!;
    return fetch(p.url!, { method: p.method || 'PUT', headers: Object.fromEntries(p.headers.map((h) => [h.name, h.value])), body: new Uint8Array(body) });
  };

  it('refuses, in the store, a part whose bytes differ from the SHA-256 declared for it; the upload cannot complete', async () => {
    const parts = [randomBytes(PART), randomBytes(1000)];
    const session = await begin('/s3/tampered.bin', parts, false);
    expect(session.parts[0].headers.map((h) => h.name.toLowerCase())).toEqual(['x-amz-content-sha256']);
    const tampered = Buffer.from(parts[0]);
    tampered[PART - 7] ^= 0x40;
    const res = await putPart(session, 1, tampered);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('XAmzContentSHA256Mismatch');
    const ok = await putPart(session, 2, parts[1]);
    await ok.arrayBuffer();
    expect(ok.status).toBe(200);
    await expect(client.api.request(ops.COMPLETE_UPLOAD, { sessionId: session.id, parts: [{ partNumber: 2, etag: ok.headers.get('etag') }] }))
      .rejects.toThrow();
    expect(await client.fileByPath('/s3/tampered.bin')).toBeNull();
  });

  it('still takes a client that sends each part\'s MD5 (as clients did when the plan asked for MD5)', async () => {
    const parts = [randomBytes(PART), randomBytes(1000)];
    const session = await begin('/s3/old-client.bin', parts, true);
    expect(session.parts[0].headers.map((h) => h.name.toLowerCase()).sort()).toEqual(['content-md5', 'x-amz-content-sha256']);
    const etags = [];
    for (const [i, p] of parts.entries()) {
      const res = await putPart(session, i + 1, p);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      etags.push({ partNumber: i + 1, etag: res.headers.get('etag')! });
    }
    await client.api.request(ops.COMPLETE_UPLOAD, { sessionId: session.id, parts: etags });
    const out = join(dir, 'old-client.out');
    await client.download('/s3/old-client.bin', out);
    expect((await readFile(out)).equals(Buffer.concat(parts))).toBe(true);
  });
});
