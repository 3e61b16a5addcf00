import crypto from 'node:crypto';
import { UploadSession } from '../../src/entities';
import { isStorageError } from '../../src/storage/errors';
import type { StorageConfig } from '../../src/storage/registry';
import { SESSION_FIELDS, beginInput, gql, prepare, putPart, signUp } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

const storages: [string, () => StorageConfig | undefined][] = [
  ['local', () => undefined],
  ['s3', () => ({ kind: 's3', s3: { ...rgwEnv(), prefix: `janitor-${crypto.randomBytes(4).toString('hex')}` } })],
];

describe.each(storages)('janitor on the %s store', (_name, storage) => {
  let srv: TestServer;
  let config: StorageConfig | undefined;
  beforeAll(async () => { config = storage(); srv = await startTestServer({ db: 'sqlite', storage: config }); });
  afterAll(async () => {
    await srv?.stop();
    if (config?.kind === 's3' && config.s3.prefix) await emptyRgwPrefix(config.s3.prefix);
  });

  /** Whether the store still holds the session's upload (its multipart upload, or for a one-PUT session its object). */
  const stillOnStore = async (session: UploadSession) => {
    try {
      if (session.singlePut) await srv.app.services.storage.head(session.storageKey);
      else await srv.app.services.storage.listParts(session.storageKey, session.storageUploadId!);
      return true;
    } catch (e) {
      if (isStorageError(e, 'NO_SUCH_UPLOAD') || isStorageError(e, 'NOT_FOUND')) return false;
      throw e;
    }
  };

  test('expires abandoned sessions and aborts them on the store (a one-PUT object is deleted); keeps live ones', async () => {
    const { token } = await signUp(srv.url);
    const begin = async (path: string, size: number) => {
      const r = await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`,
        { i: beginInput(path, prepare(crypto.randomBytes(size), 8 * 1024 * 1024)) }, token);
      return { session: await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: r.data.beginUpload.id }), parts: r.data.beginUpload.parts };
    };
    const multi = 8 * 1024 * 1024 + 1;
    const { session: stale } = await begin('/stale.bin', multi);
    const { session: live } = await begin('/live.bin', multi);
    const small = await begin('/small.bin', 64);
    // a small file goes in one PUT where the store takes one: the object exists before completion
    expect(small.session.singlePut).toBe(srv.app.services.storage.features.presignPut);
    const sent = prepare(crypto.randomBytes(64), 8 * 1024 * 1024);
    const r = await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/small-put.bin', sent) }, token);
    expect((await putPart(srv.url, r.data.beginUpload.parts[0], sent.parts[0].bytes)).status).toBe(200);
    const put = await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: r.data.beginUpload.id });
    expect(await stillOnStore(put)).toBe(true);
    const expire = [stale, small.session, put];
    for (const s of expire) await srv.app.services.ds.getRepository(UploadSession).update({ id: s.id }, { expiresAt: new Date(Date.now() - 1000) });

    const report = await srv.app.services.janitor.run();
    expect(report.expiredSessions).toBe(expire.length);
    const repo = srv.app.services.ds.getRepository(UploadSession);
    for (const s of expire) expect((await repo.findOneByOrFail({ id: s.id })).status).toBe('EXPIRED');
    expect((await repo.findOneByOrFail({ id: live.id })).status).toBe('ACTIVE');
    for (const s of expire) expect(await stillOnStore(s)).toBe(false);
    expect(await stillOnStore(live)).toBe(true);
  });

  test('aborts multipart uploads no session owns, once past the grace period', async () => {
    const storage = srv.app.services.storage;
    const key = `u/orphan/${crypto.randomUUID()}`;
    const uploadId = await storage.createMultipartUpload(key);
    expect((await srv.app.services.janitor.run()).abortedOrphans).toBe(0);
    expect(await stillOnStore({ singlePut: false, storageKey: key, storageUploadId: uploadId } as UploadSession)).toBe(true);
    const later = new Date(Date.now() + 2 * 24 * 3600 * 1000);
    const report = await srv.app.services.janitor.run(later);
    expect(report.abortedOrphans).toBeGreaterThanOrEqual(1);
    expect(await stillOnStore({ singlePut: false, storageKey: key, storageUploadId: uploadId } as UploadSession)).toBe(false);
  });
});
