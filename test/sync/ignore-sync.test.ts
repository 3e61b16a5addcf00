import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyncEngine } from '../../clients/sync/engine';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot, type Device } from './fixture';

/** Built-in junk and .tesseraignore rules on two devices of one account (cycles driven with runOnce). */
describe('sync engine: ignore rules (real server, two devices)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  let A: Device;
  let B: Device;
  let ea: SyncEngine;
  let eb: SyncEngine;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    fx = new SyncFixture(server.url);
    ({ A, B, ea, eb } = await fx.twoDevices());
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  async function round() {
    for (const e of [ea, eb, ea]) {
      const r = await e.runOnce();
      expect(r.errors.map((o) => `${o.action.path}: ${o.error?.message}`)).toEqual([]);
    }
  }
  const remotePaths = async () => (await A.client.listFolder('/')).map((f) => f.path).sort();

  it('junk files and .tesseraignore\'d paths stay local; .tesseraignore itself syncs and applies on the other device', async () => {
    await mkdir(join(A.folder, 'docs'));
    await mkdir(join(A.folder, 'build/out'), { recursive: true });
    for (const junk of ['.DS_Store', 'docs/Thumbs.db', 'docs/desktop.ini', 'Icon\r', 'docs/.~lock.report.odt#', 'docs/~$report.docx', 'docs/.report.txt.swp']) {
      await writeFile(join(A.folder, junk), 'junk');
    }
    await writeFile(join(A.folder, 'docs/report.txt'), 'report');
    await writeFile(join(A.folder, 'build/out/a.o'), 'object');
    await writeFile(join(A.folder, 'debug.log'), 'log');
    await writeFile(join(A.folder, '.tesseraignore'), '# local only\nbuild/\n*.log\n');
    await round();

    expect(await remotePaths()).toEqual(['/.tesseraignore', '/docs']);
    expect((await A.client.listFolder('/docs')).map((f) => f.path)).toEqual(['/docs/report.txt']);
    expect(await snapshot(B.folder)).toEqual({ '/.tesseraignore': '# local only\nbuild/\n*.log\n', '/docs/': '', '/docs/report.txt': 'report' });

    // B's own ignored files stay on B too (the rules came from A)
    await writeFile(join(B.folder, 'b.log'), 'b');
    await writeFile(join(B.folder, 'docs/.DS_Store'), 'junk');
    await round();
    expect(await remotePaths()).toEqual(['/.tesseraignore', '/docs']);
    expect(await readFile(join(B.folder, 'b.log'), 'utf8')).toBe('b');

    // deleting a folder that holds only junk deletes it everywhere
    await rm(join(A.folder, 'docs/report.txt'));
    await rm(join(A.folder, 'docs'), { recursive: true });
    await round();
    expect(await remotePaths()).toEqual(['/.tesseraignore']);
    expect(await snapshot(B.folder)).toEqual({ '/.tesseraignore': '# local only\nbuild/\n*.log\n', '/b.log': 'b' });
  });

  it('a remote file matching a rule is not downloaded nor deleted; a synced file that becomes ignored is forgotten, not deleted', async () => {
    await writeFile(join(A.folder, 'keep.txt'), 'keep');
    await writeFile(join(A.folder, 'secret.key'), 'synced before the rule');
    await round();
    expect(await readFile(join(B.folder, 'secret.key'), 'utf8')).toBe('synced before the rule');

    await writeFile(join(B.folder, '.tesseraignore'), '*.key\n/big/\n');
    await eb.runOnce();
    // B now ignores *.key: an edit in B stays local, and the remote copy is not overwritten or deleted
    await writeFile(join(B.folder, 'secret.key'), 'edited on B only');
    await eb.runOnce();
    expect((await B.client.fileByPath('/secret.key'))?.revision).toBe(1);

    // A gets the rules; a file uploaded through the API into an ignored folder is not downloaded by B
    await A.client.createFolder('/big');
    const elsewhere = join(A.folder, '..', `huge-${Date.now()}.bin`);
    await writeFile(elsewhere, 'pretend this is big');
    await A.client.upload(elsewhere, '/big/huge.bin');
    await rm(elsewhere);
    await round();
    expect(await readFile(join(A.folder, '.tesseraignore'), 'utf8')).toBe('*.key\n/big/\n');
    expect(await snapshot(B.folder)).toEqual({ '/.tesseraignore': '*.key\n/big/\n', '/keep.txt': 'keep', '/secret.key': 'edited on B only' });
    expect(await readFile(join(A.folder, 'secret.key'), 'utf8')).toBe('synced before the rule');
    expect(await A.client.fileByPath('/big/huge.bin')).not.toBeNull();
    expect(await A.client.fileByPath('/secret.key')).not.toBeNull();

    // removing the rule: both sides' versions survive (a conflicted copy), nothing is lost
    await writeFile(join(B.folder, '.tesseraignore'), '/big/\n');
    await round();
    await round();
    const b = await snapshot(B.folder);
    expect(b['/secret.key']).toBe('synced before the rule');
    expect(Object.entries(b).some(([p, v]) => p.startsWith('/secret (conflicted copy') && v === 'edited on B only')).toBe(true);
    expect(b['/big/huge.bin']).toBeUndefined();
  });
});
