import { mkdir, readFile, readdir, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TesseraClient } from '../../clients/sdk/client';
import type { CycleReport, SyncEngine } from '../../clients/sync/engine';
import { stagingDir, stagingPathOf } from '../../clients/sync/staging';
import { startTestServer, type TestServer } from '../helpers/server';
import { SyncFixture, snapshot, type Device } from './fixture';

/**
 * The defects the randomized checker of issue 13 found, each replayed deterministically: the
 * race is injected at the engine's call to the server (a wrapped client method), as the
 * simulation does.
 */
describe('sync engine: defects found by the randomized checker (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  let web: TesseraClient;
  let A: Device;
  let B: Device;
  let ea: SyncEngine;
  let eb: SyncEngine;
  const day = new Date().toISOString().slice(0, 10);

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

  /** Cycles of A then B until neither has anything left to do; every cycle error is collected. */
  async function settle(rounds = 4): Promise<string[]> {
    const errors: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const a = await ea.runOnce();
      const b = await eb.runOnce();
      for (const r of [a, b]) errors.push(...failures(r));
      if (a.outcomes.length === 0 && b.outcomes.length === 0) return errors;
    }
    throw new Error(`still not quiet after ${rounds} rounds; errors: ${errors.join('; ')}`);
  }

  /** Every failed action of a cycle, of every pass (a report's `errors` holds the last pass's only). */
  function failures(r: CycleReport): string[] {
    return r.outcomes.filter((o) => o.error).map((o) => `${o.action.type} ${o.action.path}: ${o.error?.message}`);
  }

  /** The live server tree under "/" as path -> content ('' for folders, with a trailing "/"). */
  async function serverTree(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const walk = async (dir: string) => {
      for (const f of await web.listFolder(dir)) {
        if (f.isFolder) {
          out[f.path + '/'] = '';
          await walk(f.path);
        } else {
          const tmp = join(A.folder, '..', `dl-${Math.random().toString(36).slice(2)}`);
          await web.download(f.path, tmp);
          out[f.path] = await readFile(tmp, 'utf8');
          await rm(tmp, { force: true });
        }
      }
    };
    await walk('/');
    return out;
  }

  /** Runs `inject` once, right before the first call of `client[method]`. */
  function before<K extends 'deleteFile' | 'moveFile' | 'upload'>(client: TesseraClient, method: K, inject: () => Promise<void>): void {
    const original = (client[method] as (...args: unknown[]) => Promise<unknown>).bind(client);
    let done = false;
    (client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      if (!done) {
        done = true;
        await inject();
      }
      return original(...args);
    };
  }

  it('1. a folder deletion does not trash an edit made inside it meanwhile: the server refuses (CONFLICT) and the edit stays', async () => {
    await mkdir(join(A.folder, 'y'));
    await writeFile(join(A.folder, 'y/X'), 'v1');
    await writeFile(join(A.folder, 'y/other'), 'untouched');
    expect(await settle()).toEqual([]);
    await rm(join(A.folder, 'y'), { recursive: true });
    // just before A's deleteFile, B edits /y/X and syncs it
    before(A.client, 'deleteFile', async () => {
      await writeFile(join(B.folder, 'y/X'), 'v2 from desk');
      expect(failures(await eb.runOnce())).toEqual([]);
    });
    const r = await ea.runOnce();
    expect(r.outcomes.find((o) => o.action.type === 'deleteRemote' && o.action.path === '/y')?.error).toMatchObject({ code: 'CONFLICT' });
    expect(await settle()).toEqual([]);
    // the folder stays with the changed content only; what A deleted unchanged is deleted
    const expected = { '/y/': '', '/y/X': 'v2 from desk' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
    expect(await serverTree()).toEqual(expected);
  });

  it.each([['equal sizes', 'bbbb'], ['different sizes', 'bbbbbbbbbb']])('2. a rename racing an edit (%s) carries nothing unseen: the move is refused and both versions live', async (_label, edit) => {
    await writeFile(join(A.folder, 'a.txt'), 'aaaa');
    expect(await settle()).toEqual([]);
    await rename(join(A.folder, 'a.txt'), join(A.folder, 'b.txt'));
    before(A.client, 'moveFile', async () => {
      await writeFile(join(B.folder, 'a.txt'), edit);
      expect(failures(await eb.runOnce())).toEqual([]);
    });
    await ea.runOnce();
    expect(await settle()).toEqual([]);
    const expected = { '/a.txt': edit, '/b.txt': 'aaaa' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
    expect(await serverTree()).toEqual(expected);
  });

  it('3a. a remote folder replaced by a file of the same name replaces the local folder (no EISDIR, nothing left in staging)', async () => {
    await mkdir(join(A.folder, 'x'));
    await writeFile(join(A.folder, 'x/f'), 'in the folder');
    expect(await settle()).toEqual([]);
    await web.deleteFile('/x');
    const tmp = join(A.folder, '..', `x-${Date.now()}`);
    await writeFile(tmp, 'now a file');
    await web.upload(tmp, '/x');
    expect(await settle()).toEqual([]);
    expect(await snapshot(A.folder)).toEqual({ '/x': 'now a file' });
    expect(await snapshot(B.folder)).toEqual({ '/x': 'now a file' });
    expect(await readdir(stagingDir(A.folder)).catch(() => [])).toEqual([]);
  });

  it('3b. ... while the device has a new file inside the folder: the local folder is kept once as a conflicted copy', async () => {
    await mkdir(join(A.folder, 'x'));
    await writeFile(join(A.folder, 'x/f'), 'in the folder');
    expect(await settle()).toEqual([]);
    await web.deleteFile('/x');
    const tmp = join(A.folder, '..', `x-${Date.now()}`);
    await writeFile(tmp, 'now a file');
    await web.upload(tmp, '/x');
    await writeFile(join(A.folder, 'x/new'), 'new on laptop');
    expect(await settle()).toEqual([]);
    const copy = `/x (conflicted copy laptop ${day})`;
    const expected = { '/x': 'now a file', [copy + '/']: '', [`${copy}/f`]: 'in the folder', [`${copy}/new`]: 'new on laptop' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
    // and it stays that way: no copy of a copy on later cycles
    expect(await settle()).toEqual([]);
    expect(await snapshot(A.folder)).toEqual(expected);
  });

  it('4. flattening a folder into its only file (mv /d /e; mv /e/f /d) converges', async () => {
    await mkdir(join(A.folder, 'd'));
    await writeFile(join(A.folder, 'd/f'), 'the only file');
    expect(await settle()).toEqual([]);
    await rename(join(A.folder, 'd'), join(A.folder, 'e'));
    await rename(join(A.folder, 'e/f'), join(A.folder, 'd'));
    expect(await settle()).toEqual([]);
    const expected = { '/d': 'the only file', '/e/': '' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
    expect(await serverTree()).toEqual(expected);
  });

  it('5. a file that shrinks during its upload is CHANGED at once (no hang), and the next cycle uploads it', async () => {
    const big = Buffer.alloc(300_000, 'z');
    await writeFile(join(A.folder, 'grow.bin'), big);
    const upload = A.client.upload.bind(A.client);
    let shrunk = false;
    A.client.upload = (local, remote, opts) => upload(local, remote, {
      ...opts,
      onProgress: (p) => {
        if (p.phase === 'hash' && p.bytesDone === p.bytesTotal && !shrunk) {
          shrunk = true;
          void truncate(local, 1000);
        }
      },
    });
    const started = Date.now();
    const r = await ea.runOnce();
    expect(shrunk).toBe(true);
    expect(r.outcomes.find((o) => o.action.type === 'upload')?.error).toMatchObject({ code: 'CHANGED' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await settle()).toEqual([]);
    expect(await snapshot(B.folder)).toEqual({ '/grow.bin': 'z'.repeat(1000) });
  });

  it('6a. a download cut by a crash whose remote file is then deleted leaves no partial file or sidecar behind', async () => {
    await writeFile(join(B.folder, 'gone.bin'), 'will be deleted');
    expect(failures(await eb.runOnce())).toEqual([]);
    // what a kill -9 mid-download leaves: the partial file and its sidecar under the staging name
    const staging = stagingPathOf(A.folder, '/gone.bin');
    await mkdir(stagingDir(A.folder), { recursive: true });
    await writeFile(staging + '.tessera-partial', 'will be');
    await writeFile(staging + '.tessera-partial.json', '{"contentHash":"x","size":15,"verified":[]}');
    await web.deleteFile('/gone.bin');
    expect(await settle()).toEqual([]);
    expect(await readdir(stagingDir(A.folder))).toEqual([]);
    expect(await snapshot(A.folder)).toEqual({});
  });

  it('6b. a conflict that moves a local folder aside does not upload its children at the old path (no ENOTDIR)', async () => {
    await mkdir(join(A.folder, 'p'));
    await writeFile(join(A.folder, 'p/q'), 'local child');
    const tmp = join(A.folder, '..', `p-${Date.now()}`);
    await writeFile(tmp, 'remote file');
    await web.upload(tmp, '/p');
    const first = await ea.runOnce();
    expect(failures(first)).toEqual([]);
    expect(await settle()).toEqual([]);
    const copy = `/p (conflicted copy laptop ${day})`;
    const expected = { '/p': 'remote file', [copy + '/']: '', [`${copy}/q`]: 'local child' };
    expect(await snapshot(A.folder)).toEqual(expected);
    expect(await snapshot(B.folder)).toEqual(expected);
  });

  it('6c. a file deleted before its upload is a quick CHANGED outcome, not NETWORK after retries', async () => {
    await writeFile(join(A.folder, 'brief.txt'), 'here for a moment');
    const upload = A.client.upload.bind(A.client);
    A.client.upload = (local, remote, opts) => upload(local, remote, {
      ...opts,
      onProgress: (p) => {
        if (p.phase === 'hash' && p.bytesDone === p.bytesTotal) void unlink(local).catch(() => undefined);
      },
    });
    const started = Date.now();
    const r = await ea.runOnce();
    expect(r.outcomes.find((o) => o.action.type === 'upload')?.error).toMatchObject({ code: 'CHANGED' });
    expect(Date.now() - started).toBeLessThan(2_000);
    A.client.upload = upload;
    expect(await settle()).toEqual([]);
    expect(await snapshot(B.folder)).toEqual({});
  });
});
