import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChangeSource } from '../../clients/sync/feed';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot } from './fixture';

/** Races the executor must turn into conflicted copies rather than lost data. */
describe('sync engine races (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  const day = new Date().toISOString().slice(0, 10);
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    fx = new SyncFixture(server.url);
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  /** An account, and device "desk" whose engine's feed lags while `lag(true)`: it sees nothing new until `lag(false)`. */
  async function laggingDesk() {
    const api = await fx.signUp();
    const B = await fx.device('desk');
    let lagging = false;
    const feed: ChangeSource = {
      latestCursor: () => B.client.latestCursor(),
      changes: async (cursor, limit) => (lagging ? { changes: [], cursor: cursor!, hasMore: false } : B.client.changes(cursor, limit)),
      watchChanges: (o) => B.client.watchChanges(o),
    };
    const eb = await fx.engine(B, { feed });
    return { api, B, eb, lag: (on: boolean) => { lagging = on; } };
  }

  it('an upload the server refuses with CONFLICT (someone changed the file unseen) becomes a conflicted copy', async () => {
    const { api, B, eb, lag } = await laggingDesk();
    await writeFile(join(B.folder, 'doc.txt'), 'v1');
    await eb.runOnce();
    lag(true);
    const tmp = join(B.folder, '..', `doc-${Date.now()}.txt`);
    await writeFile(tmp, 'v2 from elsewhere');
    await api.upload(tmp, '/doc.txt');
    await writeFile(join(B.folder, 'doc.txt'), 'v2 from desk');
    const r = await eb.runOnce();
    const up = r.outcomes.find((o) => o.action.type === 'upload');
    expect(up?.conflictCopy).toBe(`/doc (conflicted copy desk ${day}).txt`);
    lag(false);
    await eb.runOnce();
    expect(await snapshot(B.folder)).toEqual({ '/doc.txt': 'v2 from elsewhere', [`/doc (conflicted copy desk ${day}).txt`]: 'v2 from desk' });
    expect((await api.listFolder('/')).map((f) => f.name).sort()).toEqual([`doc (conflicted copy desk ${day}).txt`, 'doc.txt']);
  });

  it('a local delete of a file someone edited unseen does not trash the edit: the server refuses (CONFLICT) and the edit comes back', async () => {
    const { api, B, eb, lag } = await laggingDesk();
    await writeFile(join(B.folder, 'notes.txt'), 'v1');
    await eb.runOnce();
    lag(true);
    const tmp = join(B.folder, '..', `notes-${Date.now()}.txt`);
    await writeFile(tmp, 'v2 edited elsewhere');
    await api.upload(tmp, '/notes.txt');
    await rm(join(B.folder, 'notes.txt'));
    const r = await eb.runOnce();
    const del = r.outcomes.find((o) => o.action.type === 'deleteRemote');
    expect(del?.error).toMatchObject({ code: 'CONFLICT' });
    expect((await api.fileByPath('/notes.txt'))?.status).toBe('AVAILABLE');
    lag(false);
    await eb.runOnce();
    expect(await snapshot(B.folder)).toEqual({ '/notes.txt': 'v2 edited elsewhere' });
    expect(await api.trash()).toEqual([]);
  });

  it('a local edit that lands while a download is in flight is kept as a conflicted copy', async () => {
    await fx.signUp();
    const A = await fx.device('laptop');
    const B = await fx.device('desk');
    const ea = await fx.engine(A);
    const eb = await fx.engine(B);
    await writeFile(join(A.folder, 'f.txt'), 'one');
    await ea.runOnce();
    await eb.runOnce();
    await writeFile(join(A.folder, 'f.txt'), 'two, from laptop');
    await ea.runOnce();
    // the user edits f.txt on B while B downloads A's version
    const download = B.client.download.bind(B.client);
    B.client.download = async (remote, local, opts) => {
      const r = await download(remote, local, opts);
      await writeFile(join(B.folder, 'f.txt'), 'two, from desk');
      return r;
    };
    const r = await eb.runOnce();
    expect(r.outcomes.find((o) => o.action.type === 'download')?.conflictCopy).toBe(`/f (conflicted copy desk ${day}).txt`);
    await ea.runOnce();
    const expected = { '/f.txt': 'two, from laptop', [`/f (conflicted copy desk ${day}).txt`]: 'two, from desk' };
    expect(await snapshot(B.folder)).toEqual(expected);
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await readFile(join(B.folder, 'f.txt'), 'utf8')).toBe('two, from laptop');
  });
});
