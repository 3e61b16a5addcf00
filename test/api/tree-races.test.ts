import crypto from 'node:crypto';
import { Change, FileNode } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';
import { treeOps, type Outcome } from '../helpers/tree-ops';

// The three races the integrity probe reported (issue 12, item 2), each fired at once through
// real HTTP a number of times: the outcome must be one a serial order explains, and the tree
// invariants must hold after every round.
const ROUNDS = 6;

describe.each(testDatabases)('concurrent tree mutations on %s', (db) => {
  let srv: TestServer;
  let ops: ReturnType<typeof treeOps>;
  let userId: string;
  beforeAll(async () => {
    srv = await startTestServer({ db });
    const u = await signUp(srv.url);
    userId = u.userId;
    ops = treeOps(srv.url, u.token);
  });
  afterAll(async () => { await srv?.stop(); });

  const node = (id: string) => srv.app.services.ds.getRepository(FileNode).findOneByOrFail({ id });
  const ok = (o: Outcome) => { if (!o.ok) throw new Error(`setup failed: ${o.code}`); return o.node; };
  const expectInvariants = async () => expect(await treeViolations(srv.app.services.ds, [userId])).toEqual([]);

  test('moveFile and deleteFile of one node at once: never a DELETED node on a live path', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      // a folder with a child, and a file (the reported case)
      const folder = ok(await ops.createFolder(`/md${i}/dir`));
      ok(await ops.createFolder(`/md${i}/dir/child`));
      const file = ok(await ops.upload(`/md${i}/file.txt`, crypto.randomBytes(32)));
      for (const [n, target] of [[folder, `/md${i}/t`], [file, `/md${i}/tf`]] as const) {
        const [moved, deleted] = await Promise.all([ops.move(n.id, target), ops.delete(n.id)]);
        const now = await node(n.id);
        expect(deleted.ok).toBe(true);
        expect(now.status).toBe('DELETED');
        expect(now.pathKey).toBeNull();
        if (moved.ok) expect(now.path).toBe(target); // moved, then deleted
        else {
          expect(moved.code).toBe('NOT_FOUND'); // deleted first: the move finds no live node
          expect(now.path).toBe(n.path);
        }
        // the target is free again: a folder can be created there
        expect(ok(await ops.createFolder(target)).path).toBe(target);
      }
      await expectInvariants();
    }
  });

  test('moveFile(A, /B/A) and moveFile(B, /A/B) at once: no cycle, both subtrees stay reachable', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const a = ok(await ops.createFolder(`/cy${i}/A`));
      const b = ok(await ops.createFolder(`/cy${i}/B`));
      const ac = ok(await ops.createFolder(`/cy${i}/A/inA`));
      const bc = ok(await ops.createFolder(`/cy${i}/B/inB`));
      const [m1, m2] = await Promise.all([ops.move(a.id, `/cy${i}/B/A`), ops.move(b.id, `/cy${i}/A/B`)]);
      expect([m1, m2].some((m) => m.ok)).toBe(true);
      for (const m of [m1, m2]) if (!m.ok) expect(['NOT_FOUND', 'CONFLICT', 'BAD_USER_INPUT']).toContain(m.code);
      await expectInvariants();
      // every node is live and listed under a live chain of parents (the invariants check the chain)
      for (const n of [a, b, ac, bc]) expect((await node(n.id)).status).toBe('AVAILABLE');
    }
  });

  test('five moves of one node at once: they apply one after another (each MOVED starts where the previous ended)', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const folder = ok(await ops.createFolder(`/mv${i}/src`));
      const child = ok(await ops.createFolder(`/mv${i}/src/child`));
      const targets = [0, 1, 2, 3, 4].map((k) => `/mv${i}/t${k}`);
      const results = await Promise.all(targets.map((t) => ops.move(folder.id, t)));
      for (const r of results) expect(r.ok).toBe(true);
      const moves = await srv.app.services.ds.getRepository(Change).find({ where: { namespaceId: userId, fileId: folder.id, kind: 'MOVED' }, order: { seq: 'ASC' } });
      expect(moves.length).toBe(5);
      let at = folder.path;
      for (const mv of moves) {
        expect(mv.fromPath).toBe(at);
        at = mv.path;
      }
      expect(new Set(moves.map((m) => m.path))).toEqual(new Set(targets));
      expect((await node(folder.id)).path).toBe(at);
      expect((await node(child.id)).path).toBe(`${at}/child`);
      await expectInvariants();
    }
  });

  test("more concurrent writes to one owner's tree than database connections (an editor in a shared folder) all finish", async () => {
    const owner = await signUp(srv.url);
    const editor = await signUp(srv.url);
    const shared = ok(await treeOps(srv.url, owner.token).createFolder('/shared'));
    const s = await gql(srv.url, 'mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f: shared.id, e: editor.email }, owner.token);
    expect(s.errors).toBeUndefined();
    const started = Date.now();
    const made = await Promise.all(Array.from({ length: 24 }, (_, k) =>
      gql(srv.url, 'mutation($p: String!, $f: ID) { createFolder(path: $p, folderId: $f) { id path } }', { p: `/x${k}`, f: shared.id }, editor.token)));
    for (const r of made) expect(r.errors).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(15_000); // a lock holder starved of connections would wait for the lock timeout (50 s)
    expect(await treeViolations(srv.app.services.ds, [owner.userId])).toEqual([]);
  }, 120_000);
});
