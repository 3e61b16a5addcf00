import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_CHUNKS } from '../../clients/sdk/operations';
import { randomBytes } from 'node:crypto';
import type { SyncEngine } from '../../clients/sync/engine';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot, type Device } from './fixture';
import { multiPart } from '../helpers/cdc-data';

/** Two devices of one account, each with a sync folder; cycles driven with runOnce (no sleeps). */
describe('sync engine: two devices, one account (real server, SQLite + local store)', () => {
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

  /** A then B then A: what one side did reaches the other, and the echo settles. */
  async function round() {
    const a = await ea.runOnce();
    const b = await eb.runOnce();
    const a2 = await ea.runOnce();
    for (const r of [a, b, a2]) expect(r.errors.map((o) => `${o.action.path}: ${o.error?.message}`)).toEqual([]);
    return { a, b, a2 };
  }

  it('a file created in A appears in B byte-identical; an edit and a delete propagate', async () => {
    const data = randomBytes(100_000);
    await writeFile(join(A.folder, 'a.bin'), data);
    const { b } = await round();
    expect((await readFile(join(B.folder, 'a.bin'))).equals(data)).toBe(true);
    expect(b.bytesDown).toBe(data.length);

    data[500] ^= 0xff;
    await writeFile(join(A.folder, 'a.bin'), data);
    await round();
    expect((await readFile(join(B.folder, 'a.bin'))).equals(data)).toBe(true);
    expect((await A.client.fileByPath('/a.bin'))?.revision).toBe(2);

    await rm(join(A.folder, 'a.bin'));
    await round();
    expect(await snapshot(B.folder)).toEqual({});
    expect(await A.client.fileByPath('/a.bin')).toBeNull();
    // nothing left to do on either side
    expect((await ea.runOnce()).outcomes).toEqual([]);
    expect((await eb.runOnce()).outcomes).toEqual([]);
  });

  it('an edit in the middle of a multi-part file moves one part each way (copyParts up, reuseFrom down)', async () => {
    const MIB = 1024 * 1024;
    const { data } = multiPart('two-devices-edit', 40 * MIB); // at least 3 content-defined parts, so one is not the whole file
    await writeFile(join(A.folder, 'big.bin'), data);
    await round();
    randomBytes(1000).copy(data, 20 * MIB);
    await writeFile(join(A.folder, 'big.bin'), data);
    const { a, b } = await round();
    // content-defined parts: the one holding the edit moves, whatever its size
    const r = await A.client.api.request<{ fileByPath: { chunks: { offset: string; size: string }[] } }>(FILE_CHUNKS, { path: '/big.bin' });
    const part = r.fileByPath.chunks.map((c) => ({ offset: Number(c.offset), size: Number(c.size) }))
      .find((c) => c.offset <= 20 * MIB && 20 * MIB < c.offset + c.size)!;
    expect(a.bytesUp).toBe(part.size);
    expect(b.bytesDown).toBe(part.size);
    expect(part.size).toBeLessThan(data.length);
    expect((await readFile(join(B.folder, 'big.bin'))).equals(data)).toBe(true);
  });

  it('folders: create with content, then delete the folder', async () => {
    await mkdir(join(A.folder, 'docs/deep'), { recursive: true });
    await mkdir(join(A.folder, 'empty'));
    await writeFile(join(A.folder, 'docs/deep/x.txt'), 'x');
    await writeFile(join(A.folder, 'docs/y.txt'), 'y');
    await round();
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
    expect(await snapshot(B.folder)).toEqual({ '/docs/': '', '/docs/deep/': '', '/docs/deep/x.txt': 'x', '/docs/y.txt': 'y', '/empty/': '' });

    await rm(join(B.folder, 'docs'), { recursive: true });
    const b = await eb.runOnce();
    expect(b.outcomes.filter((o) => o.action.type === 'deleteRemote').map((o) => o.action.path)).toEqual(['/docs']);
    await ea.runOnce();
    expect(await snapshot(A.folder)).toEqual({ '/empty/': '' });
    expect((await A.client.listFolder('/')).map((f) => f.path)).toEqual(['/empty']);
  });

  it('a rename in A is a rename in B: no bytes downloaded', async () => {
    await mkdir(join(A.folder, 'd'));
    await writeFile(join(A.folder, 'd/old.txt'), randomBytes(50_000));
    await round();
    const id = (await A.client.fileByPath('/d/old.txt'))!.id;
    await rename(join(A.folder, 'd/old.txt'), join(A.folder, 'new.txt'));
    const { a, b } = await round();
    expect(a.bytesUp).toBe(0);
    expect(a.outcomes.map((o) => o.action.type)).toContain('moveRemote');
    expect((await A.client.fileByPath('/new.txt'))?.id).toBe(id);
    expect(b.outcomes.map((o) => o.action.type)).toContain('moveLocal');
    expect(b.bytesDown).toBe(0);
    expect(await snapshot(B.folder)).toEqual(await snapshot(A.folder));
  });

  it('both edit the same file: both versions end up on both sides, one as a conflicted copy', async () => {
    await writeFile(join(A.folder, 'notes.txt'), 'base');
    await round();
    await writeFile(join(A.folder, 'notes.txt'), 'from laptop');
    await writeFile(join(B.folder, 'notes.txt'), 'from desk!');
    await ea.runOnce();
    await round();
    const day = new Date().toISOString().slice(0, 10);
    const expected = { '/notes.txt': 'from laptop', [`/notes (conflicted copy desk ${day}).txt`]: 'from desk!' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
  });

  it('edit vs delete: the edit survives (either way round)', async () => {
    await writeFile(join(A.folder, 'e1.txt'), 'one');
    await writeFile(join(A.folder, 'e2.txt'), 'two');
    await round();
    // e1: A edits, B deletes; e2: A deletes, B edits
    await writeFile(join(A.folder, 'e1.txt'), 'one, edited');
    await rm(join(B.folder, 'e1.txt'));
    await rm(join(A.folder, 'e2.txt'));
    await writeFile(join(B.folder, 'e2.txt'), 'two, edited');
    await round();
    await eb.runOnce();
    const expected = { '/e1.txt': 'one, edited', '/e2.txt': 'two, edited' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
  });
});
