import crypto from 'node:crypto';
import { UploadSession } from '../../src/entities';
import { isStorageError } from '../../src/storage/errors';
import type { StorageConfig } from '../../src/storage/registry';
import { SESSION_FIELDS, beginInput, gql, prepare, signUp } from '../helpers/gql';
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

  const stillOnStore = async (key: string, uploadId: string) => {
    try {
      await srv.app.services.storage.listParts(key, uploadId);
      return true;
    } catch (e) {
      if (isStorageError(e, 'NO_SUCH_UPLOAD')) return false;
      throw e;
    }
  };

  test('expires abandoned sessions and aborts them on the store; keeps live ones', async () => {
    const { token } = await signUp(srv.url);
    const begin = async (path: string) => {
      const r = await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`,
        { i: beginInput(path, prepare(crypto.randomBytes(64), 8 * 1024 * 1024)) }, token);
      return srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: r.data.beginUpload.id });
    };
    const stale = await begin('/stale.bin');
    const live = await begin('/live.bin');
    await srv.app.services.ds.getRepository(UploadSession).update({ id: stale.id }, { expiresAt: new Date(Date.now() - 1000) });

    const report = await srv.app.services.janitor.run();
    expect(report.expiredSessions).toBe(1);
    const repo = srv.app.services.ds.getRepository(UploadSession);
    expect((await repo.findOneByOrFail({ id: stale.id })).status).toBe('EXPIRED');
    expect((await repo.findOneByOrFail({ id: live.id })).status).toBe('ACTIVE');
    expect(await stillOnStore(stale.storageKey, stale.storageUploadId!)).toBe(false);
    expect(await stillOnStore(live.storageKey, live.storageUploadId!)).toBe(true);
  });

  test('aborts multipart uploads no session owns, once past the grace period', async () => {
    const storage = srv.app.services.storage;
    const key = `u/orphan/${crypto.randomUUID()}`;
    const uploadId = await storage.createMultipartUpload(key);
    expect((await srv.app.services.janitor.run()).abortedOrphans).toBe(0);
    expect(await stillOnStore(key, uploadId)).toBe(true);
    const later = new Date(Date.now() + 2 * 24 * 3600 * 1000);
    const report = await srv.app.services.janitor.run(later);
    expect(report.abortedOrphans).toBeGreaterThanOrEqual(1);
    expect(await stillOnStore(key, uploadId)).toBe(false);
  });
});
