import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type { StorageConfig } from '../../src/storage/registry';
import { startGcsStandin } from '../helpers/gcs-standin';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, putPart, sha256, signUp, uploadBytes } from '../helpers/gql';
import { FileRevision, UploadSession } from '../../src/entities';
import { emptyRgwPrefix, rgwEnv, RGW_TEST_KMS_KEY } from '../helpers/rgw';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/server/config';
import { startTestServer, type TestServer } from '../helpers/server';

const MiB = 1024 * 1024;
type Store = 'local' | 's3' | 'gcs';
/** A store, with encryption at rest on or off (local: on by default; S3: SSE-KMS on RGW's test KMS; GCS: a CMEK on the stand-in). */
type Variant = [label: string, store: Store, encrypted: boolean];
const GCS_KMS_KEY = 'projects/tessera-test/locations/global/keyRings/e2e/cryptoKeys/objects';

/** Builds the store's configuration; returns a cleanup for whatever it started. */
async function storeConfig(store: Store, encrypted: boolean, dataDir: string): Promise<{ storage?: StorageConfig; cleanup(): Promise<void> }> {
  const prefix = `e2e-${crypto.randomBytes(4).toString('hex')}`;
  if (store === 's3') {
    const env = rgwEnv();
    const sse = encrypted ? { algorithm: 'aws:kms' as const, kmsKeyId: RGW_TEST_KMS_KEY } : undefined;
    return { storage: { kind: 's3', s3: { ...env, prefix, sse } }, cleanup: () => emptyRgwPrefix(prefix) };
  }
  if (store === 'gcs') {
    const standin = await startGcsStandin();
    return {
      storage: { kind: 'gcs', gcs: { bucket: standin.bucket, apiEndpoint: standin.endpoint, credentials: standin.credentials, prefix, kmsKeyName: encrypted ? GCS_KMS_KEY : undefined } },
      cleanup: () => standin.close(),
    };
  }
  // local: the server's own configuration encrypts (a key generated under DATA_DIR); LOCAL_ENCRYPTION=off does not
  if (encrypted) return { cleanup: async () => {} };
  const local = loadConfig({ DATA_DIR: dataDir, LOCAL_ENCRYPTION: 'off', SIGNING_SECRET: 'test-signing-secret' }).storage;
  return { storage: local, cleanup: async () => {} };
}

const variants: Variant[] = [
  ['local (encrypted, the default)', 'local', true],
  ['local, LOCAL_ENCRYPTION=off', 'local', false],
  ['s3', 's3', false],
  ['s3, S3_SSE=aws:kms', 's3', true],
  ['gcs', 'gcs', false],
  ['gcs, GCS_KMS_KEY', 'gcs', true],
];

