import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

/** Paths are byte-exact (pathKey): a case-only rename is an ordinary move, on every database. */
describe.each(testDatabases)('moveFile with case-only differences on %s', (db) => {
  let srv: TestServer;
  let alice: { token: string; userId: string };
  beforeAll(async () => {
    srv = await startTestServer({ db });
    alice = await signUp(srv.url);
  });
  afterAll(async () => { await srv?.stop(); });

  const q = (query: string, variables: Record<string, unknown> = {}) => gql(srv.url, query, variables, alice.token);
  const MOVE = 'mutation($id: ID!, $to: String!) { moveFile(id: $id, toPath: $to) { id path name } }';
  const at = async (path: string) => (await q('query($p: String!) { fileByPath(path: $p) { id path } }', { p: path })).data.fileByPath;

  test('a folder and a file renamed to a case variant keep their ids; the subtree follows; the old spelling is gone', async () => {
    const inner = await uploadBytes(srv.url, alice.token, '/Docs/Inner/a.txt', crypto.randomBytes(10));
    const file = await uploadBytes(srv.url, alice.token, '/note.txt', crypto.randomBytes(10));
    const folder = await at('/Docs');

    const moved = await q(MOVE, { id: folder.id, to: '/docs' });
    expect(moved.errors).toBeUndefined();
    expect(moved.data.moveFile).toEqual({ id: folder.id, path: '/docs', name: 'docs' });
    expect(await at('/docs/Inner/a.txt')).toEqual({ id: inner.id, path: '/docs/Inner/a.txt' });
    expect(await at('/Docs')).toBeNull();
    expect(await at('/Docs/Inner/a.txt')).toBeNull();

    expect((await q(MOVE, { id: file.id, to: '/NOTE.txt' })).data.moveFile).toEqual({ id: file.id, path: '/NOTE.txt', name: 'NOTE.txt' });
    expect(await at('/note.txt')).toBeNull();
  });

  test('names differing only in case are distinct: both can exist, and moving onto the other one is CONFLICT', async () => {
    const lower = await uploadBytes(srv.url, alice.token, '/case/x.txt', crypto.randomBytes(10));
    const upper = await uploadBytes(srv.url, alice.token, '/case/X.txt', crypto.randomBytes(11));
    expect(upper.id).not.toBe(lower.id);
    expect(codeOf(await q(MOVE, { id: lower.id, to: '/case/X.txt' }))).toBe('CONFLICT');
    expect(await at('/case/x.txt')).toEqual({ id: lower.id, path: '/case/x.txt' });
  });
});
