import { testDatabases } from '../helpers/db';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

/**
 * A listing that shows mounts beside the member's own entries is ordered by the database, as a
 * listing without mounts is: byte order on SQLite, the column's collation on MariaDB (the test
 * databases are utf8mb4_unicode_ci: case-insensitive, so `a-mount` < `alpha` < `B-own`). Paging
 * through it with any page size yields each entry once, in the order of the whole listing —
 * also for names differing only in case (own `Team`, mount `team`) and a mount named after an
 * own folder (`docs (2)`).
 */
describe.each(testDatabases)('a listing merging mounts and own entries on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db }); });
  afterAll(async () => { await srv?.stop(); });

  test('is in the database order and pages without skipping or repeating', async () => {
    const alice = await signUp(srv.url);
    const carol = await signUp(srv.url);
    const q = (query: string, variables: Record<string, unknown>, token: string) => gql(srv.url, query, variables, token);
    const folder = async (p: string, token: string) => (await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p }, token)).data.createFolder.id as string;
    for (const name of ['B-own', 'Team', 'docs', 'alpha']) await folder(`/${name}`, carol.token);
    for (const name of ['a-mount', 'team', 'docs', 'Zed']) {
      const id = await folder(`/${name}`, alice.token);
      const r = await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: VIEWER) { id } }', { f: id, e: carol.email }, alice.token);
      expect(r.errors).toBeUndefined();
    }
    const page = async (first: number, after: string | null) =>
      (await q('query($f: Int, $a: String) { listFolder(path: "/", first: $f, after: $a) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }',
        { f: first, a: after }, carol.token)).data.listFolder;
    const whole = (await page(100, null)).edges.map((e: any) => e.node.name);
    const expected = db === 'mariadb'
      ? ['a-mount', 'alpha', 'B-own', 'docs', 'docs (2)', 'Team|team', 'Team|team', 'Zed']
      : ['B-own', 'Team', 'Zed', 'a-mount', 'alpha', 'docs', 'docs (2)', 'team'];
    expect(whole.map((n: string) => (/^team$/i.test(n) && db === 'mariadb' ? 'Team|team' : n))).toEqual(expected);
    for (const size of [1, 2, 3]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 20; i++) {
        const p = await page(size, after);
        seen.push(...p.edges.map((e: any) => e.node.name));
        if (!p.pageInfo.hasNextPage) break;
        after = p.pageInfo.endCursor;
      }
      expect({ size, seen }).toEqual({ size, seen: whole });
    }
    expect(await treeViolations(srv.app.services.ds)).toEqual([]);
  });
});