describe.each<Variant>(variants)('end to end through the GraphQL API on the %s store', (_label, store, encrypted) => {
  let srv: TestServer;
  let cleanup: () => Promise<void>;
  let bytesIn = 0;
  const open = new Set<Socket>();
  const received = () => bytesIn + [...open].reduce((n, s) => n + s.bytesRead, 0);

  beforeAll(async () => {
    const cfg = await storeConfig(store, encrypted, await mkdtemp(path.join(os.tmpdir(), 'tessera-e2e-plain-')));
    cleanup = cfg.cleanup;
    srv = await startTestServer({ db: 'sqlite', storage: cfg.storage });
    srv.app.server.on('connection', (s: Socket) => {
      open.add(s);
      s.on('close', () => { bytesIn += s.bytesRead; open.delete(s); });
    });
  });
  afterAll(async () => {
    await srv?.stop();
    await cleanup?.();
  });

  test('a 3-part file uploads, downloads whole and ranged, byte-identical; part bytes bypass the server unless local', async () => {
    const { token } = await signUp(srv.url);
    const bytes = crypto.randomBytes(2 * 8 * MiB + 777_777);
    const before = received();
    const file = await uploadBytes(srv.url, token, '/e2e/file.bin', bytes);
    const serverBytes = received() - before;
    if (store === 'local') expect(serverBytes).toBeGreaterThan(bytes.length);
    else expect(serverBytes).toBeLessThan(512 * 1024);

    const r = await gql(srv.url, 'query($id: ID!) { file(id: $id) { size contentHash downloadUrl chunks { size sha256 } } }', { id: file.id }, token);
    expect(r.data.file.size).toBe(String(bytes.length));
    expect(r.data.file.chunks.map((c: any) => c.sha256)).toEqual([0, 1, 2].map((i) => sha256(bytes.subarray(i * 8 * MiB, (i + 1) * 8 * MiB))));
    const url = new URL(r.data.file.downloadUrl, srv.url);
    if (store !== 'local') expect(url.origin).not.toBe(new URL(srv.url).origin);
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(whole.equals(bytes)).toBe(true);
    const ranged = await fetch(url, { headers: { range: `bytes=${8 * MiB - 10}-${8 * MiB + 9}` } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(8 * MiB - 10, 8 * MiB + 10))).toBe(true);

    // encryption at rest as configured, on the object the revision points at
    const rev = await srv.app.services.ds.getRepository(FileRevision).findOneByOrFail({ fileId: file.id });
    const stored = await srv.app.services.storage.head(rev.storageKey);
    const expected = !encrypted ? undefined : store === 'local' ? 'AES-256-GCM' : store === 's3' ? 'aws:kms' : 'gcs-kms';
    expect(stored.encryption?.algorithm).toBe(expected);
  });

  test('a small file: one PUT where the store takes one (else one part); a wrong ETag or corrupted bytes never complete; abort removes what arrived', async () => {
    const { token } = await signUp(srv.url);
    const BEGIN = `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`;
    const COMPLETE = 'mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { size contentHash downloadUrl } }';
    const sessions = srv.app.services.ds.getRepository(UploadSession);
    const onePut = srv.app.services.storage.features.presignPut;
    expect(onePut).toBe(store === 's3');

    const bytes = crypto.randomBytes(5000);
    const f = prepare(bytes, 8 * MiB);
    const s = (await gql(srv.url, BEGIN, { i: { ...beginInput('/small/a.txt', f), mimeType: 'text/plain' } }, token)).data.beginUpload;
    expect((await sessions.findOneByOrFail({ id: s.id })).singlePut).toBe(onePut);
    const corrupted = Buffer.from(bytes);
    corrupted[10] ^= 1;
    const refused = await putPart(srv.url, s.parts[0], corrupted);
    await refused.arrayBuffer();
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(codeOf(await gql(srv.url, COMPLETE, { s: s.id }, token))).toBe('PRECONDITION_FAILED');
    const res = await putPart(srv.url, s.parts[0], bytes);
    expect(res.status).toBe(200);
    const etag = res.headers.get('etag')!.replace(/"/g, '');
    expect(codeOf(await gql(srv.url, COMPLETE, { s: s.id, p: [{ partNumber: 1, etag: 'f'.repeat(32) }] }, token))).toBe('PRECONDITION_FAILED');
    // resumable like any session: the same begin again reports the part as arrived
    const again = (await gql(srv.url, BEGIN, { i: { ...beginInput('/small/a.txt', f), mimeType: 'text/plain' } }, token)).data.beginUpload;
    expect(again.id).toBe(s.id);
    expect(again.parts[0].status).toBe('UPLOADED');
    const done = (await gql(srv.url, COMPLETE, { s: s.id, p: [{ partNumber: 1, etag }] }, token)).data.completeUpload;
    expect(done).toMatchObject({ size: '5000', contentHash: f.contentHash });
    const got = await fetch(new URL(done.downloadUrl, srv.url));
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    const other = prepare(crypto.randomBytes(100), 8 * MiB);
    const s2 = (await gql(srv.url, BEGIN, { i: beginInput('/small/b.bin', other) }, token)).data.beginUpload;
    expect((await putPart(srv.url, s2.parts[0], other.parts[0].bytes)).status).toBe(200);
    expect((await gql(srv.url, 'mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: s2.id }, token)).data.abortUpload).toBe(true);
    const row = await sessions.findOneByOrFail({ id: s2.id });
    if (row.singlePut) await expect(srv.app.services.storage.head(row.storageKey)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    else await expect(srv.app.services.storage.listParts(row.storageKey, row.storageUploadId!)).rejects.toMatchObject({ code: 'NO_SUCH_UPLOAD' });
  });
});
