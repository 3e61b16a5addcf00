import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { beginInput, codeOf, gql, prepare, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

type Who = { token: string; userId: string; email: string };
const MiB = 1024 * 1024;

/**
 * Mounts (issue 14): a file or folder shared with a member appears in the member's own tree;
 * every path-based operation crosses it, File.path and the change feed use the member's paths,
 * and bytes written through a mount are the owner's.
 */
describe.each(testDatabases)('mounts on %s', (db) => {
  let srv: TestServer;
  let alice: Who, bob: Who, carol: Who;

  beforeAll(async () => {
    srv = await startTestServer({ db, config: { defaultQuotaBytes: 4 * MiB } });
    [alice, bob, carol] = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
  });
  afterAll(async () => { await srv?.stop(); });
  // every test leaves the trees, shares and mounts consistent (test/helpers/tree-invariants.ts)
  afterEach(async () => { expect(await treeViolations(srv.app.services.ds)).toEqual([]); });

  const q = (query: string, variables: Record<string, unknown>, who: Who) => gql(srv.url, query, variables, who.token);
  const byPath = async (path: string, who: Who) =>
    (await q('query($p: String!) { fileByPath(path: $p) { id path name owner { id } isFolder } }', { p: path }, who)).data.fileByPath;
  const list = async (path: string, who: Who) =>
    (await q('query($p: String!) { listFolder(path: $p) { edges { node { id name path owner { id } } } } }', { p: path }, who)).data.listFolder.edges.map((e: any) => e.node);
  const share = async (id: string, to: Who, role: 'VIEWER' | 'EDITOR', owner: Who = alice) => {
    const r = await q('mutation($f: ID!, $e: String!, $r: ShareRole!) { shareFile(fileId: $f, email: $e, role: $r) { id } }', { f: id, e: to.email, r: role }, owner);
    expect(r.errors).toBeUndefined();
    return r.data.shareFile.id as string;
  };
  const latest = async (who: Who) => (await q('{ latestCursor }', {}, who)).data.latestCursor as string;
  const feed = async (who: Who, cursor: string) =>
    (await q('query($c: String) { changes(cursor: $c, limit: 200) { changes { kind path fromPath file { id } } } }', { c: cursor }, who)).data.changes.changes as { kind: string; path: string; fromPath: string | null }[];
  const usage = async (who: Who) => Number((await q('{ me { usage } }', {}, who)).data.me.usage);
  const mv = (id: string, to: string, who: Who) => q('mutation($id: ID!, $t: String!) { moveFile(id: $id, toPath: $t) { path name owner { id } } }', { id, t: to }, who);

  test('a shared folder appears at /<name>; paths, listings and uploads by path cross into the owner tree', async () => {
    const a = await uploadBytes(srv.url, alice.token, '/small/a.bin', crypto.randomBytes(100));
    await uploadBytes(srv.url, alice.token, '/private/p.bin', crypto.randomBytes(10));
    const small = await byPath('/small', alice);
    const before = await latest(bob);
    await share(small.id, bob, 'EDITOR');

    // bob's root lists the mount as a folder (alice's), and his feed says SHARED at his paths
    expect((await list('/', bob)).map((n: any) => [n.name, n.path, n.owner.id])).toEqual([['small', '/small', alice.userId]]);
    expect((await feed(bob, before)).map((c) => [c.kind, c.path])).toEqual([['SHARED', '/small'], ['SHARED', '/small/a.bin']]);
    expect(await byPath('/small/a.bin', bob)).toMatchObject({ id: a.id, path: '/small/a.bin', owner: { id: alice.userId } });
    expect((await list('/small', bob)).map((n: any) => n.path)).toEqual(['/small/a.bin']);

    // an upload by path lands in alice's folder; a folder created by path too
    const x = await uploadBytes(srv.url, bob.token, '/small/x.bin', crypto.randomBytes(200));
    expect(x.path).toBe('/small/x.bin');
    expect(await byPath('/small/x.bin', alice)).toMatchObject({ id: x.id, owner: { id: alice.userId } });
    const made = await q('mutation { createFolder(path: "/small/sub/deeper") { path owner { id } } }', {}, bob);
    expect(made.data.createFolder).toEqual({ path: '/small/sub/deeper', owner: { id: alice.userId } });
    expect(await byPath('/small/sub/deeper', alice)).toBeTruthy();
    // nothing of bob's own: his root still has only the mount
    expect((await list('/', bob)).map((n: any) => n.owner.id)).toEqual([alice.userId]);

    // nothing outside the shared subtree is reachable by path
    expect(await byPath('/private/p.bin', bob)).toBeNull();
    expect(codeOf(await q('{ listFolder(path: "/private") { edges { cursor } } }', {}, bob))).toBe('NOT_FOUND');
    // moving between bob's own tree and the mount is refused, nothing moves
    const own = await uploadBytes(srv.url, bob.token, '/mine.bin', crypto.randomBytes(10));
    expect(codeOf(await mv(own.id, '/small/mine.bin', bob))).toBe('BAD_USER_INPUT');
    expect(codeOf(await mv(x.id, '/x.bin', bob))).toBe('BAD_USER_INPUT');
    expect(await byPath('/small/mine.bin', alice)).toBeNull();
    expect(await byPath('/small/x.bin', alice)).toBeTruthy();
    // a move inside the mount is alice's move, by bob's paths
    expect((await mv(x.id, '/small/sub/x2.bin', bob)).data.moveFile).toEqual({ path: '/small/sub/x2.bin', name: 'x2.bin', owner: { id: alice.userId } });
    expect((await byPath('/small/sub/x2.bin', alice)).id).toBe(x.id);
  });

  test('a taken name gets " (2)", " (3)"; a shared file keeps its extension last', async () => {
    await q('mutation { createFolder(path: "/docs") { id } }', {}, carol);
    await uploadBytes(srv.url, carol.token, '/notes.txt', crypto.randomBytes(5));
    const docs = await q('mutation { createFolder(path: "/docs") { id } }', {}, alice);
    const notes = await uploadBytes(srv.url, alice.token, '/notes.txt', crypto.randomBytes(6));
    const bobDocs = await q('mutation { createFolder(path: "/docs") { id } }', {}, bob);
    await share(docs.data.createFolder.id, carol, 'VIEWER');
    await share(notes.id, carol, 'VIEWER');
    await share(bobDocs.data.createFolder.id, carol, 'EDITOR', bob);
    const names = (await list('/', carol)).map((n: any) => `${n.name}:${n.owner.id === carol.userId ? 'own' : n.owner.id === alice.userId ? 'alice' : 'bob'}`);
    expect(names.sort()).toEqual(['docs (2):alice', 'docs (3):bob', 'docs:own', 'notes (2).txt:alice', 'notes.txt:own'].sort());
    expect(await byPath('/notes (2).txt', carol)).toMatchObject({ id: notes.id, name: 'notes (2).txt' });
    // the shared file is read-only for the viewer: a new revision by path is FORBIDDEN
    const p = prepare(crypto.randomBytes(20), 8 * MiB);
    expect(codeOf(await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', { i: beginInput('/notes (2).txt', p) }, carol))).toBe('FORBIDDEN');
  });

  test('viewer writes through a mount are FORBIDDEN and write nothing', async () => {
    const small = await byPath('/small', alice);
    await share(small.id, carol, 'VIEWER');
    const a = await byPath('/small/a.bin', carol);
    expect(a.owner.id).toBe(alice.userId);
    const p = prepare(crypto.randomBytes(20), 8 * MiB);
    expect(codeOf(await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', { i: beginInput('/small/v.bin', p) }, carol))).toBe('FORBIDDEN');
    expect(codeOf(await q('mutation { createFolder(path: "/small/v") { id } }', {}, carol))).toBe('FORBIDDEN');
    expect(codeOf(await mv(a.id, '/small/renamed.bin', carol))).toBe('FORBIDDEN');
    expect(codeOf(await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: a.id }, carol))).toBe('FORBIDDEN');
    expect(await byPath('/small/v.bin', alice)).toBeNull();
    expect(await byPath('/small/v', alice)).toBeNull();
    expect(await byPath('/small/a.bin', alice)).toBeTruthy();
  });

  test('the member moves and renames the mount: only the mount moves, and the feed shows the moved paths', async () => {
    const small = await byPath('/small', alice);
    const start = await latest(bob);
    expect((await mv(small.id, '/work/inbox', bob)).data.moveFile).toMatchObject({ path: '/work/inbox', name: 'inbox', owner: { id: alice.userId } });
    expect((await byPath('/small', alice)).path).toBe('/small'); // alice's folder did not move
    expect(await byPath('/small', bob)).toBeNull();
    expect(await byPath('/work/inbox/a.bin', bob)).toMatchObject({ path: '/work/inbox/a.bin', owner: { id: alice.userId } });
    // alice's changes reach bob at his paths
    const n = await uploadBytes(srv.url, alice.token, '/small/new.bin', crypto.randomBytes(30));
    expect((await mv(n.id, '/small/renamed.bin', alice)).errors).toBeUndefined();
    // alice renaming the shared folder itself changes nothing bob sees
    expect((await mv(small.id, '/small-renamed', alice)).errors).toBeUndefined();
    expect(await byPath('/work/inbox/renamed.bin', bob)).toMatchObject({ id: n.id });
    // bob moving his own folder carries the mount along
    const work = await byPath('/work', bob);
    expect((await mv(work.id, '/job', bob)).errors).toBeUndefined();
    expect(await byPath('/job/inbox/renamed.bin', bob)).toMatchObject({ id: n.id });
    // another shared folder or own node already there: CONFLICT; into another mount: BAD_USER_INPUT
    await q('mutation { createFolder(path: "/taken") { id } }', {}, bob);
    expect(codeOf(await mv(small.id, '/taken', bob))).toBe('CONFLICT');
    const other = (await q('mutation { createFolder(path: "/other") { id } }', {}, carol)).data.createFolder;
    await share(other.id, bob, 'EDITOR', carol);
    expect(codeOf(await mv(small.id, '/other/inside', bob))).toBe('BAD_USER_INPUT');

    const changes = (await feed(bob, start)).filter((c) => c.kind !== 'SHARED').map((c) => [c.kind, c.fromPath, c.path]);
    expect(changes).toEqual([
      ['CREATED', null, '/work'],
      ['MOVED', '/small', '/work/inbox'],
      ['CREATED', null, '/work/inbox/new.bin'],
      ['MOVED', '/work/inbox/new.bin', '/work/inbox/renamed.bin'],
      ['MOVED', '/work', '/job'],
      ['CREATED', null, '/taken'],
    ]);
    expect((await mv(small.id, '/small', alice)).errors).toBeUndefined();
  });

  test('unsharing removes the mount: UNSHARED at the member paths, nothing of the owner deleted', async () => {
    const small = await byPath('/small', alice);
    const shareId = (await q('query($id: ID!) { file(id: $id) { shares { id user { id } } } }', { id: small.id }, alice)).data.file.shares
      .find((s: any) => s.user.id === bob.userId).id;
    const start = await latest(bob);
    expect((await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: shareId }, alice)).data.unshare).toBe(true);
    const gone = await feed(bob, start);
    expect(gone.every((c) => c.kind === 'UNSHARED' && (c.path === '/job/inbox' || c.path.startsWith('/job/inbox/')))).toBe(true);
    expect(gone[gone.length - 1].path).toBe('/job/inbox'); // children first
    expect(await byPath('/job/inbox', bob)).toBeNull();
    expect((await list('/job', bob))).toEqual([]);
    expect(await byPath('/small/a.bin', alice)).toBeTruthy();
  });

  test('a member deleting the mount leaves the share; the owner keeps everything', async () => {
    const small = await byPath('/small', alice);
    await share(small.id, bob, 'EDITOR');
    expect((await byPath('/small', bob)).owner.id).toBe(alice.userId);
    const start = await latest(bob);
    const left = await q('mutation($id: ID!) { deleteFile(id: $id) { id path } }', { id: small.id }, bob);
    expect(left.data.deleteFile).toEqual({ id: small.id, path: '/small' });
    expect((await feed(bob, start)).map((c) => c.kind).every((k) => k === 'UNSHARED')).toBe(true);
    expect(await byPath('/small', bob)).toBeNull();
    expect((await q('{ sharedWithMe { edges { node { id } } } }', {}, bob)).data.sharedWithMe.edges.map((e: any) => e.node.id)).not.toContain(small.id);
    expect(await byPath('/small/a.bin', alice)).toBeTruthy();
  });

  test('deleting a folder of the member that holds a mount leaves that share; the owner keeps the folder', async () => {
    const small = await byPath('/small', alice);
    await share(small.id, bob, 'EDITOR');
    const mount = await byPath('/small', bob);
    expect((await mv(mount.id, '/holder/small', bob)).errors).toBeUndefined();
    const holder = await byPath('/holder', bob);
    const start = await latest(bob);
    expect((await q('mutation($id: ID!) { deleteFile(id: $id) { status } }', { id: holder.id }, bob)).data.deleteFile.status).toBe('DELETED');
    const kinds = (await feed(bob, start)).map((c) => [c.kind, c.path]);
    expect(kinds).toContainEqual(['UNSHARED', '/holder/small']);
    expect(kinds[kinds.length - 1]).toEqual(['DELETED', '/holder']);
    expect(await byPath('/small/a.bin', alice)).toBeTruthy();
    expect(await byPath('/holder/small', bob)).toBeNull();
    expect((await q('{ sharedWithMe { edges { node { id } } } }', {}, bob)).data.sharedWithMe.edges.map((e: any) => e.node.id)).not.toContain(small.id);
  });

  test('bytes in a mount count against the owner; an editor upload over the owner quota is PAYLOAD_TOO_LARGE; dedup never crosses owners', async () => {
    const dave = await signUp(srv.url);
    const erin = await signUp(srv.url);
    const box = (await q('mutation { createFolder(path: "/box") { id } }', {}, dave)).data.createFolder;
    await share(box.id, erin, 'EDITOR', dave);
    const bytes = crypto.randomBytes(MiB);
    await uploadBytes(srv.url, erin.token, '/box/one.bin', bytes);
    expect(await usage(dave)).toBe(MiB);
    expect(await usage(erin)).toBe(0);
    // dave has 3 MiB left of 4: erin's 3.5 MiB upload into his folder is refused, though erin's own quota has room
    const big = prepare(crypto.randomBytes(3.5 * MiB), 8 * MiB);
    expect(codeOf(await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', { i: beginInput('/box/big.bin', big) }, erin))).toBe('PAYLOAD_TOO_LARGE');
    const mine = await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', { i: beginInput('/big.bin', big) }, erin);
    expect(mine.errors).toBeUndefined();
    await q('mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: mine.data.beginUpload.id }, erin);
    expect(await usage(dave)).toBe(MiB);
    // the same bytes again, by erin into her own tree: not deduplicated against dave's copy (no bytes of his reach her)
    const own = await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { status } }', { i: beginInput('/own.bin', prepare(bytes, 8 * MiB)) }, erin);
    expect(own.data.beginUpload.status).toBe('ACTIVE');
    // and dave's bytes uploaded by dave again into the mount folder dedup within dave's tree
    const again = await q('mutation($i: BeginUploadInput!) { beginUpload(input: $i) { status } }', { i: beginInput('/box/copy.bin', prepare(bytes, 8 * MiB)) }, dave);
    expect(again.data.beginUpload.status).toBe('COMPLETED');
  });

  test('a share racing the member creating the same name: never two entries of one name in the member root', async () => {
    const frank = await signUp(srv.url);
    let ownMade = 0;
    for (let i = 0; i < 6; i++) {
      const name = `race${i}`;
      const f = (await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/${name}` }, alice)).data.createFolder;
      const [shared, made] = await Promise.all([
        q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f: f.id, e: frank.email }, alice),
        q('mutation($p: String!) { createFolder(path: $p) { owner { id } } }', { p: `/${name}` }, frank),
      ]);
      expect(shared.errors).toBeUndefined();
      expect(made.errors).toBeUndefined();
      // frank's folder came first (the mount then takes " (2)"), or the mount did (his createFolder found alice's folder)
      if (made.data.createFolder.owner.id !== alice.userId) ownMade++;
    }
    const names = (await list('/', frank)).map((n: any) => n.name).sort();
    expect(names).toEqual([...new Set(names)]);
    expect(names).toHaveLength(6 + ownMade);
  });

  test('restoring a trashed node of the member where a mount now stands is CONFLICT; nothing is overlaid', async () => {
    const gina = await signUp(srv.url);
    const own = (await q('mutation { createFolder(path: "/place") { id } }', {}, gina)).data.createFolder;
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: own.id }, gina);
    const theirs = (await q('mutation { createFolder(path: "/place") { id } }', {}, alice)).data.createFolder;
    await share(theirs.id, gina, 'VIEWER');
    expect((await byPath('/place', gina)).owner.id).toBe(alice.userId);
    expect(codeOf(await q('mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: own.id }, gina))).toBe('CONFLICT');
    expect((await list('/', gina)).map((n: any) => n.owner.id)).toEqual([alice.userId]);
  });

  test('id-based operations keep working for members', async () => {
    const small = await byPath('/small', alice);
    await share(small.id, carol, 'VIEWER');
    const byId = await q('query($id: ID!) { listFolderById(id: $id) { edges { node { path } } } }', { id: small.id }, carol);
    const carolPath = (await q('query($id: ID!) { file(id: $id) { path } }', { id: small.id }, carol)).data.file.path;
    expect(byId.data.listFolderById.edges.map((e: any) => e.node.path)).toContain(`${carolPath}/a.bin`);
  });

  test('the owner purging a shared folder from the trash removes the members\' mounts; the name is free again', async () => {
    const hal = await signUp(srv.url);
    const gone = (await q('mutation { createFolder(path: "/gone") { id } }', {}, alice)).data.createFolder;
    await share(gone.id, hal, 'EDITOR');
    expect((await byPath('/gone', hal)).id).toBe(gone.id);
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: gone.id }, alice);
    expect(await byPath('/gone', hal)).toBeNull();
    // trashed, the shared folder still holds its name in hal's tree: writing there is FORBIDDEN (SHARE_TRASHED), nothing is made
    for (const p of ['/gone', '/gone/x']) {
      const r = await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p }, hal);
      expect([codeOf(r), r.errors?.[0]?.extensions.reason]).toEqual(['FORBIDDEN', 'SHARE_TRASHED']);
    }
    expect((await q('mutation { emptyTrash }', {}, alice)).errors).toBeUndefined();
    expect(await treeViolations(srv.app.services.ds)).toEqual([]);
    const made = await q('mutation { createFolder(path: "/gone") { path owner { id } } }', {}, hal);
    expect(made.data.createFolder).toEqual({ path: '/gone', owner: { id: hal.userId } });
  });
});
