import crypto from 'node:crypto';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

type Who = { token: string; userId: string; email: string };

/**
 * Nested shares (issue 14): alice shares /proj and also /proj/inner with the same member. The
 * member sees each node at ONE path, through the outer mount (the inner mount is covered: it
 * lists and resolves nothing, and keeps its name); nothing outside the shares leaks; the feed
 * moves the inner subtree (one MOVED) when it comes into or goes out of the outer mount's view:
 * the outer share starting or ending, or alice moving the inner folder in or out.
 */
describe.each(testDatabases)('nested shares on %s', (db) => {
  let srv: TestServer;
  let alice: Who, bob: Who, carol: Who;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    srv = await startTestServer({ db });
    [alice, bob, carol] = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
    for (const p of ['/proj/a.txt', '/proj/inner/b.txt', '/secret.txt']) ids[p] = (await uploadBytes(srv.url, alice.token, p, crypto.randomBytes(10))).id;
    ids['/proj'] = (await byPath('/proj', alice)).id;
    ids['/proj/inner'] = (await byPath('/proj/inner', alice)).id;
  });
  afterAll(async () => { await srv?.stop(); });
  afterEach(async () => { expect(await treeViolations(srv.app.services.ds)).toEqual([]); });

  const q = (query: string, variables: Record<string, unknown>, who: Who) => gql(srv.url, query, variables, who.token);
  async function byPath(path: string, who: Who) {
    return (await q('query($p: String!) { fileByPath(path: $p) { id path } }', { p: path }, who)).data.fileByPath;
  }
  const list = async (path: string, who: Who) =>
    (await q('query($p: String!) { listFolder(path: $p) { edges { node { name } } } }', { p: path }, who)).data.listFolder.edges.map((e: any) => e.node.name);
  const share = async (path: string, to: Who, role: 'VIEWER' | 'EDITOR') => {
    const r = await q('mutation($f: ID!, $e: String!, $r: ShareRole!) { shareFile(fileId: $f, email: $e, role: $r) { id } }', { f: ids[path], e: to.email, r: role }, alice);
    expect(r.errors).toBeUndefined();
    return r.data.shareFile.id as string;
  };
  const latest = async (who: Who) => (await q('{ latestCursor }', {}, who)).data.latestCursor as string;
  const feed = async (who: Who, cursor: string) =>
    (await q('query($c: String) { changes(cursor: $c, limit: 200) { changes { kind path fromPath } } }', { c: cursor }, who)).data.changes.changes
      .map((c: any) => (c.fromPath ? [c.kind, c.fromPath, c.path] : [c.kind, c.path]));
  const mv = (id: string, to: string, who: Who) => q('mutation($id: ID!, $t: String!) { moveFile(id: $id, toPath: $t) { path } }', { id, t: to }, who);
  const pathOf = async (id: string, who: Who) => (await q('query($id: ID!) { file(id: $id) { path } }', { id }, who)).data.file?.path;

  test('inner shared after the outer: one path per node, through the outer mount; the outer share ending brings the inner mount into view', async () => {
    const outer = await share('/proj', bob, 'EDITOR');
    let at = await latest(bob);
    await share('/proj/inner', bob, 'VIEWER');
    expect(await feed(bob, at)).toEqual([]); // nothing new to see
    expect(await list('/', bob)).toEqual(['proj']);
    expect(await byPath('/inner', bob)).toBeNull();
    expect(await byPath('/inner/b.txt', bob)).toBeNull();
    expect(await byPath('/secret.txt', bob)).toBeNull();
    expect(await pathOf(ids['/proj/inner'], bob)).toBe('/proj/inner');
    expect(await pathOf(ids['/proj/inner/b.txt'], bob)).toBe('/proj/inner/b.txt');
    expect(await list('/proj/inner', bob)).toEqual(['b.txt']);
    // the covered mount keeps its name: bob cannot create his own /inner meanwhile
    expect(codeOf(await q('mutation { createFolder(path: "/inner") { id } }', {}, bob))).toBe('CONFLICT');
    // by id, the inner folder is a folder inside the outer mount: bob (editor there) renames it in alice's tree
    expect((await mv(ids['/proj/inner'], '/proj/inner2', bob)).data.moveFile.path).toBe('/proj/inner2');
    expect((await byPath('/proj/inner2/b.txt', alice)).id).toBe(ids['/proj/inner/b.txt']);
    expect((await mv(ids['/proj/inner'], '/proj/inner', alice)).errors).toBeUndefined();
    // alice's change inside reaches bob once, at his one path
    at = await latest(bob);
    await uploadBytes(srv.url, alice.token, '/proj/inner/c.txt', crypto.randomBytes(5));
    expect(await feed(bob, at)).toEqual([['CREATED', '/proj/inner/c.txt']]);

    // the outer share ends: the inner subtree moves to bob's inner mount (first), the rest goes
    at = await latest(bob);
    expect((await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: outer }, alice)).errors).toBeUndefined();
    expect(await feed(bob, at)).toEqual([
      ['MOVED', '/proj/inner', '/inner'],
      ['UNSHARED', '/proj/a.txt'],
      ['UNSHARED', '/proj'],
    ]);
    expect(await list('/', bob)).toEqual(['inner']);
    expect(await pathOf(ids['/proj/inner/b.txt'], bob)).toBe('/inner/b.txt');
    expect(await byPath('/proj', bob)).toBeNull();
    // only the viewer share is left: no writing
    expect(codeOf(await q('mutation { createFolder(path: "/inner/x") { id } }', {}, bob))).toBe('FORBIDDEN');
  });

  test('inner shared first, then the outer: the inner mount goes out of view (one MOVED); alice moving the inner folder out and back moves it for the member', async () => {
    await share('/proj/inner', carol, 'EDITOR');
    expect(await list('/', carol)).toEqual(['inner']);
    let at = await latest(carol);
    await share('/proj', carol, 'VIEWER');
    expect(await feed(carol, at)).toEqual([
      ['SHARED', '/proj'], ['SHARED', '/proj/a.txt'],
      ['MOVED', '/inner', '/proj/inner'],
    ]);
    expect(await list('/', carol)).toEqual(['proj']);
    expect((await list('/proj', carol)).sort()).toEqual(['a.txt', 'inner']);
    // roles still add up by path: editor inside inner, viewer elsewhere in /proj
    expect(codeOf(await q('mutation { createFolder(path: "/proj/inner/made") { id } }', {}, carol))).toBeUndefined();
    expect(codeOf(await q('mutation { createFolder(path: "/proj/nope") { id } }', {}, carol))).toBe('FORBIDDEN');

    at = await latest(carol);
    expect((await mv(ids['/proj/inner'], '/out', alice)).errors).toBeUndefined();
    expect(await feed(carol, at)).toEqual([['MOVED', '/proj/inner', '/inner']]);
    expect((await list('/', carol)).sort()).toEqual(['inner', 'proj']);
    expect(await pathOf(ids['/proj/inner/b.txt'], carol)).toBe('/inner/b.txt');
    at = await latest(carol);
    expect((await mv(ids['/proj/inner'], '/proj/inner', alice)).errors).toBeUndefined();
    expect(await feed(carol, at)).toEqual([['MOVED', '/inner', '/proj/inner']]);
    expect(await list('/', carol)).toEqual(['proj']);

    // carol leaves the outer share by deleting her mount: the inner folder comes back to /inner
    at = await latest(carol);
    expect((await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: ids['/proj'] }, carol)).errors).toBeUndefined();
    const left = await feed(carol, at);
    expect(left[0]).toEqual(['MOVED', '/proj/inner', '/inner']);
    expect(left.slice(1).every((c: string[]) => c[0] === 'UNSHARED' && !c[1].startsWith('/proj/inner'))).toBe(true);
    expect(await list('/', carol)).toEqual(['inner']);
    expect((await byPath('/proj/inner/b.txt', alice)).id).toBe(ids['/proj/inner/b.txt']); // nothing of alice's went
  });

  test('a member re-sharing their own folder that holds a mount passes on nothing of the mount', async () => {
    const dave = await signUp(srv.url);
    await share('/proj', bob, 'EDITOR'); // bob has the inner share only since the first test
    const mount = await byPath('/proj', bob);
    expect((await mv(mount.id, '/box/proj', bob)).errors).toBeUndefined();
    const box = await byPath('/box', bob);
    const r = await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f: box.id, e: dave.email }, bob);
    expect(r.errors).toBeUndefined();
    expect(await list('/box', dave)).toEqual([]);
    expect(await byPath('/box/proj', dave)).toBeNull();
    expect(await byPath('/box/proj/a.txt', dave)).toBeNull();
    expect((await q('query($id: ID!) { file(id: $id) { id } }', { id: ids['/proj/a.txt'] }, dave)).data?.file ?? null).toBeNull();
    const at = await latest(dave);
    await uploadBytes(srv.url, alice.token, '/proj/late.txt', crypto.randomBytes(5));
    expect(await feed(dave, at)).toEqual([]);
  });

  test('the owner trashes the outer folder and restores only the inner one: the member sees it at the inner mount, feed included', async () => {
    const erin = await signUp(srv.url);
    const top = (await q('mutation { createFolder(path: "/top/in") { id } }', {}, alice)).data.createFolder;
    const inId = top.id;
    const topId = (await byPath('/top', alice)).id;
    for (const id of [topId, inId]) {
      const r = await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f: id, e: erin.email }, alice);
      expect(r.errors).toBeUndefined();
    }
    expect(await list('/', erin)).toEqual(['top']);
    let at = await latest(erin);
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: topId }, alice);
    expect(await feed(erin, at)).toEqual([['DELETED', '/top']]);
    expect(await list('/', erin)).toEqual([]);
    // restoring the inner folder alone re-creates /top in alice's tree as a new, unshared folder
    at = await latest(erin);
    expect((await q('mutation($id: ID!) { restoreFile(id: $id) { path } }', { id: inId }, alice)).errors).toBeUndefined();
    expect(await list('/', erin)).toEqual(['in']);
    expect(await pathOf(inId, erin)).toBe('/in');
    await uploadBytes(srv.url, alice.token, '/top/in/x.txt', crypto.randomBytes(3));
    expect((await feed(erin, at)).map((c: string[]) => c.join(' '))).toEqual(['RESTORED /in', 'CREATED /in/x.txt']);
    expect((await byPath('/in/x.txt', erin)).path).toBe('/in/x.txt');
  });
});
