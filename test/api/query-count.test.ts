import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { beginInput, gql, prepare, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { CountingLogger } from '../helpers/counting-logger';

const LIST = `query($p: String!) { listFolder(path: $p, first: 1000) { edges { node {
  id name size owner { id email } shares { id role user { id email } sharedBy { id } } chunks { index sha256 }
} } } }`;
const SHARED = '{ sharedWithMe(first: 1000) { edges { node { id owner { id } shares { role } chunks { sha256 } } share { role sharedBy { email } } } } }';

// DataLoaders batch owners, shares and chunks: a page of 200 costs as many SQL queries as a page of 20.
describe.each(testDatabases)('SQL queries per listing on %s', (db) => {
  const logger = new CountingLogger();
  let srv: TestServer;
  let alice: { token: string; email: string };
  let bob: { token: string; email: string };
  beforeAll(async () => {
    srv = await startTestServer({ db, dbLogger: logger });
    alice = await signUp(srv.url);
    bob = await signUp(srv.url);
    const bytes = crypto.randomBytes(100);
    await uploadBytes(srv.url, alice.token, '/seed.bin', bytes);
    const f = prepare(bytes, 8 * 1024 * 1024);
    for (const n of [20, 200]) {
      for (let i = 0; i < n; i++) {
        // the same content again completes at once (dedup): a real file with a revision and chunks
        const r = await gql(srv.url, 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { file { id } } }', { i: beginInput(`/n${n}/f${i}.bin`, f) }, alice.token);
        if (i % 4 === 0) {
          await gql(srv.url, 'mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: VIEWER) { id } }', { f: r.data.beginUpload.file.id, e: bob.email }, alice.token);
        }
      }
    }
  }, 180_000);
  afterAll(async () => { await srv?.stop(); });

  const count = async (query: string, variables: Record<string, unknown>, token: string, expected: number) => {
    logger.queries = [];
    logger.counting = true;
    const r = await gql(srv.url, query, variables, token);
    logger.counting = false;
    expect(r.errors).toBeUndefined();
    const edges = Object.values(r.data as Record<string, { edges: unknown[] }>)[0].edges;
    expect(edges).toHaveLength(expected);
    return logger.queries.length;
  };

  test('listFolder with owner, shares and chunks: same count for 20 and 200 files', async () => {
    const small = await count(LIST, { p: '/n20' }, alice.token, 20);
    const large = await count(LIST, { p: '/n200' }, alice.token, 200);
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(8);
  });

  test('sharedWithMe with owner, shares and chunks: constant too', async () => {
    const few = await count(SHARED.replace('first: 1000', 'first: 5'), {}, bob.token, 5);
    const many = await count(SHARED, {}, bob.token, 55);
    expect(many).toBe(few);
  });

  test('changes with each change\'s file, its owner and shares: same count for 20 and 200 changes', async () => {
    const feed = async (limit: number) => {
      logger.queries = [];
      logger.counting = true;
      const r = await gql(srv.url, `query($l: Int) { changes(limit: $l) { changes { kind file { id name owner { id } shares { id } } } } }`, { l: limit }, alice.token);
      logger.counting = false;
      expect(r.errors).toBeUndefined();
      expect(r.data.changes.changes).toHaveLength(limit);
      expect(r.data.changes.changes.filter((c: { file: unknown }) => c.file).length).toBeGreaterThan(limit / 2);
      return logger.queries.length;
    };
    const small = await feed(20);
    const large = await feed(200);
    expect(large).toBe(small);
  });
});
