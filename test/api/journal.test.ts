import crypto from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Change, FileNode, Share } from '../../src/entities';
import { transaction } from '../../src/services/tx';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';

const FEED = 'query($c: String) { changes(cursor: $c, limit: 1000) { cursor hasMore changes { cursor kind path fromPath revision deviceId file { id path status } } } }';

interface Account { token: string; userId: string; deviceId: string; email: string }

describe.each(testDatabases)('change journal on %s', (db) => {
  let srv: TestServer;
  let n = 0;
  beforeAll(async () => { srv = await startTestServer({ db, config: { livePollMs: 200 } }); });
  afterAll(async () => { await srv?.stop(); });

  const account = async (): Promise<Account> => {
    const email = `j${Date.now()}-${n++}@example.com`;
    const r = await gql(srv.url, 'mutation($e: String!) { signUp(email: $e, password: "correct horse battery", deviceName: "laptop") { token user { id } device { id } } }', { e: email });
    return { token: r.data.signUp.token, userId: r.data.signUp.user.id, deviceId: r.data.signUp.device.id, email };
  };
  const q = (who: Account, query: string, variables: Record<string, unknown> = {}) => gql(srv.url, query, variables, who.token);
  const feed = async (who: Account, cursor: string | null) => {
    const r = await q(who, FEED, { c: cursor });
    if (r.errors) throw Object.assign(new Error(r.errors[0].message), { code: codeOf(r) });
    return r.data.changes as { cursor: string; hasMore: boolean; changes: any[] };
  };
  const brief = (changes: any[]) => changes.map((c) => `${c.kind} ${c.path}`);
  const latest = async (who: Account) => (await q(who, '{ latestCursor }')).data.latestCursor as string;
  const folder = async (who: Account, path: string) => (await q(who, 'mutation($p: String!) { createFolder(path: $p) { id } }', { p: path })).data.createFolder.id as string;

  /** What the sharing service does: the share row and its SHARED/UNSHARED entry in one transaction. */
  const share = async (owner: Account, fileId: string, grantee: Account) => {
    const changes = await transaction(srv.app.services.ds, async (m) => {
      const file = await m.findOneByOrFail(FileNode, { id: fileId });
      await m.save(m.create(Share, { fileId, ownerId: owner.userId, userId: grantee.userId, role: 'VIEWER' }));
      return [await srv.app.services.journal.append(m, { kind: 'SHARED', file, deviceId: owner.deviceId, subjectUserId: grantee.userId })];
    });
    await srv.app.services.journal.notify(changes);
  };
  const unshare = async (owner: Account, fileId: string, grantee: Account) => {
    const changes = await transaction(srv.app.services.ds, async (m) => {
      const file = await m.findOneByOrFail(FileNode, { id: fileId });
      await m.delete(Share, { fileId, userId: grantee.userId });
      return [await srv.app.services.journal.append(m, { kind: 'UNSHARED', file, deviceId: owner.deviceId, subjectUserId: grantee.userId })];
    });
    await srv.app.services.journal.notify(changes);
  };

  test('cursor null replays from the beginning; latestCursor starts from now; every kind carries its device', async () => {
    const alice = await account();
    expect((await feed(alice, null)).changes).toEqual([]);
    await folder(alice, '/a/b');
    const f = await uploadBytes(srv.url, alice.token, '/a/b/x.txt', crypto.randomBytes(100));
    const mark = await latest(alice);
    await uploadBytes(srv.url, alice.token, '/a/b/x.txt', crypto.randomBytes(200));
    await q(alice, 'mutation($id: ID!) { moveFile(id: $id, toPath: "/a/y.txt") { id } }', { id: f.id });
    await q(alice, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: f.id });

    const all = await feed(alice, null);
    expect(brief(all.changes)).toEqual(['CREATED /a', 'CREATED /a/b', 'CREATED /a/b/x.txt', 'UPDATED /a/b/x.txt', 'MOVED /a/y.txt', 'DELETED /a/y.txt']);
    expect(all.changes.every((c) => c.deviceId === alice.deviceId)).toBe(true);
    expect(all.changes[3].revision).toBe(2);
    expect(all.changes[4].fromPath).toBe('/a/b/x.txt');
    // the owner still sees a trashed file; `file` is the file as it is now
    expect(all.changes[5].file).toMatchObject({ id: f.id, status: 'DELETED' });
    expect(brief((await feed(alice, mark)).changes)).toEqual(['UPDATED /a/b/x.txt', 'MOVED /a/y.txt', 'DELETED /a/y.txt']);
    // resuming from any entry's cursor gives exactly what follows it
    const resumed = await feed(alice, all.changes[2].cursor);
    expect(brief(resumed.changes)).toEqual(brief(all.changes.slice(3)));
    expect((await feed(alice, all.cursor)).changes).toEqual([]);
    expect(codeOf(await q(alice, FEED, { c: 'not-a-cursor' }))).toBe('BAD_USER_INPUT');
  });

  test("a shared folder appears in the grantee's feed, its changes follow, and it goes away when unshared", async () => {
    const alice = await account();
    const bob = await account();
    const proj = await folder(alice, '/proj/sub');
    const projId = (await q(alice, '{ fileByPath(path: "/proj") { id } }')).data.fileByPath.id;
    expect(proj).not.toBe(projId);
    await uploadBytes(srv.url, alice.token, '/proj/a.txt', crypto.randomBytes(10));
    await uploadBytes(srv.url, alice.token, '/proj/sub/b.txt', crypto.randomBytes(11));
    await uploadBytes(srv.url, alice.token, '/private.txt', crypto.randomBytes(12));
    const start = await latest(bob);

    await share(alice, projId, bob);
    let page = await feed(bob, start);
    expect(brief(page.changes)).toEqual(['SHARED /proj', 'SHARED /proj/a.txt', 'SHARED /proj/sub', 'SHARED /proj/sub/b.txt']);
    expect(page.changes[1].file).toMatchObject({ path: '/proj/a.txt', status: 'AVAILABLE' });
    expect(page.changes.every((c) => c.deviceId === alice.deviceId)).toBe(true);

    // changes inside follow; changes elsewhere in Alice's tree do not
    const c = await uploadBytes(srv.url, alice.token, '/proj/c.txt', crypto.randomBytes(13));
    await uploadBytes(srv.url, alice.token, '/private.txt', crypto.randomBytes(14));
    await folder(alice, '/elsewhere');
    await q(alice, 'mutation($id: ID!) { moveFile(id: $id, toPath: "/elsewhere/c.txt") { id } }', { id: c.id });
    const d = await uploadBytes(srv.url, alice.token, '/elsewhere/d.txt', crypto.randomBytes(15));
    await q(alice, 'mutation($id: ID!) { moveFile(id: $id, toPath: "/proj/sub/d.txt") { id } }', { id: d.id });
    page = await feed(bob, page.cursor);
    expect(brief(page.changes)).toEqual(['CREATED /proj/c.txt', 'UNSHARED /proj/c.txt', 'SHARED /proj/sub/d.txt']);
    expect(page.changes[1].file).toBeNull();

    // a share from the beginning: Bob's null cursor shows exactly what he can see
    const everything = await feed(bob, null);
    expect(everything.changes.some((ch) => ch.path.startsWith('/private') || ch.path.startsWith('/elsewhere'))).toBe(false);

    await unshare(alice, projId, bob);
    page = await feed(bob, page.cursor);
    expect(brief(page.changes)).toEqual(['UNSHARED /proj/sub/d.txt', 'UNSHARED /proj/sub/b.txt', 'UNSHARED /proj/sub', 'UNSHARED /proj/a.txt', 'UNSHARED /proj']);
    expect(page.changes.every((ch) => ch.file === null)).toBe(true);
    await uploadBytes(srv.url, alice.token, '/proj/later.txt', crypto.randomBytes(16));
    expect((await feed(bob, page.cursor)).changes).toEqual([]);
    // Alice's own feed records her sharing
    expect(brief((await feed(alice, null)).changes).filter((s) => /SHARED/.test(s))).toEqual(['SHARED /proj', 'UNSHARED /proj']);
  });

  test('a cursor older than retention gets RESET; latestCursor and newer cursors keep working', async () => {
    const alice = await account();
    await folder(alice, '/old1');
    const early = (await feed(alice, null)).cursor;
    await folder(alice, '/old2');
    const mid = (await feed(alice, null)).cursor;
    await srv.app.services.ds.getRepository(Change).update({ namespaceId: alice.userId }, { at: new Date(Date.now() - 400 * 86400_000) });
    await folder(alice, '/new');
    const pruned = await srv.app.services.journal.prune(new Date(Date.now() - 180 * 86400_000));
    expect(pruned).toBeGreaterThanOrEqual(2);
    for (const c of [early, null]) {
      const r = await q(alice, FEED, { c });
      expect(codeOf(r)).toBe('RESET');
    }
    expect(brief((await feed(alice, mid)).changes)).toEqual(['CREATED /new']);
    const now = await latest(alice);
    await folder(alice, '/newer');
    expect(brief((await feed(alice, now)).changes)).toEqual(['CREATED /newer']);
  });

  describe('the changes subscription (graphql-ws)', () => {
    const clients: Client[] = [];
    afterAll(async () => { await Promise.all(clients.map((c) => c.dispose())); });
    const connect = (token: string | null) => {
      const c = createClient({ url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: token ? { authorization: `Bearer ${token}` } : {}, retryAttempts: 0, lazy: true });
      clients.push(c);
      return c;
    };
    const follow = (c: Client, cursor: string | null) => {
      const got: any[] = [];
      const errors: any[] = [];
      let completed = false;
      c.subscribe({ query: 'subscription($c: String) { changes(cursor: $c) { kind path cursor } }', variables: { c: cursor } }, {
        next: (v) => { if (v.errors) errors.push(...v.errors); if (v.data) got.push(v.data.changes); },
        error: (e) => { errors.push(e); },
        complete: () => { completed = true; },
      });
      return { got, errors, done: () => completed };
    };

    test('replays after the cursor, then streams live, in order, without a gap or a repeat', async () => {
      const alice = await account();
      await folder(alice, '/r1');
      await folder(alice, '/r2');
      const first = (await feed(alice, null)).changes[0].cursor;
      const sub = follow(connect(alice.token), first);
      await until(() => sub.got.length >= 1);
      // writes racing the switch from replay to live
      await Promise.all(Array.from({ length: 10 }, (_, i) => folder(alice, `/live/${i}`)));
      await until(() => sub.got.length >= 12);
      await new Promise((r) => setTimeout(r, 300));
      const journal = await feed(alice, first);
      expect(sub.got.map((c) => c.cursor)).toEqual(journal.changes.map((c) => c.cursor));
      expect(sub.got[0].path).toBe('/r2');
    });

    test('unauthenticated is refused; a revoked device stops delivery', async () => {
      const anon = follow(connect(null), null);
      await until(() => anon.errors.length > 0);
      expect(JSON.stringify(anon.errors)).toContain('UNAUTHENTICATED');

      const alice = await account();
      const sub = follow(connect(alice.token), await latest(alice));
      await folder(alice, '/before');
      await until(() => sub.got.length === 1);
      await srv.app.services.auth.revokeDevice(alice.userId, alice.deviceId);
      await until(() => sub.done());
      expect(JSON.stringify(sub.errors)).toContain('UNAUTHENTICATED');
      await srv.app.services.files.createFolder(alice.userId, null, '/after');
      await new Promise((r) => setTimeout(r, 400));
      expect(sub.got.map((c) => c.path)).toEqual(['/before']);
    });

    test('a subscription with a pruned cursor ends with RESET', async () => {
      const alice = await account();
      await folder(alice, '/p1');
      await srv.app.services.ds.getRepository(Change).update({ namespaceId: alice.userId }, { at: new Date(Date.now() - 400 * 86400_000) });
      await folder(alice, '/p2');
      await srv.app.services.journal.prune(new Date(Date.now() - 180 * 86400_000));
      const sub = follow(connect(alice.token), null);
      await until(() => sub.errors.length > 0);
      expect(JSON.stringify(sub.errors)).toContain('RESET');
    });
  });
});
