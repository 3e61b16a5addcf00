import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The preconditions a sync client sends (issue 13): moveFile's baseRevision and deleteFile's
 * ifUnchangedSince (a change-feed cursor). A refused call is CONFLICT and changes nothing.
 */
describe.each(testDatabases)('sync preconditions on moveFile / deleteFile on %s', (db) => {
  let srv: TestServer;
  let alice: { token: string; userId: string };
  beforeAll(async () => {
    srv = await startTestServer({ db });
    alice = await signUp(srv.url);
  });
  afterAll(async () => { await srv?.stop(); });

  const q = (query: string, variables: Record<string, unknown> = {}) => gql(srv.url, query, variables, alice.token);
  const MOVE = 'mutation($id: ID!, $to: String!, $rev: Int) { moveFile(id: $id, toPath: $to, baseRevision: $rev) { id path revision } }';
  const DELETE = 'mutation($id: ID!, $since: String) { deleteFile(id: $id, ifUnchangedSince: $since) { id status } }';
  const at = async (path: string) => (await q('query($p: String!) { fileByPath(path: $p) { id path status revision } }', { p: path })).data.fileByPath;
  const cursor = async () => (await q('{ latestCursor }')).data.latestCursor as string;

  test('moveFile with baseRevision: CONFLICT (nothing moves) once the file has a newer revision; the current one moves', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/m/a.txt', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/m/a.txt', crypto.randomBytes(12));
    const refused = await q(MOVE, { id: f.id, to: '/m/b.txt', rev: 1 });
    expect(codeOf(refused)).toBe('CONFLICT');
    expect(refused.errors![0].extensions.currentRevision).toBe(2);
    expect(await at('/m/a.txt')).toMatchObject({ id: f.id, revision: 2 });
    expect(await at('/m/b.txt')).toBeNull();
    expect((await q(MOVE, { id: f.id, to: '/m/b.txt', rev: 2 })).data.moveFile).toEqual({ id: f.id, path: '/m/b.txt', revision: 2 });
    // without the argument, as before
    expect((await q(MOVE, { id: f.id, to: '/m/c.txt' })).data.moveFile.path).toBe('/m/c.txt');
  });

  test('deleteFile with ifUnchangedSince: an edit, a new file or a move into the folder after the cursor is CONFLICT; nothing is deleted', async () => {
    await uploadBytes(srv.url, alice.token, '/y/X', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/y/deep/Z', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/elsewhere.txt', crypto.randomBytes(10));
    const folder = await at('/y');
    const changes: [string, () => Promise<unknown>][] = [
      ['an edit deep inside', () => uploadBytes(srv.url, alice.token, '/y/deep/Z', crypto.randomBytes(11))],
      ['a new file', () => uploadBytes(srv.url, alice.token, '/y/new.txt', crypto.randomBytes(3))],
      ['a move into it', async () => q(MOVE, { id: (await at('/elsewhere.txt')).id, to: '/y/moved.txt' })],
    ];
    for (const [what, change] of changes) {
      const seen = await cursor();
      await change();
      const refused = await q(DELETE, { id: folder.id, since: seen });
      expect([what, codeOf(refused)]).toEqual([what, 'CONFLICT']);
      expect(await at('/y')).toMatchObject({ status: 'AVAILABLE' });
    }
    expect(await at('/y/deep/Z')).toMatchObject({ revision: 2 });
    // changes outside the folder, or a file moved out of it, do not stand in the way
    const seen = await cursor();
    await uploadBytes(srv.url, alice.token, '/outside.txt', crypto.randomBytes(4));
    await q(MOVE, { id: (await at('/y/moved.txt')).id, to: '/moved-out.txt' });
    expect((await q(DELETE, { id: folder.id, since: seen })).data.deleteFile).toEqual({ id: folder.id, status: 'DELETED' });
    expect(await at('/moved-out.txt')).not.toBeNull();
  });

  test('deleteFile with a malformed cursor is BAD_USER_INPUT and deletes nothing', async () => {
    await uploadBytes(srv.url, alice.token, '/bad/f', crypto.randomBytes(5));
    const folder = await at('/bad');
    expect(codeOf(await q(DELETE, { id: folder.id, since: 'not a cursor' }))).toBe('BAD_USER_INPUT');
    expect(await at('/bad/f')).toMatchObject({ status: 'AVAILABLE' });
  });
});
