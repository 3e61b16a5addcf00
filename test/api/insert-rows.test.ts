import crypto from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Chunk, FileNode, FileRevision, UploadPart, UploadSession } from '../../src/entities';
import { insertRows } from '../../src/services/sql-rows';
import { testDatabases } from '../helpers/db';
import { signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// insertRows (the batch paths' plain multi-row INSERT) writes exactly the rows TypeORM's query
// builder writes for the same entities: dates, booleans, bigints, NULLs and defaults of unset columns.

describe.each(testDatabases)('insertRows on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db }); }, 120_000);
  afterAll(() => srv?.stop());

  /** One file's rows (a folder, a file, its revision and chunk, a session and its part), with fresh ids. */
  function rowsFor(m: EntityManager, ownerId: string) {
    const at = new Date('2026-12-08T03:04:05.678Z');
    const folder = m.create(FileNode, { id: crypto.randomUUID(), ownerId, path: '/d', pathKey: 'k-d', parentKey: 'k-root', name: 'd', isFolder: true,
      contentHash: null, status: 'AVAILABLE', currentRevisionId: null, deletedAt: null, trashedWithId: null, createdAt: at, updatedAt: at }); // size, revision, mimeType unset
    const revisionId = crypto.randomUUID();
    const file = m.create(FileNode, { id: crypto.randomUUID(), ownerId, path: '/d/f ü.bin', pathKey: 'k-f', parentKey: 'k-d', name: 'f ü.bin', isFolder: false,
      size: 2 ** 40 + 3, mimeType: 'application/octet-stream', contentHash: 'ab'.repeat(32), status: 'AVAILABLE', revision: 1, currentRevisionId: revisionId,
      deletedAt: new Date('2027-01-02T00:00:00.001Z'), trashedWithId: null, createdAt: at, updatedAt: at });
    const revision = m.create(FileRevision, { id: revisionId, fileId: file.id, ownerId, revision: 1, size: 2 ** 40 + 3, contentHash: 'ab'.repeat(32),
      storageKey: `u/${ownerId}/b/x/y`, partSize: 8 * 2 ** 20, mimeType: null, deviceId: null, createdAt: at });
    const chunk = m.create(Chunk, { revisionId, index: 0, offset: 0, size: 2 ** 40 + 3, sha256: 'cd'.repeat(32), etag: 'e'.repeat(32), createdAt: at });
    const sessionId = crypto.randomUUID();
    const session = m.create(UploadSession, { id: sessionId, ownerId, uploaderId: ownerId, deviceId: null, path: '/d/f ü.bin', pathKey: 'k-f', size: 5, partSize: 0,
      contentHash: 'ef'.repeat(32), mimeType: null, status: 'ACTIVE', storageKey: `u/${ownerId}/b/x/${sessionId}`, storageUploadId: null, singlePut: true,
      baseRevision: null, fileId: null, expiresAt: new Date('2026-12-09T00:00:00Z'), reservedBytes: 5, createdAt: at, updatedAt: at });
    const part = m.create(UploadPart, { sessionId, partNumber: 1, offset: 0, size: 5, sha256: '01'.repeat(32), md5: null, status: 'PENDING', etag: null, updatedAt: at });
    return { nodes: [folder, file], revisions: [revision], chunks: [chunk], sessions: [session], parts: [part] };
  }

  it('writes the rows the query builder writes', async () => {
    const ds = srv.app.services.ds;
    const [a, b] = [(await signUp(srv.url)).userId, (await signUp(srv.url)).userId];
    const ids = new Map<string, string>();
    await ds.transaction(async (m) => {
      const viaBuilder = rowsFor(m, a);
      const viaRaw = rowsFor(m, b);
      const same = (x: { id?: string }[], y: { id?: string }[]) => x.forEach((r, i) => ids.set(r.id ?? '', y[i].id ?? ''));
      same(viaBuilder.nodes, viaRaw.nodes);
      same(viaBuilder.revisions, viaRaw.revisions);
      same(viaBuilder.sessions, viaRaw.sessions);
      for (const [entity, key] of [[FileNode, 'nodes'], [FileRevision, 'revisions'], [Chunk, 'chunks'], [UploadSession, 'sessions'], [UploadPart, 'parts']] as const) {
        await m.createQueryBuilder().insert().into(entity).values(viaBuilder[key] as never).updateEntity(false).execute();
        await insertRows(m, entity as never, viaRaw[key] as never[]);
      }
    });
    // every column equal once b's user and ids are read as a's
    const back = new Map([...ids].map(([x, y]) => [y, x]));
    const unify = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => {
      if (typeof v !== 'string') return [k, v];
      let s = v.replaceAll(b, a);
      for (const [y, x] of back) s = s.replaceAll(y, x);
      return [k, s];
    }));
    for (const [table, owner] of [['files', 'ownerId'], ['file_revisions', 'ownerId'], ['upload_sessions', 'ownerId']] as const) {
      const rows = async (u: string) => (await ds.query(`SELECT * FROM ${table} WHERE ${owner} = ? ORDER BY ${table === 'file_revisions' ? 'revision' : 'path'}`, [u])).map(unify);
      const [x, y] = [await rows(a), await rows(b)];
      expect(x.length).toBeGreaterThan(0);
      expect(y).toEqual(x);
    }
    const chunk = async (u: string) => (await ds.query('SELECT c.* FROM chunks c JOIN file_revisions r ON r.id = c.revisionId WHERE r.ownerId = ?', [u])).map(unify);
    expect(await chunk(b)).toEqual(await chunk(a));
    const part = async (u: string) => (await ds.query('SELECT p.* FROM upload_parts p JOIN upload_sessions s ON s.id = p.sessionId WHERE s.ownerId = ?', [u])).map(unify);
    expect(await part(b)).toEqual(await part(a));
    expect((await part(a)).length).toBe(1);
  });
});
