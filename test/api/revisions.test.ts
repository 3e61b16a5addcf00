import crypto from 'node:crypto';
import { FileRevision } from '../../src/entities';
import { isStorageError } from '../../src/storage/errors';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, sha256, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const DAY = 86_400_000;

describe.each(testDatabases)('revisions, trash and conflicts on %s', (db) => {
  let srv: TestServer;
  let alice: { token: string; userId: string };
  beforeAll(async () => {
    srv = await startTestServer({ db });
    alice = await signUp(srv.url);
  });
  afterAll(async () => { await srv?.stop(); });

  const q = (query: string, variables: Record<string, unknown> = {}, token = alice.token) => gql(srv.url, query, variables, token);
  const download = async (id: string) => {
    const r = await q('query($id: ID!) { file(id: $id) { downloadUrl } }', { id });
    return Buffer.from(await (await fetch(new URL(r.data.file.downloadUrl, srv.url))).arrayBuffer());
  };
  const objectExists = async (key: string) => {
    try {
      await srv.app.services.storage.head(key);
      return true;
    } catch (e) {
      if (isStorageError(e, 'NOT_FOUND')) return false;
      throw e;
    }
  };
  const revisionsOf = (fileId: string) => srv.app.services.ds.getRepository(FileRevision).find({ where: { fileId }, order: { revision: 'ASC' } });

  test('deleteFile with a baseRevision trashes only that revision: a newer one is CONFLICT and stays (folders ignore it)', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/del-base.txt', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/del-base.txt', crypto.randomBytes(11));
    const DEL = 'mutation($id: ID!, $b: Int) { deleteFile(id: $id, baseRevision: $b) { status revision } }';
    const stale = await q(DEL, { id: f.id, b: 1 });
    expect(codeOf(stale)).toBe('CONFLICT');
    expect(stale.errors![0].extensions.currentRevision).toBe(2);
    expect((await q('query($id: ID!) { file(id: $id) { status } }', { id: f.id })).data.file.status).toBe('AVAILABLE');
    expect((await q(DEL, { id: f.id, b: 2 })).data.deleteFile).toEqual({ status: 'DELETED', revision: 2 });
    const folder = (await q('mutation { createFolder(path: "/del-base-dir") { id } }')).data.createFolder.id;
    expect((await q(DEL, { id: folder, b: 7 })).data.deleteFile.status).toBe('DELETED');
  });

  test('File.revisions lists every revision; restoreRevision makes a new one with the old content, moving no bytes', async () => {
    const v1 = crypto.randomBytes(3000);
    const v2 = crypto.randomBytes(4000);
    const f = await uploadBytes(srv.url, alice.token, '/doc.txt', v1);
    await uploadBytes(srv.url, alice.token, '/doc.txt', v2);
    const listed = await q('query($id: ID!) { file(id: $id) { revision revisions { revision size contentHash current } } }', { id: f.id });
    expect(listed.data.file.revision).toBe(2);
    expect(listed.data.file.revisions.map((r: any) => [r.revision, r.size, r.current])).toEqual([[2, '4000', true], [1, '3000', false]]);

    const cursor = (await q('{ latestCursor }')).data.latestCursor;
    const restored = await q('mutation($id: ID!) { restoreRevision(fileId: $id, revision: 1) { revision size contentHash chunks { sha256 } } }', { id: f.id });
    expect(restored.errors).toBeUndefined();
    expect(restored.data.restoreRevision).toMatchObject({ revision: 3, size: '3000', contentHash: listed.data.file.revisions[1].contentHash });
    expect(restored.data.restoreRevision.chunks.map((c: any) => c.sha256)).toEqual([sha256(v1)]);
    expect(sha256(await download(f.id))).toBe(sha256(v1));
    const revs = await revisionsOf(f.id);
    expect(revs[2].storageKey).toBe(revs[0].storageKey);
    const feed = await q('query($c: String) { changes(cursor: $c) { changes { kind path revision } } }', { c: cursor });
    expect(feed.data.changes.changes).toEqual([{ kind: 'UPDATED', path: '/doc.txt', revision: 3 }]);

    expect(codeOf(await q('mutation($id: ID!) { restoreRevision(fileId: $id, revision: 9) { id } }', { id: f.id }))).toBe('NOT_FOUND');
    const bob = await signUp(srv.url);
    expect(codeOf(await q('mutation($id: ID!) { restoreRevision(fileId: $id, revision: 1) { id } }', { id: f.id }, bob.token))).toBe('NOT_FOUND');
  });

  test('beginUpload against an older baseRevision is CONFLICT with the current revision; moving onto an existing path is CONFLICT', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/base.txt', crypto.randomBytes(100));
    await uploadBytes(srv.url, alice.token, '/base.txt', crypto.randomBytes(101));
    const p = prepare(crypto.randomBytes(102), 8 * 1024 * 1024);
    const stale = await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/base.txt', p, { baseRevision: 1 }) });
    expect(codeOf(stale)).toBe('CONFLICT');
    expect(stale.errors![0].extensions.currentRevision).toBe(2);
    const fresh = await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }`, { i: beginInput('/base.txt', p, { baseRevision: 2 }) });
    expect(fresh.errors).toBeUndefined();

    await uploadBytes(srv.url, alice.token, '/other.txt', crypto.randomBytes(10));
    const moved = await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/other.txt") { id } }', { id: f.id });
    expect(codeOf(moved)).toBe('CONFLICT');
    expect((await q('query($id: ID!) { file(id: $id) { path } }', { id: f.id })).data.file.path).toBe('/base.txt');
  });

  test('deleteFile moves to the trash; restoreFile brings back the folder with its contents; CONFLICT when the path is taken', async () => {
    await uploadBytes(srv.url, alice.token, '/t/a.txt', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/t/sub/b.txt', crypto.randomBytes(11));
    const folder = (await q('{ fileByPath(path: "/t") { id } }')).data.fileByPath.id;
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folder });
    expect((await q('{ fileByPath(path: "/t") { id } }')).data.fileByPath).toBeNull();
    const trash = await q('{ trash { edges { node { id path status } } } }');
    expect(trash.data.trash.edges.map((e: any) => e.node)).toContainEqual({ id: folder, path: '/t', status: 'DELETED' });
    expect(trash.data.trash.edges.some((e: any) => e.node.path === '/t/a.txt')).toBe(false);

    const cursor = (await q('{ latestCursor }')).data.latestCursor;
    const back = await q('mutation($id: ID!) { restoreFile(id: $id) { path status } }', { id: folder });
    expect(back.data.restoreFile).toEqual({ path: '/t', status: 'AVAILABLE' });
    const list = await q('{ listFolder(path: "/t/sub") { edges { node { name } } } }');
    expect(list.data.listFolder.edges.map((e: any) => e.node.name)).toEqual(['b.txt']);
    const feed = await q('query($c: String) { changes(cursor: $c) { changes { kind path } } }', { c: cursor });
    expect(feed.data.changes.changes.map((c: any) => `${c.kind} ${c.path}`)).toEqual(['RESTORED /t', 'RESTORED /t/a.txt', 'RESTORED /t/sub', 'RESTORED /t/sub/b.txt']);

    // a deleted file whose path was reused cannot come back over the new one
    const old = await uploadBytes(srv.url, alice.token, '/clash.txt', crypto.randomBytes(12));
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: old.id });
    await uploadBytes(srv.url, alice.token, '/clash.txt', crypto.randomBytes(13));
    const clash = await q('mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: old.id });
    expect(codeOf(clash)).toBe('CONFLICT');
    expect(clash.errors![0].extensions.path).toBe('/clash.txt');
    // a file whose folder is gone comes back with a new folder
    const lone = await uploadBytes(srv.url, alice.token, '/gone/lone.txt', crypto.randomBytes(14));
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: lone.id });
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: (await q('{ fileByPath(path: "/gone") { id } }')).data.fileByPath.id });
    expect((await q('mutation($id: ID!) { restoreFile(id: $id) { path } }', { id: lone.id })).data.restoreFile.path).toBe('/gone/lone.txt');
  });

  test('restoring a folder after one of its files (which re-created it) merges the rest back in', async () => {
    const rel = await uploadBytes(srv.url, alice.token, '/m/rel.txt', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/m/small.txt', crypto.randomBytes(11));
    await uploadBytes(srv.url, alice.token, '/m/y/deep.txt', crypto.randomBytes(12));
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: rel.id });
    const folder = (await q('{ fileByPath(path: "/m") { id } }')).data.fileByPath.id;
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folder });
    expect((await q('mutation($id: ID!) { restoreFile(id: $id) { path } }', { id: rel.id })).data.restoreFile.path).toBe('/m/rel.txt');
    await uploadBytes(srv.url, alice.token, '/m/y/new.txt', crypto.randomBytes(13)); // a live /m/y too
    await uploadBytes(srv.url, alice.token, '/m/small.txt', crypto.randomBytes(14)); // and a new small.txt: it stays
    const merged = await q('mutation($id: ID!) { restoreFile(id: $id) { path status } }', { id: folder });
    expect(merged.errors).toBeUndefined();
    expect(merged.data.restoreFile).toEqual({ path: '/m', status: 'AVAILABLE' });
    const names = async (p: string) => (await q('query($p: String!) { listFolder(path: $p) { edges { node { name size } } } }', { p })).data.listFolder.edges.map((e: any) => `${e.node.name}:${e.node.size}`);
    expect(await names('/m')).toEqual(['rel.txt:10', 'small.txt:14', 'y:0']);
    expect(await names('/m/y')).toEqual(['deep.txt:12', 'new.txt:13']);
  });

  test('emptyTrash and garbage collection: a store object goes only when no revision references it', async () => {
    const carol = await signUp(srv.url);
    const bytes = crypto.randomBytes(5000);
    const a = await uploadBytes(srv.url, carol.token, '/a.bin', bytes);
    const b = await uploadBytes(srv.url, carol.token, '/b.bin', bytes); // dedup: same object
    const [ra] = await revisionsOf(a.id);
    const [rb] = await revisionsOf(b.id);
    expect(rb.storageKey).toBe(ra.storageKey);
    const trash = srv.app.services.trash;
    const later = new Date(Date.now() + 2 * 3600_000);

    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: a.id }, carol.token);
    expect((await q('mutation { emptyTrash }', {}, carol.token)).data.emptyTrash).toBe(1);
    expect(await revisionsOf(a.id)).toEqual([]);
    expect(await trash.collectGarbage(later)).toBe(0);
    expect(await objectExists(ra.storageKey)).toBe(true);
    const url = (await q('query($id: ID!) { file(id: $id) { downloadUrl } }', { id: b.id }, carol.token)).data.file.downloadUrl;
    expect(sha256(Buffer.from(await (await fetch(new URL(url, srv.url))).arrayBuffer()))).toBe(sha256(bytes));

    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: b.id }, carol.token);
    await q('mutation { emptyTrash }', {}, carol.token);
    expect(await trash.collectGarbage(new Date())).toBe(0); // grace period
    expect(await objectExists(ra.storageKey)).toBe(true);
    expect(await trash.collectGarbage(later)).toBe(1);
    expect(await objectExists(ra.storageKey)).toBe(false);
  });

  test('retention purges the trash after TRASH_RETENTION_DAYS and collects the objects', async () => {
    const dave = await signUp(srv.url);
    const f = await uploadBytes(srv.url, dave.token, '/old.bin', crypto.randomBytes(700));
    const [rev] = await revisionsOf(f.id);
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: f.id }, dave.token);
    const soon = await srv.app.services.retention.run(new Date(Date.now() + 29 * DAY));
    expect((await q('{ trash { edges { node { id } } } }', {}, dave.token)).data.trash.edges).toHaveLength(1);
    expect(soon.trashPurged).toBe(0);
    const report = await srv.app.services.retention.run(new Date(Date.now() + 31 * DAY));
    expect(report.trashPurged).toBeGreaterThanOrEqual(1);
    expect(report.objectsCollected).toBeGreaterThanOrEqual(1);
    expect((await q('{ trash { edges { node { id } } } }', {}, dave.token)).data.trash.edges).toHaveLength(0);
    expect(await objectExists(rev.storageKey)).toBe(false);
  });

  test('retention prunes revisions replaced more than REVISION_RETENTION_DAYS ago, never the current one nor a shared object', async () => {
    const eve = await signUp(srv.url);
    const [x, y, z] = [crypto.randomBytes(900), crypto.randomBytes(901), crypto.randomBytes(902)];
    const hist = await uploadBytes(srv.url, eve.token, '/hist.bin', x);
    await uploadBytes(srv.url, eve.token, '/hist.bin', y);
    await uploadBytes(srv.url, eve.token, '/hist.bin', z);
    const same = await uploadBytes(srv.url, eve.token, '/same.bin', crypto.randomBytes(903));
    await uploadBytes(srv.url, eve.token, '/same.bin', crypto.randomBytes(904));
    await uploadBytes(srv.url, eve.token, '/same.bin', x); // dedup: the object of /hist.bin revision 1
    const gone = await uploadBytes(srv.url, eve.token, '/gone.bin', crypto.randomBytes(905));
    await uploadBytes(srv.url, eve.token, '/gone.bin', crypto.randomBytes(906));
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: gone.id }, eve.token);
    // revision 1 replaced 35 days ago, revision 2 yesterday
    const age = async (fileId: string, days: number[]) => {
      for (const [i, r] of (await revisionsOf(fileId)).entries()) {
        await srv.app.services.ds.createQueryBuilder().update(FileRevision).set({ createdAt: new Date(Date.now() - days[i] * DAY) }).where('id = :id', { id: r.id }).execute();
      }
    };
    for (const f of [hist, same]) await age(f.id, [40, 35, 1]);
    await age(gone.id, [40, 35]);
    const [h1] = await revisionsOf(hist.id);
    const [s1] = await revisionsOf(same.id);
    expect((await revisionsOf(same.id))[2].storageKey).toBe(h1.storageKey);

    const report = await srv.app.services.retention.run();
    expect(report.revisionsPruned).toBe(2);
    expect((await revisionsOf(hist.id)).map((r) => r.revision)).toEqual([2, 3]);
    expect((await revisionsOf(same.id)).map((r) => r.revision)).toEqual([2, 3]);
    expect((await revisionsOf(gone.id)).map((r) => r.revision)).toEqual([1, 2]);
    const listed = await q('query($id: ID!) { file(id: $id) { revisions { revision current } } }', { id: hist.id }, eve.token);
    expect(listed.data.file.revisions).toEqual([{ revision: 3, current: true }, { revision: 2, current: false }]);
    expect(codeOf(await q('mutation($id: ID!) { restoreRevision(fileId: $id, revision: 1) { id } }', { id: hist.id }, eve.token))).toBe('NOT_FOUND');

    // after the grace period: /same.bin revision 1's object goes; /hist.bin revision 1's is /same.bin's current content, so it stays
    expect(await objectExists(s1.storageKey)).toBe(true);
    await srv.app.services.trash.collectGarbage(new Date(Date.now() + 2 * 3600_000));
    expect(await objectExists(s1.storageKey)).toBe(false);
    expect(await objectExists(h1.storageKey)).toBe(true);
    const url = (await q('query($id: ID!) { file(id: $id) { downloadUrl } }', { id: same.id }, eve.token)).data.file.downloadUrl;
    expect(sha256(Buffer.from(await (await fetch(new URL(url, srv.url))).arrayBuffer()))).toBe(sha256(x));
    expect((await srv.app.services.retention.run()).revisionsPruned).toBe(0);
  });

  test('the trash pages by keyset: no item skipped or repeated while others are restored in between', async () => {
    const frank = await signUp(srv.url);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = (await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/k${i}` }, frank.token)).data.createFolder.id;
      await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id }, frank.token); // many share a deletedAt second on MariaDB
      ids.push(id);
    }
    const page = async (after: string | null) => {
      const r = await q('query($a: String) { trash(first: 3, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', { a: after }, frank.token);
      expect(r.errors).toBeUndefined();
      return r.data.trash;
    };
    const seen: string[] = [];
    let p = await page(null);
    seen.push(...p.edges.map((e: any) => e.node.id));
    // restore something already listed: the next page must neither skip nor repeat
    await q('mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: seen[0] }, frank.token);
    while (p.pageInfo.hasNextPage) {
      p = await page(p.pageInfo.endCursor);
      seen.push(...p.edges.map((e: any) => e.node.id));
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(codeOf(await q('{ trash(after: "bm90LWEtY3Vyc29y") { edges { cursor } } }', {}, frank.token))).toBe('BAD_USER_INPUT');
  });
});
