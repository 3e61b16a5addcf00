import { randomBytes } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';
import { SyncFixture } from './fixture';

/** Both engines running (watcher + change subscription): a write in A shows up in B without anyone calling runOnce. */
describe('sync engines running live (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  beforeAll(async () => {
    server = await startTestServer();
    fx = new SyncFixture(server.url);
  });
  afterAll(async () => {
    await fx?.cleanup();
    await server?.stop();
  });

  it('a small file written in A appears byte-identical in B, and an edit in B comes back to A', async () => {
    await fx.signUp();
    const A = await fx.device('laptop');
    const B = await fx.device('desk');
    const errors: Error[] = [];
    const ea = await fx.engine(A, { onError: (e) => errors.push(e) });
    const eb = await fx.engine(B, { onError: (e) => errors.push(e) });
    await ea.runOnce();
    await eb.runOnce();
    ea.start();
    eb.start();

    const data = randomBytes(2048);
    await writeFile(join(A.folder, 'live.bin'), data);
    const same = (folder: string, expected: Buffer) => async () =>
      (await readFile(join(folder, 'live.bin')).catch(() => null))?.equals(expected) ?? false;
    await until(same(B.folder, data), 15_000, 'live.bin in B');

    const edited = Buffer.concat([data, Buffer.from('more')]);
    await writeFile(join(B.folder, 'live.bin'), edited);
    await until(same(A.folder, edited), 15_000, 'the edit in A');
    await ea.stop();
    await eb.stop();
    expect(errors).toEqual([]);
  });

  it('a file still being written is uploaded once, whole, not as a series of partial revisions', async () => {
    const fx2 = new SyncFixture(server.url);
    try {
      const web = await fx2.signUp();
      const A = await fx2.device('laptop');
      const errors: Error[] = [];
      const ea = await fx2.engine(A, { onError: (e) => errors.push(e), settleMs: 400 });
      await ea.runOnce();
      ea.start();
      const chunks: Buffer[] = [];
      for (let i = 0; i < 12; i++) { // ~1.2 s of writing, a chunk every 100 ms
        const c = randomBytes(4096);
        chunks.push(c);
        await appendFile(join(A.folder, 'growing.bin'), c);
        await new Promise((r) => setTimeout(r, 100));
      }
      const whole = Buffer.concat(chunks);
      await until(async () => (await web.fileByPath('/growing.bin'))?.size === String(whole.length), 15_000, 'growing.bin uploaded whole');
      await new Promise((r) => setTimeout(r, 600));
      await ea.stop();
      expect(await web.revisions('/growing.bin')).toHaveLength(1);
      await web.download('/growing.bin', join(A.folder, '..', `growing-${Date.now()}.bin`)).then(async (r) => {
        expect((await readFile(r.localPath)).equals(whole)).toBe(true);
      });
      expect(errors).toEqual([]);
    } finally {
      await fx2.cleanup();
    }
  });
});
