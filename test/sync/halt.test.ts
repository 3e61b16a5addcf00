import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncHalted } from '../../clients/sync/halt';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';
import { SyncFixture, snapshot } from './fixture';

/** Where syncing on would destroy data, the engine stops instead (QA: `rm -rf` of a synced folder emptied the account). */
describe('sync stops rather than destroy data (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  const fixtures: SyncFixture[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    fx = new SyncFixture(server.url);
  });
  afterAll(async () => {
    for (const f of new Set([...fixtures, fx])) await f?.cleanup();
    await server?.stop();
  });

  /** The names of the account's files under `root`, recursively. */
  const remoteNames = async (web: import('../../clients/sdk/client').TesseraClient, root: string): Promise<string[]> => {
    const out: string[] = [];
    const walk = async (p: string) => {
      for (const f of await web.listFolder(p)) {
        out.push(f.path);
        if (f.isFolder) await walk(f.path);
      }
    };
    await walk(root);
    return out.sort();
  };

  it('a synced folder deleted while the engine runs: nothing is deleted in the cloud or on the other device; the engine halts', async () => {
    const { web, A, B, ea, eb } = await fx.twoDevices();
    await mkdir(join(A.folder, 'sub'));
    for (const n of ['a.txt', 'b.txt', 'sub/c.txt']) await writeFile(join(A.folder, n), `content of ${n}`);
    await ea.runOnce();
    await eb.runOnce();
    const before = await remoteNames(web, '/');
    expect(before).toEqual(['/a.txt', '/b.txt', '/sub', '/sub/c.txt']);

    const halted: SyncHalted[] = [];
    const errors: Error[] = [];
    await ea.close(); // one engine per folder (LOCKED otherwise)
    const live = await fx.engine(A, { onHalt: (e) => halted.push(e), onError: (e) => errors.push(e) });
    await live.runOnce();
    live.start();
    await rm(A.folder, { recursive: true, force: true });
    await until(() => halted.length > 0, 15_000, 'the engine halting');
    expect(halted[0].code).toBe('LOCAL_ROOT_GONE');
    await new Promise((r) => setTimeout(r, 300)); // nothing may follow the halt
    expect(await remoteNames(web, '/')).toEqual(before);
    await eb.runOnce();
    expect(await snapshot(B.folder)).toEqual({ '/a.txt': 'content of a.txt', '/b.txt': 'content of b.txt', '/sub/': '', '/sub/c.txt': 'content of sub/c.txt' });
  });

  it('the remote folder moved or deleted: the engine stops, keeps every local file, and refuses to restart on a new empty folder there', async () => {
    fixtures.push(fx);
    fx = new SyncFixture(server.url); // another account
    const web = await fx.signUp();
    const A = await fx.device('laptop');
    const ea = await fx.engine(A, { remoteRoot: '/work' });
    await writeFile(join(A.folder, 'notes.txt'), 'notes');
    await ea.runOnce();
    expect(await remoteNames(web, '/work')).toEqual(['/work/notes.txt']);

    const root = (await web.fileByPath('/work'))!;
    await web.moveFile({ id: root.id }, '/work-renamed');
    await expect(ea.runOnce()).rejects.toMatchObject({ code: 'REMOTE_ROOT_GONE' });
    expect(await snapshot(A.folder)).toEqual({ '/notes.txt': 'notes' });
    await ea.close();

    // a new, empty /work is another folder: starting again must not treat its emptiness as deletions
    await web.createFolder('/work');
    await expect(fx.engine(A, { remoteRoot: '/work' })).rejects.toMatchObject({ code: 'REMOTE_ROOT_GONE' });
    expect(await snapshot(A.folder)).toEqual({ '/notes.txt': 'notes' });

    // a running engine halts on the deletion of its root, seen through the feed
    const B = await fx.device('desk');
    const eb = await fx.engine(B, { remoteRoot: '/other' });
    await writeFile(join(B.folder, 'keep.txt'), 'keep');
    await eb.runOnce();
    const halted: SyncHalted[] = [];
    await eb.close(); // one engine per folder (LOCKED otherwise)
    const live = await fx.engine(B, { remoteRoot: '/other', onHalt: (e) => halted.push(e) });
    live.start();
    await web.deleteFile({ id: (await web.fileByPath('/other'))!.id });
    await until(() => halted.length > 0, 15_000, 'the engine halting');
    expect(halted[0].code).toBe('REMOTE_ROOT_GONE');
    expect(await snapshot(B.folder)).toEqual({ '/keep.txt': 'keep' });
  });
});
