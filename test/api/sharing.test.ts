import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, putPart, sha256, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

type Who = { token: string; userId: string; email: string };
const MiB = 1024 * 1024;

describe.each(testDatabases)('sharing on %s', (db) => {
  let srv: TestServer;
  let alice: Who, bob: Who, carol: Who, dave: Who;
  let folder: { id: string };
  let doc: { id: string };
  const bytes = crypto.randomBytes(3000);

  beforeAll(async () => {
    srv = await startTestServer({ db, config: { defaultQuotaBytes: 10 * MiB, linkPasswordMaxFailures: 3, signInMaxFailures: 3, maxQueryDepth: 8 } });
    [alice, bob, carol, dave] = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
    doc = await uploadBytes(srv.url, alice.token, '/team/doc.bin', bytes);
    folder = (await q('{ fileByPath(path: "/team") { id } }')).data.fileByPath;
  });
  afterAll(async () => { await srv?.stop(); });

  const q = (query: string, variables: Record<string, unknown> = {}, who: Who | null = alice) => gql(srv.url, query, variables, who?.token);
  const share = (fileId: string, email: string, role: string, who: Who = alice) =>
    q('mutation($f: ID!, $e: String!, $r: ShareRole!) { shareFile(fileId: $f, email: $e, role: $r) { id role createdAt user { id email } sharedBy { id } file { id path } } }', { f: fileId, e: email, r: role }, who);
  const FILE = 'query($id: ID!) { file(id: $id) { id path downloadUrl chunks { sha256 } owner { id } } }';
  const LIST = 'query($id: ID!) { listFolderById(id: $id) { edges { node { name path } } } }';

  test('a folder shared with a viewer and an editor: sharedWithMe, read by id, download, list, later additions', async () => {
    const s = await share(folder.id, bob.email.toUpperCase(), 'EDITOR');
    expect(s.errors).toBeUndefined();
    expect(s.data.shareFile).toMatchObject({ role: 'EDITOR', user: { id: bob.userId }, sharedBy: { id: alice.userId }, file: { id: folder.id, path: '/team' } });
    expect((await share(folder.id, carol.email, 'VIEWER')).data.shareFile.role).toBe('VIEWER');

    const mine = await q('{ sharedWithMe { edges { node { id name owner { id } } share { role sharedBy { email } } } pageInfo { hasNextPage } } }', {}, carol);
    expect(mine.data.sharedWithMe.edges).toEqual([{ node: { id: folder.id, name: 'team', owner: { id: alice.userId } }, share: { role: 'VIEWER', sharedBy: { email: alice.email } } }]);

    for (const who of [bob, carol]) {
      const f = (await q(FILE, { id: doc.id }, who)).data.file;
      expect(f).toMatchObject({ id: doc.id, path: '/team/doc.bin', owner: { id: alice.userId } });
      expect(f.chunks).toHaveLength(1);
      const got = Buffer.from(await (await fetch(new URL(f.downloadUrl, srv.url))).arrayBuffer());
      expect(sha256(got)).toBe(sha256(bytes));
    }
    const later = await uploadBytes(srv.url, alice.token, '/team/sub/later.txt', Buffer.from('added after sharing'));
    expect((await q(FILE, { id: later.id }, carol)).data.file.path).toBe('/team/sub/later.txt');
    const listed = await q(LIST, { id: folder.id }, carol);
    expect(listed.data.listFolderById.edges.map((e: any) => e.node.name)).toEqual(['doc.bin', 'sub']);

    // strangers see nothing, and never FORBIDDEN
    expect((await q(FILE, { id: doc.id }, dave)).data.file).toBeNull();
    expect(codeOf(await q(LIST, { id: folder.id }, dave))).toBe('NOT_FOUND');
    expect((await q('{ sharedWithMe { edges { cursor } } }', {}, dave)).data.sharedWithMe.edges).toEqual([]);
  });

  test('File.shares: the owner sees all, a grantee only their own; sharing again changes the role', async () => {
    const all = (await q('query($id: ID!) { file(id: $id) { shares { role user { id } } } }', { id: folder.id })).data.file.shares;
    expect(all.map((s: any) => s.user.id).sort()).toEqual([bob.userId, carol.userId].sort());
    const own = (await q('query($id: ID!) { file(id: $id) { shares { user { id } } } }', { id: folder.id }, carol)).data.file.shares;
    expect(own).toEqual([{ user: { id: carol.userId } }]);
    const again = await share(folder.id, carol.email, 'VIEWER');
    expect(again.data.shareFile.role).toBe('VIEWER');
  });

  test('viewer writes are FORBIDDEN; an editor creates, uploads, moves and deletes inside; moving the shared folder moves the editor mount', async () => {
    const mkdir = 'mutation($p: String!, $f: ID) { createFolder(path: $p, folderId: $f) { id path owner { id } } }';
    expect(codeOf(await q(mkdir, { p: '/x', f: folder.id }, carol))).toBe('FORBIDDEN');
    expect(codeOf(await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: doc.id }, carol))).toBe('FORBIDDEN');
    expect(codeOf(await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/team/y.bin") { id } }', { id: doc.id }, carol))).toBe('FORBIDDEN');
    expect(codeOf(await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: VIEWER) { id } }', { f: folder.id, e: dave.email }, carol))).toBe('FORBIDDEN');

    const made = await q(mkdir, { p: '/by-bob', f: folder.id }, bob);
    expect(made.data.createFolder).toMatchObject({ path: '/team/by-bob', owner: { id: alice.userId } });

    // an upload into the shared folder lands in alice's tree; the session is bob's
    const content = crypto.randomBytes(500);
    const p = prepare(content, 8 * MiB);
    const begun = await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/by-bob/new.bin', p, { folderId: folder.id }) }, bob);
    expect(begun.errors).toBeUndefined();
    const session = begun.data.beginUpload;
    expect(session.status).toBe('ACTIVE');
    expect(codeOf(await q('mutation($s: ID!) { completeUpload(sessionId: $s) { id } }', { s: session.id }, alice))).toBe('NOT_FOUND');
    expect((await putPart(srv.url, session.parts[0], p.parts[0].bytes)).status).toBe(200);
    const done = await q('mutation($s: ID!) { completeUpload(sessionId: $s) { id path owner { id } } }', { s: session.id }, bob);
    expect(done.data.completeUpload).toMatchObject({ path: '/team/by-bob/new.bin', owner: { id: alice.userId } });
    expect((await q('{ fileByPath(path: "/team/by-bob/new.bin") { id } }')).data.fileByPath.id).toBe(done.data.completeUpload.id);

    // a viewer cannot upload there
    expect(codeOf(await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }`, { i: beginInput('/v.bin', p, { folderId: folder.id }) }, carol))).toBe('FORBIDDEN');
    // a new revision of a shared file by the editor, via the folder
    const rev2 = await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id status } }`, { i: beginInput('/doc.bin', prepare(crypto.randomBytes(10), 8 * MiB), { folderId: folder.id, baseRevision: 1 }) }, bob);
    expect(rev2.errors).toBeUndefined();

    const id = done.data.completeUpload.id;
    const mv = await q('mutation($id: ID!, $f: ID!) { moveFile(id: $id, toPath: "/moved.bin", folderId: $f) { path } }', { id, f: folder.id }, bob);
    expect(mv.data.moveFile.path).toBe('/team/moved.bin');
    // toPath is in bob's own tree: moving out of the mount into it is refused (nothing is copied), and alice's tree is never reached
    expect(codeOf(await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/private/stolen.bin") { path } }', { id }, bob))).toBe('BAD_USER_INPUT');
    expect((await q('query($id: ID!) { file(id: $id) { path } }', { id })).data.file.path).toBe('/team/moved.bin');
    // moving the shared folder itself moves bob's mount only
    expect((await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/elsewhere") { path } }', { id: folder.id }, bob)).data.moveFile.path).toBe('/elsewhere');
    expect((await q('query($id: ID!) { file(id: $id) { path } }', { id: folder.id })).data.file.path).toBe('/team');
    expect((await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/team") { path } }', { id: folder.id }, bob)).data.moveFile.path).toBe('/team');
    expect((await q('mutation($id: ID!) { deleteFile(id: $id) { status } }', { id }, bob)).data.deleteFile.status).toBe('DELETED');
  });

  test('unknown email, sharing with the owner, strangers sharing', async () => {
    const unknown = await share(folder.id, 'nobody@example.com', 'VIEWER');
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    expect(unknown.errors![0].extensions.reason).toBe('USER_NOT_FOUND');
    expect(codeOf(await share(folder.id, alice.email, 'VIEWER'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await share(folder.id, dave.email, 'VIEWER', dave))).toBe('NOT_FOUND');
  });

  test('SHARED and UNSHARED are journaled in the owner\'s feed', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/journaled.txt', Buffer.from('j'));
    const cursor = (await q('{ latestCursor }')).data.latestCursor;
    const s = (await share(f.id, dave.email, 'VIEWER')).data.shareFile;
    expect((await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: s.id })).data.unshare).toBe(true);
    const changes = (await q('query($c: String) { changes(cursor: $c) { changes { kind fileId } } }', { c: cursor })).data.changes.changes;
    expect(changes).toEqual([{ kind: 'SHARED', fileId: f.id }, { kind: 'UNSHARED', fileId: f.id }]);
  });

  test('revoking takes effect at once: no read, no new download URL, no upload completion', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/revoke/r.txt', Buffer.from('revocable'));
    const fold = (await q('{ fileByPath(path: "/revoke") { id } }')).data.fileByPath;
    const s = (await share(fold.id, dave.email, 'EDITOR')).data.shareFile;
    expect((await q(FILE, { id: f.id }, dave)).data.file.downloadUrl).toBeTruthy();
    const p = prepare(Buffer.from('pending'), 8 * MiB);
    const pending = (await q(`mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/p.txt', p, { folderId: fold.id }) }, dave)).data.beginUpload;
    await putPart(srv.url, pending.parts[0], p.parts[0].bytes);

    expect((await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: s.id })).data.unshare).toBe(true);
    expect((await q(FILE, { id: f.id }, dave)).data.file).toBeNull();
    expect(codeOf(await q(LIST, { id: fold.id }, dave))).toBe('NOT_FOUND');
    expect(codeOf(await q('mutation($s: ID!) { completeUpload(sessionId: $s) { id } }', { s: pending.id }, dave))).toBe('NOT_FOUND');
    expect(codeOf(await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: s.id }))).toBe('NOT_FOUND');
  });

  test('a grantee may leave a share; others may not remove it', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/leave.txt', Buffer.from('l'));
    const s = (await share(f.id, dave.email, 'VIEWER')).data.shareFile;
    expect(codeOf(await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: s.id }, carol))).toBe('NOT_FOUND');
    expect((await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: s.id }, dave)).data.unshare).toBe(true);
    expect((await q(FILE, { id: f.id }, dave)).data.file).toBeNull();
  });

  describe('public links', () => {
    const CREATE = 'mutation($f: ID!, $x: DateTime, $p: String) { createShareLink(fileId: $f, expiresAt: $x, password: $p) { id url hasPassword expiresAt file { id } } }';
    const open = (url: string, init: RequestInit = {}) => fetch(new URL(url, srv.url), { redirect: 'manual', ...init });

    test('a link redirects to a short-lived signed URL of the bytes; revoked is 404', async () => {
      const link = (await q(CREATE, { f: doc.id })).data.createShareLink;
      expect(link.url).toBe(`${srv.url}${new URL(link.url).pathname}`); // absolute, from the request's Host
      expect(new URL(link.url).pathname).toMatch(/^\/s\/[A-Za-z0-9_-]{43}$/);
      expect(link.hasPassword).toBe(false);
      const res = await open(link.url);
      expect(res.status).toBe(302);
      const target = new URL(res.headers.get('location')!, srv.url);
      const got = Buffer.from(await (await fetch(target)).arrayBuffer());
      expect(got.length).toBeGreaterThan(0);
      const listed = (await q('query($id: ID!) { file(id: $id) { shareLinks { id url } } }', { id: doc.id })).data.file.shareLinks;
      expect(listed).toContainEqual({ id: link.id, url: null });
      expect((await q('query($id: ID!) { file(id: $id) { shareLinks { id } } }', { id: doc.id }, bob)).data.file.shareLinks).toEqual([]);
      expect(codeOf(await q('mutation($id: ID!) { revokeShareLink(id: $id) }', { id: link.id }, bob))).toBe('NOT_FOUND');
      expect((await q('mutation($id: ID!) { revokeShareLink(id: $id) }', { id: link.id })).data.revokeShareLink).toBe(true);
      expect((await open(link.url)).status).toBe(404);
      expect((await open('/s/' + 'A'.repeat(43))).status).toBe(404);
    });

    test('only the owner creates links (folders too: see share-link-folders.test.ts), not in the past', async () => {
      expect(codeOf(await q(CREATE, { f: doc.id }, bob))).toBe('FORBIDDEN');
      expect(codeOf(await q(CREATE, { f: doc.id }, dave))).toBe('NOT_FOUND');
      expect(codeOf(await q(CREATE, { f: doc.id, x: new Date(Date.now() - 1000).toISOString() }))).toBe('BAD_USER_INPUT');
    });

    test('an expired link is 410', async () => {
      const link = (await q(CREATE, { f: doc.id, x: new Date(Date.now() + 1500).toISOString() })).data.createShareLink;
      expect((await open(link.url)).status).toBe(302);
      await new Promise((r) => setTimeout(r, 1700));
      expect((await open(link.url)).status).toBe(410);
    });

    test('password: required, wrong, right (header, query, form); wrong ones are rate limited', async () => {
      const link = (await q(CREATE, { f: doc.id, p: 'open sesame' })).data.createShareLink;
      expect(link.hasPassword).toBe(true);
      expect((await open(link.url)).status).toBe(401);
      expect((await open(link.url, { headers: { 'x-share-password': 'open sesame' } })).status).toBe(302);
      expect((await open(`${link.url}?password=${encodeURIComponent('open sesame')}`)).status).toBe(302);
      const form = await open(link.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=open+sesame' });
      expect(form.status).toBe(302);
      for (let i = 0; i < 3; i++) expect((await open(link.url, { headers: { 'x-share-password': 'guess' + i } })).status).toBe(403);
      const limited = await open(link.url, { headers: { 'x-share-password': 'open sesame' } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  test('quota: beginUpload beyond it is PAYLOAD_TOO_LARGE; me.usage counts live files', async () => {
    const before = (await q('{ me { usage quotaBytes } }', {}, carol)).data.me;
    expect(before).toEqual({ usage: '0', quotaBytes: String(10 * MiB) });
    await uploadBytes(srv.url, carol.token, '/one.bin', Buffer.alloc(1000, 1));
    expect((await q('{ me { usage } }', {}, carol)).data.me.usage).toBe('1000');
    const big = prepare(crypto.randomBytes(10 * MiB), 8 * MiB);
    const r = await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', { i: beginInput('/big.bin', big) }, carol);
    expect(codeOf(r)).toBe('PAYLOAD_TOO_LARGE');
    // other users' usage is not visible
    const owner = (await q('query($id: ID!) { file(id: $id) { owner { usage } } }', { id: doc.id }, carol)).data.file.owner;
    expect(owner.usage).toBeNull();
  });

  test('signIn: wrong passwords are rate limited per email', async () => {
    const SIGNIN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';
    for (let i = 0; i < 3; i++) expect(codeOf(await gql(srv.url, SIGNIN, { e: dave.email, p: 'wrong password' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(srv.url, SIGNIN, { e: dave.email, p: 'correct horse battery' }))).toBe('RATE_LIMITED');
    expect((await gql(srv.url, SIGNIN, { e: carol.email, p: 'correct horse battery' })).data.signIn.token).toBeTruthy();
  });

  test('query depth and cost limits; page size limit', async () => {
    const deep = '{ sharedWithMe { edges { node { shares { file { shares { file { owner { id } } } } } } } } }';
    expect(codeOf(await q(deep))).toBe('BAD_USER_INPUT');
    const costly = '{ listFolder(path: "/", first: 1000) { edges { node { shares { user { id email name } file { chunks { sha256 offset size } } } } } } }';
    expect(codeOf(await q(costly))).toBe('BAD_USER_INPUT');
    expect(codeOf(await q('{ listFolder(path: "/", first: 1001) { edges { cursor } } }'))).toBe('BAD_USER_INPUT');
    expect((await q('{ listFolder(path: "/", first: 1000) { edges { node { id owner { id } shares { id } } } } }')).errors).toBeUndefined();
  });
});

test('introspection can be turned off', async () => {
  const srv = await startTestServer({ config: { introspection: false } });
  try {
    expect(codeOf(await gql(srv.url, '{ __schema { types { name } } }'))).toBe('BAD_USER_INPUT');
  } finally {
    await srv.stop();
  }
});
