import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyncEngine } from '../../clients/sync/engine';
import { testDatabases } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';
import { SyncFixture, snapshot, type Device } from './fixture';

/**
 * Sync of mounts (issue 14): alice shares /team with bob; each syncs their own tree, which for
 * bob holds alice's folder as a mount. Changes from either side meet, a simultaneous edit
 * becomes a conflicted copy, nobody's tree outside the mount is touched, and an unshare while
 * syncing takes the folder out of bob's local tree without deleting anything of alice's.
 */
describe.each(testDatabases)('sync of a shared folder (mount), two users, on %s', (db) => {
  let server: TestServer;
  let alice: SyncFixture;
  let bob: SyncFixture;
  let A: Device;
  let B: Device;
  let ea: SyncEngine;
  let eb: SyncEngine;

  beforeAll(async () => { server = await startTestServer({ db }); });
  afterAll(async () => { await server?.stop(); });
  beforeEach(async () => {
    alice = new SyncFixture(server.url);
    bob = new SyncFixture(server.url);
    await alice.signUp();
    await bob.signUp();
    A = await alice.device('alice-laptop');
    B = await bob.device('bob-laptop');
    ea = await alice.engine(A);
    eb = await bob.engine(B);
  });
  afterEach(async () => {
    expect(await treeViolations(server.app.services.ds)).toEqual([]);
    await alice.cleanup();
    await bob.cleanup();
  });

  async function run(e: SyncEngine) {
    const r = await e.runOnce();
    expect(r.errors.map((o) => `${o.action.path}: ${o.error?.message}`)).toEqual([]);
    return r;
  }
  /** alice, bob, alice, bob: what either did reaches the other, and the echoes settle. */
  async function rounds() {
    for (let i = 0; i < 2; i++) { await run(ea); await run(eb); }
  }
  const teamOf = (snap: Record<string, string>, root: string) =>
    Object.fromEntries(Object.entries(snap).filter(([p]) => p.startsWith(root + '/') && p !== root + '/').map(([p, v]) => [p.slice(root.length), v]));

  async function shareTeam(role: 'EDITOR' | 'VIEWER' = 'EDITOR') {
    await mkdir(join(A.folder, 'team'), { recursive: true });
    await writeFile(join(A.folder, 'team', 'a.txt'), 'from alice');
    await writeFile(join(A.folder, 'private.txt'), 'alice only');
    await writeFile(join(B.folder, 'mine.txt'), 'bob only');
    await rounds();
    return A.client.share('/team', bob.email, role);
  }

  it('both members edit the shared folder: changes meet; trees outside the mount are untouched', async () => {
    await shareTeam();
    await rounds();
    expect(await readFile(join(B.folder, 'team', 'a.txt'), 'utf8')).toBe('from alice');

    await writeFile(join(B.folder, 'team', 'b.txt'), 'from bob');
    await mkdir(join(B.folder, 'team', 'sub'));
    await writeFile(join(B.folder, 'team', 'sub', 'deep.txt'), 'deep bob');
    await writeFile(join(A.folder, 'team', 'c.txt'), 'from alice again');
    await writeFile(join(A.folder, 'team', 'a.txt'), 'alice edited');
    await rounds();

    const a = await snapshot(A.folder);
    const b = await snapshot(B.folder);
    expect(teamOf(b, '/team')).toEqual(teamOf(a, '/team'));
    expect(teamOf(a, '/team')).toEqual({ '/a.txt': 'alice edited', '/b.txt': 'from bob', '/c.txt': 'from alice again', '/sub/': '', '/sub/deep.txt': 'deep bob' });
    // bob's upload is alice's file; neither private file crossed over
    expect((await A.client.fileByPath('/team/sub/deep.txt'))?.size).toBe('8');
    expect(a['/mine.txt']).toBeUndefined();
    expect(b['/private.txt']).toBeUndefined();
    expect(await A.client.fileByPath('/mine.txt')).toBeNull();
  });

  it('a simultaneous edit of one shared file becomes a conflicted copy, nothing lost', async () => {
    await shareTeam();
    await rounds();
    await writeFile(join(A.folder, 'team', 'a.txt'), 'alice version');
    await writeFile(join(B.folder, 'team', 'a.txt'), 'bob version');
    await run(ea);
    await run(eb);
    await rounds();
    const a = teamOf(await snapshot(A.folder), '/team');
    const b = teamOf(await snapshot(B.folder), '/team');
    expect(b).toEqual(a);
    expect(Object.values(a).sort()).toEqual(['alice version', 'bob version']);
    expect(Object.keys(a).filter((p) => p !== '/a.txt')).toHaveLength(1);
  });

  it('bob renames his mount: his local folder follows, alice keeps /team', async () => {
    await shareTeam();
    await rounds();
    const team = (await B.client.fileByPath('/team'))!;
    await B.client.moveFile({ id: team.id }, '/from-alice');
    await rounds();
    expect(await readFile(join(B.folder, 'from-alice', 'a.txt'), 'utf8')).toBe('from alice');
    expect((await readdir(B.folder)).filter((n) => n !== '.tessera').sort()).toEqual(['from-alice', 'mine.txt']);
    expect(await A.client.fileByPath('/team/a.txt')).toBeTruthy();
    expect(Object.keys(await snapshot(A.folder)).sort()).toEqual(['/private.txt', '/team/', '/team/a.txt']);
    // and edits still meet under the new name
    await writeFile(join(B.folder, 'from-alice', 'n.txt'), 'new');
    await rounds();
    expect(await readFile(join(A.folder, 'team', 'n.txt'), 'utf8')).toBe('new');
  });

  it('bob renames the mount folder locally: the mount moves, alice keeps /team', async () => {
    await shareTeam();
    await rounds();
    const { rename } = await import('node:fs/promises');
    await rename(join(B.folder, 'team'), join(B.folder, 'shared-team'));
    await rounds();
    expect((await B.client.fileByPath('/shared-team'))?.id).toBe((await A.client.fileByPath('/team'))?.id);
    expect(await A.client.fileByPath('/team/a.txt')).toBeTruthy();
    expect(await snapshot(A.folder)).toEqual({ '/private.txt': 'alice only', '/team/': '', '/team/a.txt': 'from alice' });
  });

  it('a file moved locally between bob\'s own tree and the mount arrives on the other side; nothing is lost', async () => {
    await shareTeam();
    await rounds();
    const { rename } = await import('node:fs/promises');
    await mkdir(join(B.folder, 'proj', 'inner'), { recursive: true });
    await writeFile(join(B.folder, 'proj', 'inner', 'p.txt'), 'project');
    await rounds();
    expect(await B.client.fileByPath('/proj/inner/p.txt')).toBeTruthy();
    await rename(join(B.folder, 'proj'), join(B.folder, 'team', 'proj'));
    await rename(join(B.folder, 'mine.txt'), join(B.folder, 'team', 'mine.txt'));
    await rename(join(B.folder, 'team', 'a.txt'), join(B.folder, 'a-copy.txt'));
    await rounds();
    const b = await snapshot(B.folder);
    expect(b['/team/mine.txt']).toBe('bob only');
    expect(b['/a-copy.txt']).toBe('from alice');
    expect(await readFile(join(A.folder, 'team', 'mine.txt'), 'utf8')).toBe('bob only');
    expect((await A.client.fileByPath('/team/a.txt'))).toBeNull();
    expect((await B.client.fileByPath('/a-copy.txt'))?.size).toBe('10');
    // the folder went over with what was inside; bob's own copy is gone (in his trash), alice holds it now
    expect(b['/team/proj/inner/p.txt']).toBe('project');
    expect(b['/proj/']).toBeUndefined();
    expect(await readFile(join(A.folder, 'team', 'proj', 'inner', 'p.txt'), 'utf8')).toBe('project');
    expect(await B.client.fileByPath('/proj')).toBeNull();
  });

  it('an unshare while syncing removes the folder from bob locally and deletes nothing of alice', async () => {
    const share = await shareTeam();
    await rounds();
    expect(await readFile(join(B.folder, 'team', 'a.txt'), 'utf8')).toBe('from alice');
    await A.client.unshare(share.id);
    await rounds();
    expect(await snapshot(B.folder)).toEqual({ '/mine.txt': 'bob only' });
    expect(await A.client.fileByPath('/team/a.txt')).toBeTruthy();
    expect(await snapshot(A.folder)).toEqual({ '/private.txt': 'alice only', '/team/': '', '/team/a.txt': 'from alice' });
  });

  it('a viewer gets the shared folder but writes nothing into it', async () => {
    await shareTeam('VIEWER');
    await rounds();
    expect(await readFile(join(B.folder, 'team', 'a.txt'), 'utf8')).toBe('from alice');
    await writeFile(join(B.folder, 'team', 'v.txt'), 'viewer wrote');
    await run(eb); // refused (FORBIDDEN): moved out of the mount, not an error, nothing in alice's tree
    expect(await A.client.fileByPath('/team/v.txt')).toBeNull();
  });

  it('a viewer\'s local edits in the mount are kept outside it (uploaded to their own tree), the mount gets the server version back, nothing is retried', async () => {
    const { rename, rm } = await import('node:fs/promises');
    await mkdir(join(A.folder, 'team', 'keep'), { recursive: true });
    await writeFile(join(A.folder, 'team', 'keep', 'k.txt'), 'keep me');
    await writeFile(join(A.folder, 'team', 'r.txt'), 'rename me');
    await shareTeam('VIEWER');
    await rounds();
    const before = await snapshot(A.folder);
    // bob edits, adds a file and a folder with a file, renames, and deletes (a file and a folder), all inside the read-only mount
    await writeFile(join(B.folder, 'team', 'a.txt'), 'bob edited');
    await writeFile(join(B.folder, 'team', 'new.txt'), 'bob new');
    await mkdir(join(B.folder, 'team', 'dir'));
    await writeFile(join(B.folder, 'team', 'dir', 'in.txt'), 'in dir');
    await rename(join(B.folder, 'team', 'r.txt'), join(B.folder, 'team', 'r2.txt'));
    await rm(join(B.folder, 'team', 'keep'), { recursive: true });
    const first = await run(eb);
    expect(first.outcomes.filter((o) => o.conflictCopy).length).toBe(3);
    await rounds();
    // alice's tree is as it was; bob's mount is alice's folder again
    expect(await snapshot(A.folder)).toEqual(before);
    const b = await snapshot(B.folder);
    expect(teamOf(b, '/team')).toEqual(teamOf(before, '/team'));
    // bob's writes are in his own tree, beside the mount, as conflicted copies (synced to his account)
    const copies = Object.entries(b).filter(([p]) => p.includes('conflicted copy'));
    expect(copies.map(([p, v]) => [p.replace(/ \(conflicted copy [^)]*\)/, ''), v]).sort()).toEqual([
      ['/a.txt', 'bob edited'], ['/dir/', ''], ['/dir/in.txt', 'in dir'], ['/new.txt', 'bob new'],
    ]);
    for (const [p, v] of copies) {
      const remote = await B.client.fileByPath(p.replace(/\/$/, ''));
      expect({ p, size: remote && (remote.isFolder ? '' : String(remote.size)) }).toEqual({ p, size: v === '' && p.endsWith('/') ? '' : String(Buffer.byteLength(v)) });
    }
    // quiet: another cycle does nothing (no refused upload is tried again)
    const again = await run(eb);
    expect(again.outcomes.filter((o) => o.action.type !== 'record')).toEqual([]);
  });

  it('the owner trashes the shared folder while the member adds to it: the member\'s additions become their own copy beside it, nothing retried', async () => {
    await shareTeam('EDITOR');
    await rounds();
    await writeFile(join(B.folder, 'team', 'late.txt'), 'bob late');
    await A.client.deleteFile({ id: (await A.client.fileByPath('/team'))!.id });
    await run(eb);
    await run(eb);
    const b = await snapshot(B.folder);
    const copy = Object.keys(b).find((p) => p.startsWith('/team (conflicted copy') && p.endsWith('/late.txt'))!;
    expect(b[copy]).toBe('bob late');
    expect(Object.keys(b).filter((p) => p.startsWith('/team/'))).toEqual([]);
    expect((await B.client.fileByPath(copy))?.size).toBe('8');
    const again = await run(eb);
    expect(again.outcomes.filter((o) => o.action.type !== 'record')).toEqual([]);
  });

  it('nested shares: the inner folder syncs once, inside the outer mount; when the outer share ends it is renamed to its own mount, nothing fetched again', async () => {
    await mkdir(join(A.folder, 'team', 'sub'), { recursive: true });
    await writeFile(join(A.folder, 'team', 'sub', 's.txt'), 'inner file');
    const outer = await shareTeam('EDITOR');
    await A.client.share('/team/sub', bob.email, 'EDITOR');
    await rounds();
    expect(Object.keys(await snapshot(B.folder)).sort()).toEqual(['/mine.txt', '/team/', '/team/a.txt', '/team/sub/', '/team/sub/s.txt']);
    await A.client.unshare(outer.id);
    const r = await run(eb);
    expect(r.bytesDown).toBe(0);
    expect(await snapshot(B.folder)).toEqual({ '/mine.txt': 'bob only', '/sub/': '', '/sub/s.txt': 'inner file' });
    // and it still syncs both ways at its new place
    await writeFile(join(B.folder, 'sub', 'b.txt'), 'bob in sub');
    await rounds();
    expect(await readFile(join(A.folder, 'team', 'sub', 'b.txt'), 'utf8')).toBe('bob in sub');
  });

  it('a viewer syncing a folder inside the read-only mount: a local edit stays local and unsynced, and is not retried', async () => {
    await shareTeam('VIEWER');
    const inner = await bob.device('bob-inner');
    const ei = await bob.engine(inner, { remoteRoot: '/team' });
    await run(ei);
    expect(await readFile(join(inner.folder, 'a.txt'), 'utf8')).toBe('from alice');
    await writeFile(join(inner.folder, 'a.txt'), 'bob local');
    await run(ei);
    const again = await run(ei);
    expect(again.outcomes.filter((o) => o.action.type !== 'record')).toEqual([]);
    expect(await readFile(join(inner.folder, 'a.txt'), 'utf8')).toBe('bob local');
    expect(await readFile(join(A.folder, 'team', 'a.txt'), 'utf8')).toBe('from alice');
    await ei.close();
  });
});
