import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot } from './fixture';

/** The remote tree from the change feed: resuming from a cursor, RESET, remote folder moves, shared files. */
describe.each(['sqlite', 'mariadb'] as const)('sync engine and the change feed (%s)', (db) => {
  let server: TestServer;
  let fx: SyncFixture;
  beforeAll(async () => {
    server = await startTestServer({ db });
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

  it('a change made while B was offline arrives on its next start, from its cursor; a RESET re-lists and still converges', async () => {
    await fx.signUp();
    const A = await fx.device('laptop');
    const B = await fx.device('desk');
    const ea = await fx.engine(A);
    let eb = await fx.engine(B);
    await writeFile(join(A.folder, 'one.txt'), 'one');
    await ea.runOnce();
    expect((await eb.runOnce()).relisted).toBe(true);
    await eb.close();

    await writeFile(join(A.folder, 'two.txt'), 'two');
    await writeFile(join(A.folder, 'one.txt'), 'one, edited');
    await ea.runOnce();
    eb = await fx.engine(B);
    const resumed = await eb.runOnce();
    expect(resumed.relisted).toBe(false);
    expect(resumed.changesApplied).toBeGreaterThanOrEqual(2);
    expect(await snapshot(B.folder)).toEqual({ '/one.txt': 'one, edited', '/two.txt': 'two' });
    await eb.close();

    // offline again; the journal is pruned past B's cursor meanwhile
    await writeFile(join(A.folder, 'three.txt'), 'three');
    await ea.runOnce();
    await A.client.deleteFile('/two.txt');
    expect(await server.app.services.journal.prune(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    eb = await fx.engine(B);
    const reset = await eb.runOnce();
    expect(reset.relisted).toBe(true);
    expect(reset.errors).toEqual([]);
    expect(await snapshot(B.folder)).toEqual({ '/one.txt': 'one, edited', '/three.txt': 'three' });
  });

  it('a folder moved or deleted through the API moves or deletes its descendants locally (one journal entry each)', async () => {
    const api = await fx.signUp();
    const B = await fx.device('desk');
    await api.createFolder('/proj/src');
    const src = join(B.folder, 'seed.txt');
    await writeFile(src, 'main');
    await api.upload(src, '/proj/src/main.ts');
    await api.upload(src, '/proj/readme.md');
    const eb = await fx.engine(B);
    await eb.runOnce();
    expect(Object.keys(await snapshot(B.folder)).sort()).toEqual(['/proj/', '/proj/readme.md', '/proj/src/', '/proj/src/main.ts', '/seed.txt']);

    await api.moveFile('/proj', '/renamed');
    const moved = await eb.runOnce();
    expect(moved.relisted).toBe(false);
    expect(Object.keys(await snapshot(B.folder)).sort()).toEqual(['/renamed/', '/renamed/readme.md', '/renamed/src/', '/renamed/src/main.ts', '/seed.txt']);
    expect(moved.bytesDown).toBe(0);
    expect(await readFile(join(B.folder, 'renamed/src/main.ts'), 'utf8')).toBe('main');

    await api.deleteFile('/renamed');
    await eb.runOnce();
    expect(Object.keys(await snapshot(B.folder))).toEqual(['/seed.txt']);
  });

  it('a folder others share with the user is synced where it is mounted (/<name>), beside the own tree', async () => {
    const me = await fx.signUp();
    const other = new TesseraClient({ server: server.url });
    const otherEmail = `other-${Date.now()}-${Math.random()}@example.com`;
    await other.signUp(otherEmail, 'correct horse battery');
    const B = await fx.device('desk');
    const eb = await fx.engine(B);
    await eb.runOnce();
    const tmp = join(B.folder, '..', `shared-src-${Date.now()}.txt`);
    await writeFile(tmp, 'theirs');
    await other.createFolder('/theirs');
    await other.upload(tmp, '/theirs/file.txt');
    await other.share('/theirs', fx.email, 'EDITOR');
    await other.upload(tmp, '/theirs/later.txt');
    await mkdir(join(B.folder, 'mine'));
    await eb.runOnce();
    await eb.runOnce();
    expect(await snapshot(B.folder)).toEqual({ '/mine/': '', '/theirs/': '', '/theirs/file.txt': 'theirs', '/theirs/later.txt': 'theirs' });
    expect((await me.listFolder('/')).map((f) => f.path)).toEqual(['/mine', '/theirs']);
    expect(await other.fileByPath('/mine')).toBeNull();
  });
});
