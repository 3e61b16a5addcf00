import crypto from 'node:crypto';
import { Change, FileNode, UploadSession, User } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { beginInput, gql, prepare, putPart, signUp, type PreparedFile } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';
import { CountingLogger } from '../helpers/counting-logger';

// Issue 17, goal 2: many small files begun and completed per request and per transaction
// (beginUploads, completeUploads), with per-item results and every per-file guarantee kept.
// On Ceph RGW (a store with one-PUT uploads: the set-wise path) and on the local store (every
// item through the single-file path), each on SQLite and MariaDB.

const QUOTA = 1024 * 1024;
const SESSION = 'id status size parts { partNumber status url method headers { name value } } file { id path revision }';
const BEGIN = `mutation($i: [BeginUploadInput!]!) { beginUploads(inputs: $i) { index session { ${SESSION} } error { code message path } } }`;
const COMPLETE = 'mutation($u: [CompleteUploadInput!]!) { completeUploads(uploads: $u) { index file { id path size revision contentHash } error { code message path missingParts } } }';

const stores = ['s3', 'local'] as const;
const cases = testDatabases.flatMap((db) => stores.map((store) => [db, store] as const));

describe.each(cases)('batch uploads on %s, %s store', (db, store) => {
  const logger = new CountingLogger();
  let srv: TestServer;
  const prefix = `test-upload-batch-${crypto.randomBytes(4).toString('hex')}/`;
  beforeAll(async () => {
    const storage = store === 's3' ? { kind: 's3' as const, s3: { ...rgwEnv(), prefix } } : undefined;
    srv = await startTestServer({ db, storage, dbLogger: logger, config: { defaultQuotaBytes: QUOTA } });
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
    if (store === 's3') await emptyRgwPrefix(prefix);
  });

  const files = (n: number, size = 1000) => Array.from({ length: n }, () => prepare(crypto.randomBytes(size), 8 * 1024 * 1024));
  const begin = (token: string, items: { path: string; f: PreparedFile; extra?: Record<string, unknown> }[]) =>
    gql(srv.url, BEGIN, { i: items.map(({ path, f, extra }) => beginInput(path, f, extra)) }, token);
  /** PUTs every part of each begun session; returns the completeUploads items. */
  const put = async (results: any[], fs: PreparedFile[]) => Promise.all(results.map(async (r, i) => {
    const etags = [];
    for (const p of r.session.parts) {
      const res = await putPart(srv.url, p, fs[i].parts[p.partNumber - 1].bytes);
      if (!res.ok) throw new Error(`PUT ${res.status}`);
      etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    return { sessionId: r.session.id, parts: etags };
  }));
  const expectInvariants = async (userId: string) => expect(await treeViolations(srv.app.services.ds, [userId])).toEqual([]);

  test('50 files in two folders: one beginUploads, one completeUploads; every file, folder and journal entry is there', async () => {
    const { token, userId } = await signUp(srv.url);
    const fs = files(50);
    const paths = fs.map((_, i) => `/t/d${i % 2}/f${i}.bin`);
    logger.queries = [];
    logger.counting = true;
    const begun = await begin(token, fs.map((f, i) => ({ path: paths[i], f })));
    logger.counting = false;
    const beginStatements = logger.queries.length;
    expect(begun.errors).toBeUndefined();
    const results = begun.data.beginUploads;
    expect(results.map((r: any) => [r.index, r.error, r.session.status])).toEqual(fs.map((_, i) => [i, null, 'ACTIVE']));
    const items = await put(results, fs);
    logger.queries = [];
    logger.counting = true;
    const done = await gql(srv.url, COMPLETE, { u: items }, token);
    logger.counting = false;
    const completeStatements = logger.queries.length;
    expect(done.errors).toBeUndefined();
    expect(done.data.completeUploads.map((r: any) => [r.error, r.file.path, r.file.revision, r.file.contentHash]))
      .toEqual(fs.map((f, i) => [null, paths[i], 1, f.contentHash]));
    const ds = srv.app.services.ds;
    const journal = await ds.getRepository(Change).find({ where: { namespaceId: userId }, order: { seq: 'ASC' } });
    // folders first (parents before children), then one CREATED per file; gapless
    expect(journal.map((c) => c.seq)).toEqual(journal.map((_, i) => i + 1));
    expect(journal.filter((c) => c.isFolder).map((c) => c.path).sort()).toEqual(['/t', '/t/d0', '/t/d1']);
    expect(journal.filter((c) => !c.isFolder).map((c) => c.path).sort()).toEqual([...paths].sort());
    const user = await ds.getRepository(User).findOneByOrFail({ id: userId });
    expect([user.usedBytes, user.reservedBytes]).toEqual([50 * 1000, 0]);
    await expectInvariants(userId);
    process.stdout.write(`${db}/${store}: 50 files: beginUploads ${beginStatements} SQL statements, completeUploads ${completeStatements}\n`);
    if (store === 's3') {
      // set-wise: the statement count does not grow with the number of files (a single-file upload costs ~30)
      expect(beginStatements).toBeLessThan(20);
      expect(completeStatements).toBeLessThan(30);
    }
    // completing again is idempotent: the same files
    const again = await gql(srv.url, COMPLETE, { u: items.slice(0, 3) }, token);
    expect(again.data.completeUploads.map((r: any) => r.file.id)).toEqual(done.data.completeUploads.slice(0, 3).map((r: any) => r.file.id));
  }, 120_000);

  test('bad items get their own coded error and write nothing; the others complete', async () => {
    const { token, userId } = await signUp(srv.url);
    const fs = files(6);
    // a folder where item 1 wants a file; a file where item 2 needs a folder
    await gql(srv.url, 'mutation { createFolder(path: "/taken") { id } }', {}, token);
    const pre = files(1)[0];
    const first = await begin(token, [{ path: '/afile', f: pre }]);
    await gql(srv.url, COMPLETE, { u: await put(first.data.beginUploads, [pre]) }, token);
    const bad = { ...beginInput('/x', fs[3]), contentHash: 'ff'.repeat(32) };
    const r = await gql(srv.url, BEGIN, { i: [
      beginInput('/ok0.bin', fs[0]), beginInput('/taken', fs[1]), beginInput('/afile/sub.bin', fs[2]), bad, beginInput('/', fs[4]), beginInput('/ok5.bin', fs[5]),
    ] }, token);
    expect(r.errors).toBeUndefined();
    const res = r.data.beginUploads;
    expect(res[0].session.status).toBe('ACTIVE');
    expect(res[1].error.code).toBe('CONFLICT');
    expect(res[3].error.code).toBe('BAD_USER_INPUT');
    expect(res[4].error.code).toBe('BAD_USER_INPUT');
    expect(res[5].session.status).toBe('ACTIVE');
    // /afile/sub.bin: refused at begin (local store) or at completion (the set-wise path checks the folders there)
    const ok = [0, 5].concat(res[2].session ? [2] : []);
    if (!res[2].session) expect(res[2].error.code).toBe('CONFLICT');
    const items = await put(ok.map((i) => res[i]), ok.map((i) => fs[i]));
    // one item's PUT never happened, one reports a wrong ETag, one session is not the caller's
    const missing = fs.slice(0, 1).map((f) => beginInput('/missing.bin', f));
    const m = await gql(srv.url, BEGIN, { i: missing }, token);
    const done = await gql(srv.url, COMPLETE, { u: [
      items[0], { sessionId: m.data.beginUploads[0].session.id }, { ...items[1], parts: [{ partNumber: 1, etag: '0'.repeat(32) }] },
      { sessionId: crypto.randomUUID() }, ...items.slice(2),
    ] }, token);
    expect(done.errors).toBeUndefined();
    const out = done.data.completeUploads;
    expect(out[0].file.path).toBe('/ok0.bin');
    expect(out[1].error).toMatchObject({ code: 'PRECONDITION_FAILED', missingParts: [1] });
    expect(out[2].error.code).toBe('PRECONDITION_FAILED');
    expect(out[3].error.code).toBe('NOT_FOUND');
    if (res[2].session) expect(out[4].error).toMatchObject({ code: 'CONFLICT' });
    // the item refused for its ETag completes once told the right one
    const retry = await gql(srv.url, COMPLETE, { u: [items[1]] }, token);
    expect(retry.data.completeUploads[0].file.path).toBe('/ok5.bin');
    const live = await srv.app.services.ds.getRepository(FileNode).findBy({ ownerId: userId, isFolder: false, status: 'AVAILABLE' });
    expect(live.map((n) => n.path).sort()).toEqual(['/afile', '/ok0.bin', '/ok5.bin']);
    // the missing one is still ACTIVE (its PUT can still come) and holds its reservation
    const user = await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: userId });
    expect(Number(user.reservedBytes)).toBe(1000 * (res[2].session ? 2 : 1));
    await expectInvariants(userId);
  }, 120_000);

  test('one listing checks a batch\'s objects (S3): a missing PUT, a wrong ETag, a deleted object get PRECONDITION_FAILED; the rest complete', async () => {
    const { token, userId } = await signUp(srv.url);
    const fs = files(8);
    const r = await begin(token, fs.map((f, i) => ({ path: `/l/f${i}.bin`, f })));
    const res = r.data.beginUploads;
    const items = await put(res.slice(0, 7), fs.slice(0, 7)); // item 7 is never PUT
    const storage = srv.app.services.storage;
    const deleted = (await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: items[6].sessionId })).storageKey;
    await storage.delete(deleted); // S3: item 6's object is gone again before its completion (local: the parts wait in the upload)
    const head = jest.spyOn(storage, 'head');
    const list = jest.spyOn(storage, 'listObjects');
    try {
      const done = await gql(srv.url, COMPLETE, { u: [
        ...items.slice(0, 5), { ...items[5], parts: [{ partNumber: 1, etag: '0'.repeat(32) }] }, items[6], { sessionId: res[7].session.id },
      ] }, token);
      expect(done.errors).toBeUndefined();
      const out = done.data.completeUploads;
      expect(out.map((x: any) => x.error?.code ?? x.file.path)).toEqual(['/l/f0.bin', '/l/f1.bin', '/l/f2.bin', '/l/f3.bin', '/l/f4.bin',
        'PRECONDITION_FAILED', store === 's3' ? 'PRECONDITION_FAILED' : '/l/f6.bin', 'PRECONDITION_FAILED']);
      expect(out[7].error.missingParts).toEqual([1]);
      if (store === 's3') expect([list.mock.calls.length, head.mock.calls.length]).toEqual([1, 0]);
    } finally {
      head.mockRestore();
      list.mockRestore();
    }
    // item 5 completes once told the right ETag; 7 (and on S3 6) still hold their reservations (their PUTs can still come)
    const retry = await gql(srv.url, COMPLETE, { u: [items[5]] }, token);
    expect(retry.data.completeUploads[0].file.path).toBe('/l/f5.bin');
    const user = await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: userId });
    const failedToComplete = store === 's3' ? 2 : 1;
    expect([Number(user.usedBytes), Number(user.reservedBytes)]).toEqual([(8 - failedToComplete) * 1000, failedToComplete * 1000]);
    await expectInvariants(userId);
  }, 120_000);

  test('a batch against the quota: items reserved in order until the quota is full, the rest PAYLOAD_TOO_LARGE', async () => {
    const { token, userId } = await signUp(srv.url);
    const fs = files(6, 300 * 1024); // 1 MiB quota: three of 300 KiB fit
    const r = await begin(token, fs.map((f, i) => ({ path: `/q/f${i}.bin`, f })));
    const res = r.data.beginUploads;
    expect(res.map((x: any) => x.error?.code ?? 'OK')).toEqual(['OK', 'OK', 'OK', 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE']);
    const user = await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: userId });
    expect(Number(user.reservedBytes)).toBe(3 * 300 * 1024);
    const done = await gql(srv.url, COMPLETE, { u: await put(res.slice(0, 3), fs.slice(0, 3)) }, token);
    expect(done.data.completeUploads.every((x: any) => x.file)).toBe(true);
    const after = await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: userId });
    expect([Number(after.usedBytes), Number(after.reservedBytes)]).toEqual([3 * 300 * 1024, 0]);
    await expectInvariants(userId);
  }, 120_000);

  test('two batches racing on the same paths: each path gets consistent revisions, the journal stays gapless', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
    process.stdout.write(`upload-batch race seed ${seed}\n`);
    const { token, userId } = await signUp(srv.url);
    const paths = Array.from({ length: 20 }, (_, i) => `/race/d${i % 3}/f${i}.bin`);
    const a = files(20);
    const b = files(20);
    // both batches begin and complete at once, in a seeded order of the items
    const order = (n: number) => { const ix = Array.from({ length: n }, (_, i) => i); let s = seed; for (let i = n - 1; i > 0; i--) { s = (s * 48271) % 2147483647; const j = s % (i + 1); [ix[i], ix[j]] = [ix[j], ix[i]]; } return ix; };
    const oa = order(20);
    const [ra, rb] = await Promise.all([
      begin(token, oa.map((i) => ({ path: paths[i], f: a[i] }))),
      begin(token, paths.map((p, i) => ({ path: p, f: b[i] }))),
    ]);
    const ia = await put(ra.data.beginUploads, oa.map((i) => a[i]));
    const ib = await put(rb.data.beginUploads, b);
    const [da, db2] = await Promise.all([gql(srv.url, COMPLETE, { u: ia }, token), gql(srv.url, COMPLETE, { u: ib }, token)]);
    expect(da.errors).toBeUndefined();
    expect(db2.errors).toBeUndefined();
    // every item succeeded: each path has revisions 1 and 2, one from each batch, and the file is the later one
    const all = [...da.data.completeUploads, ...db2.data.completeUploads];
    expect(all.filter((x: any) => x.error)).toEqual([]);
    const ds = srv.app.services.ds;
    for (let i = 0; i < paths.length; i++) {
      const node = await ds.getRepository(FileNode).findOneByOrFail({ ownerId: userId, path: paths[i], status: 'AVAILABLE' });
      expect(node.revision).toBe(2);
      expect([a[i].contentHash, b[i].contentHash]).toContain(node.contentHash);
    }
    const journal = await ds.getRepository(Change).find({ where: { namespaceId: userId }, order: { seq: 'ASC' } });
    expect(journal.map((c) => c.seq)).toEqual(journal.map((_, i) => i + 1));
    expect(journal.filter((c) => c.isFolder).length).toBe(4); // /race and its three folders, created once
    expect(await ds.getRepository(UploadSession).countBy({ ownerId: userId, status: 'ACTIVE' })).toBe(0);
    const user = await ds.getRepository(User).findOneByOrFail({ id: userId });
    expect([Number(user.usedBytes), Number(user.reservedBytes)]).toEqual([20 * 1000, 0]);
    await expectInvariants(userId);
  }, 120_000);

  test('more than 100 items is BAD_USER_INPUT for the whole request', async () => {
    const { token } = await signUp(srv.url);
    const f = files(1)[0];
    const r = await gql(srv.url, BEGIN, { i: Array.from({ length: 101 }, (_, i) => beginInput(`/m${i}`, f)) }, token);
    expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });
});
