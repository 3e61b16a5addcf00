import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TesseraClient } from '../../clients/sdk/client';
import type { ChangeInfo } from '../../clients/sdk/changes';
import type { CycleReport, SyncEngine } from '../../clients/sync/engine';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot, type Device } from './fixture';

/** Folders moved as a whole (and case-only renames) between two devices: one server call, one local rename, no bytes. */
describe('sync engine: folder moves and case-only renames (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  let web: TesseraClient;
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
    ({ web, A, B, ea, eb } = await fx.twoDevices());
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  const ok = (r: CycleReport) => {
    expect(r.errors.map((o) => `${o.action.path}: ${o.error?.message}`)).toEqual([]);
    return r;
  };
  const types = (r: CycleReport) => r.outcomes.map((o) => o.action.type).filter((t) => t !== 'record');

  async function changesSince(cursor: string): Promise<ChangeInfo[]> {
    const out: ChangeInfo[] = [];
    for (;;) {
      const page = await web.changes(cursor, 500);
      out.push(...page.changes);
      cursor = page.cursor;
      if (!page.hasMore) return out;
    }
  }

  async function fillFolder(dir: string, n: number): Promise<void> {
    await mkdir(join(A.folder, dir, 'sub'), { recursive: true });
    for (let i = 0; i < n; i++) await writeFile(join(A.folder, dir, i % 5 === 0 ? 'sub' : '', `f${i}.txt`), `file ${i} `.repeat(100));
    ok(await ea.runOnce());
    ok(await eb.runOnce());
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
  }

  it('a folder of 50 files renamed in A: one MOVED on the server, one rename in B, no bytes either way, ids kept', async () => {
    await fillFolder('photos', 50);
    const ids = new Map((await web.listFolder('/photos/sub')).map((f) => [f.name, f.id]));
    const cursor = await web.latestCursor();

    await rename(join(A.folder, 'photos'), join(A.folder, 'pictures'));
    const a = ok(await ea.runOnce());
    expect(types(a)).toEqual(['moveRemote']);
    expect(a.bytesUp).toBe(0);
    const changes = await changesSince(cursor);
    expect(changes.map((c) => `${c.kind} ${c.fromPath} -> ${c.path}`)).toEqual(['MOVED /photos -> /pictures']);
    expect(new Map((await web.listFolder('/pictures/sub')).map((f) => [f.name, f.id]))).toEqual(ids);

    const b = ok(await eb.runOnce());
    expect(types(b)).toEqual(['moveLocal']);
    expect(b.bytesDown).toBe(0);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect(Object.keys(await snapshot(B.folder)).filter((p) => p.endsWith('.txt'))).toHaveLength(50);
    expect(types(ok(await ea.runOnce()))).toEqual([]);
    expect(types(ok(await eb.runOnce()))).toEqual([]);
  });

  it('a folder moved on the server (web) is one local rename on both devices; a local edit inside moves along and is uploaded', async () => {
    await fillFolder('docs', 20);
    await mkdir(join(A.folder, 'archive'));
    ok(await ea.runOnce());
    ok(await eb.runOnce());
    await writeFile(join(A.folder, 'docs/sub/f0.txt'), 'edited on the laptop while the folder moved');
    const cursor = await web.latestCursor();

    await web.moveFile('/docs', '/archive/docs-2024');
    const a = ok(await ea.runOnce());
    expect(types(a)).toEqual(['moveLocal', 'upload']);
    expect(a.bytesDown).toBe(0);
    const b = ok(await eb.runOnce());
    expect(types(b)).toEqual(['moveLocal', 'download']);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect((await snapshot(B.folder))['/archive/docs-2024/sub/f0.txt']).toBe('edited on the laptop while the folder moved');
    expect(Object.keys(await snapshot(A.folder)).filter((p) => p.startsWith('/docs'))).toEqual([]);
    const kinds = (await changesSince(cursor)).map((c) => `${c.kind} ${c.path}`);
    expect(kinds).toEqual(['MOVED /archive/docs-2024', 'UPDATED /archive/docs-2024/sub/f0.txt']);
  });

  it('a folder moved locally into a new folder, with a file moved out of it and one added: one folder move, then the differences', async () => {
    await fillFolder('music', 10);
    await mkdir(join(A.folder, 'media'));
    await rename(join(A.folder, 'music'), join(A.folder, 'media/tunes'));
    await rename(join(A.folder, 'media/tunes/f1.txt'), join(A.folder, 'media/f1.txt'));
    await writeFile(join(A.folder, 'media/tunes/new.txt'), 'new');
    const cursor = await web.latestCursor();
    const a = ok(await ea.runOnce());
    expect(types(a)).toEqual(['moveRemote', 'mkdirRemote', 'moveRemote', 'upload']);
    expect(a.bytesUp).toBe(3);
    expect((await changesSince(cursor)).map((c) => `${c.kind} ${c.path}`))
      .toEqual(['CREATED /media', 'MOVED /media/tunes', 'MOVED /media/f1.txt', 'CREATED /media/tunes/new.txt']);
    const b = ok(await eb.runOnce());
    expect(b.bytesDown).toBe(3);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect(types(ok(await ea.runOnce()))).toEqual([]);
  });

  it('case-only renames of a folder and a file, made locally, then on the server: moves both ways, no bytes', async () => {
    await mkdir(join(A.folder, 'Docs'));
    for (let i = 0; i < 5; i++) await writeFile(join(A.folder, 'Docs', `n${i}.md`), `note ${i}`);
    await writeFile(join(A.folder, 'a.txt'), 'alpha');
    ok(await ea.runOnce());
    ok(await eb.runOnce());
    const folderId = (await web.fileByPath('/Docs'))!.id;
    const fileId = (await web.fileByPath('/a.txt'))!.id;
    let cursor = await web.latestCursor();

    await rename(join(A.folder, 'Docs'), join(A.folder, 'docs'));
    await rename(join(A.folder, 'a.txt'), join(A.folder, 'A.txt'));
    const a = ok(await ea.runOnce());
    expect(types(a).sort()).toEqual(['moveRemote', 'moveRemote']);
    expect(a.bytesUp).toBe(0);
    expect((await changesSince(cursor)).map((c) => `${c.kind} ${c.fromPath} -> ${c.path}`).sort())
      .toEqual(['MOVED /Docs -> /docs', 'MOVED /a.txt -> /A.txt']);
    expect((await web.fileByPath('/docs'))?.id).toBe(folderId);
    expect((await web.fileByPath('/A.txt'))?.id).toBe(fileId);
    const b = ok(await eb.runOnce());
    expect(types(b).sort()).toEqual(['moveLocal', 'moveLocal']);
    expect(b.bytesDown).toBe(0);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect(Object.keys(await snapshot(B.folder)).sort()).toEqual(['/A.txt', '/docs/', ...[0, 1, 2, 3, 4].map((i) => `/docs/n${i}.md`)]);

    cursor = await web.latestCursor();
    await web.moveFile('/docs', '/DOCS');
    for (const e of [ea, eb]) {
      const r = ok(await e.runOnce());
      expect(types(r)).toEqual(['moveLocal']);
      expect(r.bytesDown + r.bytesUp).toBe(0);
    }
    expect(Object.keys(await snapshot(A.folder)).sort()).toEqual(['/A.txt', '/DOCS/', ...[0, 1, 2, 3, 4].map((i) => `/DOCS/n${i}.md`)]);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect((await changesSince(cursor)).map((c) => c.kind)).toEqual(['MOVED']);
  });
});
