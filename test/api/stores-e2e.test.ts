import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type { StorageConfig } from '../../src/storage/registry';
import { startGcsStandin } from '../helpers/gcs-standin';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, putPart, sha256, signUp, uploadBytes } from '../helpers/gql';
import { UploadSession } from '../../src/entities';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

const MiB = 1024 * 1024;
type Store = 'local' | 's3' | 'gcs';

/** Builds the store's configuration; returns a cleanup for whatever it started. */
async function storeConfig(store: Store): Promise<{ storage?: StorageConfig; cleanup(): Promise<void> }> {
  const prefix = `e2e-${crypto.randomBytes(4).toString('hex')}`;
  if (store === 's3') {
    const env = rgwEnv();
    return { storage: { kind: 's3', s3: { ...env, prefix } }, cleanup: () => emptyRgwPrefix(prefix) };
  }
  if (store === 'gcs') {
    const standin = await startGcsStandin();
    return {
      storage: { kind: 'gcs', gcs: { bucket: standin.bucket, apiEndpoint: standin.endpoint, credentials: standin.credentials, prefix } },
      cleanup: () => standin.close(),
    };
  }
  return { cleanup: async () => {} };
}

describe.each<Store>(['local', 's3', 'gcs'])('end to end through the GraphQL API on the %s store', (store) => {
  let srv: TestServer;
  let cleanup: () => Promise<void>;
  let bytesIn = 0;
  const open = new Set<Socket>();
  const received = () => bytesIn + [...open].reduce((n, s) => n + s.bytesRead, 0);

  beforeAll(async () => {
    const cfg = await storeConfig(store);
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
