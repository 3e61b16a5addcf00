/**
 * The GCS stand-in's own checks, which the conformance suite relies on: a forged or altered
 * V4 signature, an expired URL and a wrong Content-MD5 are refused the way GCS refuses them.
 * URLs are signed by the real @google-cloud/storage client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { GcsStorageAdapter } from '../../src/storage/gcs';
import { createServiceAccount, startGcsStandin, type GcsStandin } from '../helpers/gcs-standin';

const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
const xmlCode = (body: string) => /<Code>([^<]*)<\/Code>/.exec(body)?.[1];

describe('GCS stand-in', () => {
  let standin: GcsStandin;
  let adapter: GcsStorageAdapter;
  let storage: Storage;

  beforeAll(async () => {
    standin = await startGcsStandin();
    adapter = new GcsStorageAdapter({ bucket: standin.bucket, apiEndpoint: standin.endpoint, credentials: standin.credentials });
    storage = new Storage({ apiEndpoint: standin.endpoint, credentials: standin.credentials, useAuthWithCustomEndpoint: true });
  });
  afterAll(() => standin.close());

  const newUpload = async () => {
    const key = `standin/${randomBytes(4).toString('hex')}`;
    return { key, uploadId: await adapter.createMultipartUpload(key) };
  };
  const partCount = async (key: string, uploadId: string) => (await adapter.listParts(key, uploadId)).parts.length;

  it('accepts a correctly signed part PUT (so the refusals below are not vacuous)', async () => {
    const { key, uploadId } = await newUpload();
    const body = randomBytes(64);
    const req = await adapter.presignUploadPart(key, uploadId, 1, { size: 64, checksums: { sha256: '', md5: md5hex(body) }, expiresIn: 60 });
    const res = await fetch(req.url, { method: 'PUT', headers: req.headers, body: new Uint8Array(body) });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${md5hex(body)}"`);
    expect(await partCount(key, uploadId)).toBe(1);
  });

  it('refuses forged or altered signatures with 403 SignatureDoesNotMatch', async () => {
    const { key, uploadId } = await newUpload();
    const body = randomBytes(64);
    const req = await adapter.presignUploadPart(key, uploadId, 1, { size: 64, checksums: { sha256: '', md5: md5hex(body) }, expiresIn: 60 });
    const put = (url: string, headers = req.headers) => fetch(url, { method: 'PUT', headers, body: new Uint8Array(body) });

    const url = new URL(req.url);
    const sig = url.searchParams.get('X-Goog-Signature')!;
    url.searchParams.set('X-Goog-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    const otherPart = new URL(req.url);
    otherPart.searchParams.set('partNumber', '2');
    const stranger = createServiceAccount('stranger');
    const strangerStorage = new Storage({ apiEndpoint: standin.endpoint, credentials: stranger.credentials });
    const [strangerUrl] = await strangerStorage
      .bucket(standin.bucket)
      .file(key)
      .getSignedUrl({ version: 'v4', action: 'write', expires: Date.now() + 60_000, contentMd5: md5b64(body), queryParams: { partNumber: '1', uploadId } });

    for (const res of [
      await put(url.toString()),
      await put(otherPart.toString()),
      await put(strangerUrl),
      await put(req.url, { 'Content-MD5': md5b64(randomBytes(1)) }),
    ]) {
      expect(res.status).toBe(403);
      expect(xmlCode(await res.text())).toBe('SignatureDoesNotMatch');
    }
    expect(await partCount(key, uploadId)).toBe(0);
  });

  it('refuses an expired URL with 400 ExpiredToken', async () => {
    const { key, uploadId } = await newUpload();
    const body = randomBytes(64);
    const now = Math.floor(Date.now() / 1000) * 1000;
    const [url] = await storage
      .bucket(standin.bucket)
      .file(key)
      .getSignedUrl({ version: 'v4', action: 'write', accessibleAt: now, expires: now + 1000, contentMd5: md5b64(body), queryParams: { partNumber: '1', uploadId } });
    await new Promise((r) => setTimeout(r, 2500));
    const res = await fetch(url, { method: 'PUT', headers: { 'Content-MD5': md5b64(body) }, body: new Uint8Array(body) });
    expect(res.status).toBe(400);
    expect(xmlCode(await res.text())).toBe('ExpiredToken');
    expect(await partCount(key, uploadId)).toBe(0);
  });

  it('refuses a body that does not match its Content-MD5 with 400 BadDigest', async () => {
    const { key, uploadId } = await newUpload();
    const promised = randomBytes(64);
    const req = await adapter.presignUploadPart(key, uploadId, 1, { size: 64, checksums: { sha256: '', md5: md5hex(promised) }, expiresIn: 60 });
    const res = await fetch(req.url, { method: 'PUT', headers: req.headers, body: new Uint8Array(randomBytes(64)) });
    expect(res.status).toBe(400);
    expect(xmlCode(await res.text())).toBe('BadDigest');
    expect(await partCount(key, uploadId)).toBe(0);
  });

  it('refuses unauthenticated and forged-token API calls with 401', async () => {
    const anonymous = await fetch(`${standin.endpoint}/storage/v1/b/${standin.bucket}`);
    expect(anonymous.status).toBe(401);
    const [header, claims] = ['{"alg":"RS256","typ":"JWT"}', JSON.stringify({ iss: standin.serviceAccount.clientEmail, scope: 'https://www.googleapis.com/auth/cloud-platform', exp: Date.now() / 1000 + 600 })].map((s) =>
      Buffer.from(s).toString('base64url'),
    );
    const forged = await fetch(`${standin.endpoint}/${standin.bucket}?uploads`, { headers: { Authorization: `Bearer ${header}.${claims}.${randomBytes(256).toString('base64url')}` } });
    expect(forged.status).toBe(401);
  });
});
