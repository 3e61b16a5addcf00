import type { DataSource } from 'typeorm';
import { openDataSource } from '../../ormconfig';
import { Mount } from '../../src/entities';
import { MountService } from '../../src/services/mounts';
import { testDatabases } from '../helpers/db';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

/**
 * Start-up's mount backfill (shares made before mounts existed) run by two server instances at
 * once on MariaDB, each with its own connection pool (on SQLite, which one server owns, twice at
 * once in one instance), while the members create folders of the same names:
 * every share ends with exactly one mount, no two entries share a member path, both start-ups
 * succeed, and together they report each mount made once.
 */
describe.each(testDatabases)('mount backfill on %s', (db) => {
  let srv: TestServer;
  const extra: DataSource[] = [];
  beforeAll(async () => { srv = await startTestServer({ db }); });
  afterAll(async () => {
    for (const ds of extra) await ds.destroy();
    await srv?.stop();
  });

  test('two instances backfilling at once, with members creating the same names meanwhile', async () => {
    const q = (query: string, variables: Record<string, unknown>, token: string) => gql(srv.url, query, variables, token);
    const owner = await signUp(srv.url);
    const members = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
    const N = 8;
    for (let i = 0; i < N; i++) {
      const f = (await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/f${i}` }, owner.token)).data.createFolder;
      for (const m of members) {
        const r = await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f: f.id, e: m.email }, owner.token);
        expect(r.errors).toBeUndefined();
      }
    }
    // a database from before mounts: the shares are there, the mounts are not
    const ds = srv.app.services.ds;
    await ds.getRepository(Mount).delete({ ownerId: owner.userId });

    // MariaDB: two instances, each with its own pool; SQLite (one server per database file): two backfills in one instance
    const two = db === 'mariadb'
      ? [await openDataSource({ databaseUrl: srv.config.databaseUrl }), await openDataSource({ databaseUrl: srv.config.databaseUrl })]
      : [ds, ds];
    if (db === 'mariadb') extra.push(...two);
    const services = two.map((d) => new MountService(d, srv.app.services.journal));
    const creates = members.flatMap((m) => [0, 2, 5].map((i) =>
      q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/f${i}` }, m.token)));
    const [made, ...answers] = await Promise.all([Promise.all(services.map((s) => s.backfill())), ...creates]);
    // a member's createFolder either made their own folder first (the mount then took " (2)") or
    // found the mount (and created nothing, or answered CONFLICT: resolved before the mount existed)
    for (const a of answers) expect(a.errors?.[0]?.extensions.code ?? 'OK').toMatch(/^(OK|CONFLICT)$/);
    expect(made[0] + made[1]).toBe(N * members.length);
    const mounts = await ds.getRepository(Mount).findBy({ ownerId: owner.userId });
    expect(mounts).toHaveLength(N * members.length);
    expect(await treeViolations(ds)).toEqual([]);
    // a third start-up finds nothing to do
    expect(await services[0].backfill()).toBe(0);
  });
});
