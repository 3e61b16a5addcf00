import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createStorage } from '../../src/storage/registry';
import { LocalStorageAdapter } from '../../src/storage/local';
import { checksumsOf, dispositionFileName, expectCode, readAll, sha256 } from './conformance';
import { startLocal, type LocalFixture } from './local-fixture';

/** Behaviour only the local store has: its own signed URLs, staging on disk, restarts. */
describe('local storage adapter', () => {
  let fx: LocalFixture;
  beforeAll(async () => {
    fx = await startLocal();
  });
  afterAll(() => fx.cleanup());

  const url = (u: string) => new URL(u, fx.baseUrl);
  const put = (u: URL | string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(u, { method: 'PUT', body: new Uint8Array(body), headers });
  const tmpFiles = async (uploadId: string) =>
    (await readdir(path.join(fx.root, '.uploads', uploadId))).filter((n) => n.startsWith('tmp-'));

  async function openUpload(key = `specific/${randomBytes(6).toString('hex')}`) {
    return { key, uploadId: await fx.adapter.createMultipartUpload(key) };
  }
  async function presign(key: string, uploadId: string, n: number, bytes: Buffer, expiresIn = 600) {
    return fx.adapter.presignUploadPart(key, uploadId, n, { size: bytes.length, checksums: checksumsOf(bytes), expiresIn });
  }

  it('refuses a forged signature with 403 SIGNATURE_INVALID', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(32);
    const u = url((await presign(key, uploadId, 1, bytes)).url);
    const sig = u.searchParams.get('sig')!;
    u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const res = await put(u, bytes);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'SIGNATURE_INVALID' });

    const forger = new LocalStorageAdapter({ root: fx.root, signingSecret: 'not-the-secret' });
    const forged = await forger.presignUploadPart(key, uploadId, 1, { size: 32, checksums: checksumsOf(bytes), expiresIn: 60 });
    const res2 = await put(url(forged.url), bytes);
    expect(res2.status).toBe(403);
    expect((await res2.json()).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a tampered query (another part number, key, size) with 403', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(32);
    for (const [name, value] of [['part', '2'], ['key', `${key}x`], ['size', '33'], ['exp', String(Date.now() + 1e9)]]) {
      const u = url((await presign(key, uploadId, 1, bytes)).url);
      u.searchParams.set(name, value);
      const res = await put(u, bytes);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe('SIGNATURE_INVALID');
    }
    expect((await fx.adapter.listParts(key, uploadId)).parts).toHaveLength(0);
  });

  it('says SIGNATURE_EXPIRED for a genuine but expired URL', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(8);
    const req = await presign(key, uploadId, 1, bytes, 0.05);
    await new Promise((r) => setTimeout(r, 100));
    const res = await put(url(req.url), bytes);
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('SIGNATURE_EXPIRED');
  });

  it('answers a size or digest mismatch with 400 BAD_DIGEST and keeps nothing', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(1000);
    const other = randomBytes(1000);
    const res = await put(url((await presign(key, uploadId, 1, bytes)).url), other);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('BAD_DIGEST');

    const longer = await put(url((await presign(key, uploadId, 1, bytes)).url), Buffer.concat([bytes, bytes]));
    expect(longer.status).toBe(400);
    expect((await longer.json()).code).toBe('BAD_DIGEST');

    const shorter = Readable.from([bytes.subarray(0, 500)]);
    await expectCode(fx.inner.receivePart(uploadId, 1, bytes.length, sha256(bytes), shorter), 'BAD_DIGEST');
    expect((await fx.adapter.listParts(key, uploadId)).parts).toHaveLength(0);
    expect(await tmpFiles(uploadId)).toEqual([]);
  });

  it('answers a part PUT for an aborted upload with 404 NO_SUCH_UPLOAD', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(10);
    const req = await presign(key, uploadId, 1, bytes);
    await fx.adapter.abortMultipartUpload(key, uploadId);
    const res = await put(url(req.url), bytes);
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('NO_SUCH_UPLOAD');
  });

  it('rejects malformed upload ids as NO_SUCH_UPLOAD (no traversal through them)', async () => {
    await expectCode(fx.adapter.listParts('a/b', '../../objects'), 'NO_SUCH_UPLOAD');
    await expectCode(fx.adapter.abortMultipartUpload('a/b', '..'), 'NO_SUCH_UPLOAD');
  });

  it('answers CORS preflight and exposes ETag to browsers', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(10);
    const req = await presign(key, uploadId, 1, bytes);
    const pre = await fetch(url(req.url), {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(pre.headers.get('access-control-allow-headers')).toContain('content-type');
    const res = await put(url(req.url), bytes, { Origin: 'https://app.example' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/ETag/i);
    expect(res.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
  });

  describe('GET /object', () => {
    const bytes = randomBytes(1000);
    const key = `specific/get-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      const uploadId = await fx.adapter.createMultipartUpload(key);
      const res = await put(url((await presign(key, uploadId, 1, bytes)).url), bytes);
      await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: JSON.parse(res.headers.get('etag')!) }]);
    });
    const get = async (opts: { range?: { offset: number; length: number }; fileName?: string } = {}, headers = {}) =>
      fetch(url((await fx.adapter.presignGet(key, { expiresIn: 60, ...opts })).url), { headers });

    it('honours Range headers (206, suffix, open-ended) and 416', async () => {
      let res = await get({}, { Range: 'bytes=10-19' });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe('bytes 10-19/1000');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes.subarray(10, 20));
      res = await get({}, { Range: 'bytes=-5' });
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes.subarray(995));
      res = await get({}, { Range: 'bytes=990-' });
      expect(res.headers.get('content-length')).toBe('10');
      await res.arrayBuffer();
      res = await get({}, { Range: 'bytes=1000-' });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe('bytes */1000');
      await res.arrayBuffer();
    });

    it('keeps a Range header inside the signed range', async () => {
      const res = await get({ range: { offset: 100, length: 50 } }, { Range: 'bytes=0-119' });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe('bytes 100-119/1000');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes.subarray(100, 120));
      const outside = await get({ range: { offset: 100, length: 50 } }, { Range: 'bytes=500-600' });
      expect(outside.status).toBe(416);
      await outside.arrayBuffer();
    });

    it('names the download per RFC 5987 and sends ETag and Content-Length', async () => {
      const fileName = 'Ünïcødé "quoted" 100%.pdf';
      const res = await get({ fileName });
      expect(res.status).toBe(200);
      const cd = res.headers.get('content-disposition')!;
      expect(cd).toContain("filename*=UTF-8''");
      expect(dispositionFileName(cd)).toBe(fileName);
      expect(res.headers.get('content-length')).toBe('1000');
      expect(res.headers.get('etag')).toMatch(/^".+"$/);
      await res.arrayBuffer();
    });

    it('refuses a GET URL tampered to another key', async () => {
      const u = url((await fx.adapter.presignGet(key, { expiresIn: 60 })).url);
      u.searchParams.set('key', 'specific/other');
      const res = await fetch(u);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe('SIGNATURE_INVALID');
    });
  });

  it('lets only one of two concurrent completes win', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(100);
    const res = await put(url((await presign(key, uploadId, 1, bytes)).url), bytes);
    const parts = [{ partNumber: 1, etag: JSON.parse(res.headers.get('etag')!) }];
    const outcomes = await Promise.allSettled([
      fx.adapter.completeMultipartUpload(key, uploadId, parts),
      fx.adapter.completeMultipartUpload(key, uploadId, parts),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const failed = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason.code).toBe('NO_SUCH_UPLOAD');
    expect(await readAll(await fx.adapter.getStream(key))).toEqual(bytes);
  });

  it('gets back an upload whose completing process died (kill -9 mid-assembly), not while its claimer lives', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(64);
    const etag = JSON.parse((await put(url((await presign(key, uploadId, 1, bytes)).url), bytes)).headers.get('etag')!);
    const tmp = path.join(fx.root, '.tmp');
    await mkdir(tmp, { recursive: true });
    const host = os.hostname().replace(/[^A-Za-z0-9]/g, '');
    // as a live completer on this host would leave it: not recovered
    const live = path.join(tmp, `claimed-${uploadId}-0000aaaa-${host}-${process.pid}`);
    await rename(path.join(fx.root, '.uploads', uploadId), live);
    await expectCode(fx.adapter.listParts(key, uploadId), 'NO_SUCH_UPLOAD');
    // its process is gone (a pid that cannot exist): recovered, parts intact, and it completes
    const dead = path.join(tmp, `claimed-${uploadId}-0000aaaa-${host}-${2 ** 31 - 2}`);
    await rename(live, dead);
    await writeFile(path.join(tmp, `assemble-${path.basename(dead)}`), 'half an object');
    expect((await fx.adapter.listParts(key, uploadId)).parts).toEqual([{ partNumber: 1, etag, size: 64 }]);
    await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);
    expect((await readAll(await fx.adapter.getStream(key))).equals(bytes)).toBe(true);
    expect((await readdir(tmp)).filter((n) => n.includes(uploadId))).toEqual([]);
  });

  it('keeps a multipart upload and its parts across a restart', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(fx.adapter.limits.minPartSize);
    const tail = randomBytes(10);
    const e1 = JSON.parse((await put(url((await presign(key, uploadId, 1, bytes)).url), bytes)).headers.get('etag')!);

    const restarted = await startLocal({ root: fx.root, secret: fx.secret });
    try {
      const listed = await restarted.adapter.listParts(key, uploadId);
      expect(listed.parts).toEqual([{ partNumber: 1, etag: e1, size: bytes.length }]);
      const uploads: string[] = [];
      for await (const u of restarted.adapter.listMultipartUploads({ prefix: 'specific/' })) uploads.push(u.uploadId);
      expect(uploads).toContain(uploadId);
      const req = await restarted.adapter.presignUploadPart(key, uploadId, 2, { size: 10, checksums: checksumsOf(tail), expiresIn: 60 });
      const r2 = await put(new URL(req.url, restarted.baseUrl), tail);
      const e2 = JSON.parse(r2.headers.get('etag')!);
      await restarted.adapter.completeMultipartUpload(key, uploadId, [
        { partNumber: 1, etag: e1 },
        { partNumber: 2, etag: e2 },
      ]);
      expect(await readAll(await fx.adapter.getStream(key))).toEqual(Buffer.concat([bytes, tail]));
    } finally {
      await restarted.cleanup();
    }
  });

  it('streams a 64 MiB part in and out', async () => {
    const { key, uploadId } = await openUpload();
    const chunk = randomBytes(1024 * 1024);
    const count = 64;
    const hash = createHash('sha256');
    for (let i = 0; i < count; i++) hash.update(chunk);
    const digest = hash.digest('hex');
    const size = chunk.length * count;
    const req = await fx.adapter.presignUploadPart(key, uploadId, 1, { size, checksums: { sha256: digest }, expiresIn: 600 });
    async function* body() {
      for (let i = 0; i < count; i++) yield chunk;
    }
    const res = await fetch(url(req.url), {
      method: 'PUT',
      body: Readable.from(body()) as unknown as BodyInit,
      headers: { 'content-length': String(size) },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    const etag = JSON.parse(res.headers.get('etag')!);
    expect(etag).toBe(digest);
    const info = await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);
    expect(info.size).toBe(size);
    const check = createHash('sha256');
    for await (const c of await fx.adapter.getStream(key)) check.update(c);
    expect(check.digest('hex')).toBe(digest);
  }, 120_000);

  it('answers a key whose path collides with another key with PRECONDITION_FAILED', async () => {
    const base = `specific/collide-${randomBytes(4).toString('hex')}`;
    const store = async (key: string) => {
      const { uploadId } = await openUpload(key);
      const bytes = randomBytes(5);
      const res = await put(url((await presign(key, uploadId, 1, bytes)).url), bytes);
      return fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: JSON.parse(res.headers.get('etag')!) }]);
    };
    await store(`${base}/file`);
    await expectCode(store(`${base}/file/child`), 'PRECONDITION_FAILED');
    await expectCode(store(base), 'PRECONDITION_FAILED');
    await expectCode(fx.adapter.head(base), 'NOT_FOUND');
    await expectCode(fx.adapter.getStream(base), 'NOT_FOUND');
    await expectCode(fx.adapter.head(`${base}/file/child`), 'NOT_FOUND');
    await fx.adapter.delete(base);
    expect((await fx.adapter.head(`${base}/file`)).size).toBe(5);
  });

  it('is what createStorage returns for kind local, behind the key guard', async () => {
    const adapter = createStorage({ kind: 'local', local: { root: fx.root, signingSecret: 's' } });
    expect(adapter.name).toBe('local');
    expect(adapter.checksum).toBe('SHA256');
    expect(adapter.limits).toMatchObject({ minPartSize: 5 * 1024 * 1024, maxParts: 10_000 });
    await expectCode(adapter.head('../etc/passwd'), 'INVALID_KEY');
  });
});
