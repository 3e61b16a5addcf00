/** What only the S3 adapter does, against the real RGW: part checksum binding (SHA-256 payload hash, Content-MD5), CORS, bucket errors, janitor paging. */
import { createHash, randomBytes } from 'node:crypto';
import { isStorageError, type StorageErrorCode } from '../../src/storage/errors';
import { guardKeys } from '../../src/storage/guard';
import { S3StorageAdapter } from '../../src/storage/s3';
import type { PresignedRequest, StorageAdapter } from '../../src/storage/types';
import { emptyRgwPrefix, rgwEnv, type RgwEnv } from '../helpers/rgw';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function codeOf(p: Promise<unknown>): Promise<StorageErrorCode | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isStorageError(e) ? e.code : `non-StorageError: ${String(e)}`;
  }
}

const put = (req: PresignedRequest, body: Buffer, headers = req.headers) =>
  fetch(req.url, { method: req.method, headers, body: new Uint8Array(body) });

describe('s3 adapter on RGW', () => {
  let env: RgwEnv;
  let adapter: StorageAdapter;
  const prefix = `s3-specific-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

  beforeAll(() => {
    env = rgwEnv();
    adapter = guardKeys(new S3StorageAdapter({ ...env, prefix }));
  }, 300_000);
  afterAll(async () => {
    for await (const u of adapter.listMultipartUploads()) await adapter.abortMultipartUpload(u.key, u.uploadId);
    await adapter.close?.();
    await emptyRgwPrefix(prefix);
  }, 120_000);

  describe('a presigned part PUT (checksum SHA256: the payload hash signed in)', () => {
    const key = 'bound-sha.bin';
    let uploadId: string;
    const promised = randomBytes(1000);
    let req: PresignedRequest;

    beforeAll(async () => {
      uploadId = await adapter.createMultipartUpload(key);
      req = await adapter.presignUploadPart(key, uploadId, 1, { size: promised.length, checksums: { sha256: sha256(promised) }, expiresIn: 600 });
    });
    afterAll(() => adapter.abortMultipartUpload(key, uploadId));

    it('binds x-amz-content-sha256 = the part SHA-256 as a signed header (not UNSIGNED-PAYLOAD)', () => {
      expect(adapter.checksum).toBe('SHA256');
      expect(req.headers).toEqual({ 'x-amz-content-sha256': sha256(promised) });
      const q = new URL(req.url).searchParams;
      expect(q.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-amz-content-sha256');
      expect(q.get('X-Amz-Content-Sha256')).toBeNull();
    });

    it('is refused (400 XAmzContentSHA256Mismatch) when the bytes differ, nothing stored', async () => {
      const sent = Buffer.from(promised);
      sent[500] ^= 1;
      const res = await put(req, sent);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
      expect((await adapter.listParts(key, uploadId)).parts).toHaveLength(0);
    });

    it('is refused with another payload hash, UNSIGNED-PAYLOAD or none (signature mismatch)', async () => {
      for (const headers of [{ 'x-amz-content-sha256': sha256(Buffer.from('x')) }, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, {}] as Record<string, string>[]) {
        const res = await put(req, promised, headers);
        await res.arrayBuffer();
        expect(res.status).toBe(403);
      }
      expect((await adapter.listParts(key, uploadId)).parts).toHaveLength(0);
    });

    it('is accepted with the promised bytes, ETag = MD5', async () => {
      const res = await put(req, promised);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${md5(promised)}"`);
    });

    it('binds the MD5 as well when a client sends one (as clients before SHA256 did)', async () => {
      const both = await adapter.presignUploadPart(key, uploadId, 2, { size: promised.length, checksums: { sha256: sha256(promised), md5: md5(promised) }, expiresIn: 600 });
      expect(both.headers).toEqual({ 'x-amz-content-sha256': sha256(promised), 'Content-MD5': Buffer.from(md5(promised), 'hex').toString('base64') });
      const sent = Buffer.from(promised);
      sent[0] ^= 1;
      const bad = await put(both, sent);
      await bad.arrayBuffer();
      expect(bad.status).toBe(400);
      const res = await put(both, promised);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
    });
  });

  describe('a presigned part PUT (partChecksum MD5: Content-MD5 bound)', () => {
    const key = 'bound.bin';
    let uploadId: string;
    const promised = randomBytes(1000);
    let req: PresignedRequest;
    let md5Adapter: StorageAdapter;

    beforeAll(async () => {
      md5Adapter = guardKeys(new S3StorageAdapter({ ...env, prefix, partChecksum: 'MD5' }));
      uploadId = await md5Adapter.createMultipartUpload(key);
      req = await md5Adapter.presignUploadPart(key, uploadId, 1, {
        size: promised.length,
        checksums: { sha256: sha256(promised), md5: md5(promised) },
        expiresIn: 600,
      });
    });
    afterAll(async () => {
      await md5Adapter.abortMultipartUpload(key, uploadId);
      await md5Adapter.close?.();
    });

    it('binds Content-MD5 as a signed header', () => {
      expect(md5Adapter.checksum).toBe('MD5');
      expect(req.headers).toEqual({ 'Content-MD5': Buffer.from(md5(promised), 'hex').toString('base64') });
      expect(new URL(req.url).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-md5');
    });

    it('is refused with BadDigest (400) when the bytes differ', async () => {
      const sent = Buffer.from(promised);
      sent[0] ^= 1;
      const res = await put(req, sent);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>BadDigest</Code>');
      expect((await md5Adapter.listParts(key, uploadId)).parts).toHaveLength(0);
    });

    it('is refused without its Content-MD5 header (signature mismatch)', async () => {
      const res = await put(req, promised, {});
      await res.arrayBuffer();
      expect(res.status).toBe(403);
    });

    it('is accepted with the promised bytes, ETag = MD5', async () => {
      const res = await put(req, promised);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${md5(promised)}"`);
    });
  });

  it('answers a CORS preflight for a part PUT and exposes ETag', async () => {
    const uploadId = await adapter.createMultipartUpload('cors.bin');
    const body = randomBytes(10);
    const req = await adapter.presignUploadPart('cors.bin', uploadId, 1, {
      size: body.length,
      checksums: { sha256: sha256(body), md5: md5(body) },
      expiresIn: 600,
    });
    const origin = 'https://app.tessera.example';
    const preflight = await fetch(req.url, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-md5,x-amz-content-sha256' },
    });
    await preflight.arrayBuffer();
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toMatch(/^(\*|https:\/\/app\.tessera\.example)$/);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/PUT/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-md5');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-amz-content-sha256');
    expect(preflight.headers.get('access-control-expose-headers')).toMatch(/\bETag\b/i);

    const res = await put(req, body, { ...req.headers, Origin: origin });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/\bETag\b/i);
    await adapter.abortMultipartUpload('cors.bin', uploadId);
  });

  it('tells a missing copy source (NOT_FOUND) from an aborted upload (NO_SUCH_UPLOAD) in uploadPartCopy', async () => {
    const source = randomBytes(100);
    const srcUpload = await adapter.createMultipartUpload('copy-src.bin');
    const req = await adapter.presignUploadPart('copy-src.bin', srcUpload, 1, {
      size: source.length,
      checksums: { sha256: sha256(source), md5: md5(source) },
      expiresIn: 600,
    });
    expect((await put(req, source)).status).toBe(200);
    await adapter.completeMultipartUpload('copy-src.bin', srcUpload, [{ partNumber: 1, etag: md5(source) }]);

    const uploadId = await adapter.createMultipartUpload('copy-dst.bin');
    const range = { offset: 0, length: 10 };
    expect(await codeOf(adapter.uploadPartCopy('copy-dst.bin', uploadId, 1, { key: 'absent.bin', range }))).toBe('NOT_FOUND');
    await adapter.abortMultipartUpload('copy-dst.bin', uploadId);
    expect(await codeOf(adapter.uploadPartCopy('copy-dst.bin', uploadId, 1, { key: 'copy-src.bin', range }))).toBe(
      'NO_SUCH_UPLOAD',
    );
    await adapter.delete('copy-src.bin');
  });

  it('translates a missing bucket into UNAVAILABLE (a configuration fault, not a missing object)', async () => {
    const missing = new S3StorageAdapter({ ...env, bucket: `tessera-missing-${randomBytes(4).toString('hex')}` });
    try {
      expect(await codeOf(missing.ping())).toBe('UNAVAILABLE');
      expect(await codeOf(missing.createMultipartUpload('a.bin'))).toBe('UNAVAILABLE');
      expect(await codeOf(missing.getStream('a.bin'))).toBe('UNAVAILABLE');
      expect(await codeOf(missing.listParts('a.bin', 'no-such-upload'))).toBe('UNAVAILABLE');
    } finally {
      await missing.close();
    }
  });

  it('translates a refused connection into UNAVAILABLE', async () => {
    const down = new S3StorageAdapter({ ...env, endpoint: 'http://127.0.0.1:9' });
    try {
      expect(await codeOf(down.ping())).toBe('UNAVAILABLE');
      expect(await codeOf(down.head('a.bin'))).toBe('UNAVAILABLE');
    } finally {
      await down.close();
    }
  });

  it('translates wrong credentials into ACCESS_DENIED', async () => {
    const stranger = new S3StorageAdapter({ ...env, secretAccessKey: 'wrong-secret' });
    try {
      expect(await codeOf(stranger.createMultipartUpload('a.bin'))).toBe('SIGNATURE_INVALID');
      expect(await codeOf(stranger.head('a.bin'))).toBe('ACCESS_DENIED');
    } finally {
      await stranger.close();
    }
  });

  it('pages listMultipartUploads past 1,000 uploads, with keys relative to the prefix', async () => {
    const count = 1005;
    const ids = new Set<string>();
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => `janitor/${String(i + j).padStart(4, '0')}`);
      for (const id of await Promise.all(batch.map((k) => adapter.createMultipartUpload(k)))) ids.add(id);
    }
    const seen = new Map<string, string>();
    for await (const u of adapter.listMultipartUploads({ prefix: 'janitor/' })) seen.set(u.uploadId, u.key);
    expect(seen.size).toBe(count);
    expect([...ids].every((id) => seen.get(id)?.startsWith('janitor/'))).toBe(true);
    await Promise.all([...seen].map(([id, key]) => adapter.abortMultipartUpload(key, id)));
  }, 120_000);
});
