import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionOutcome } from '../../clients/sync/executor';
import type { ScanFs } from '../../clients/sync/local-tree';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';
import { SyncFixture } from './fixture';

/** A running engine's cycle after one small write looks at that path, not the whole folder. */
describe('sync engine: incremental local scans (real server, real files)', () => {
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

  it('a cycle after one write lstats a handful of paths (the first cycle after start walks everything)', async () => {
    await fx.signUp();
    const A = await fx.device('laptop');
    const calls = { lstat: 0, readdir: 0 };
    const scanFs: ScanFs = {
      lstat: (p) => { calls.lstat++; return lstat(p); },
      readdir: (p, o) => { calls.readdir++; return readdir(p, o); },
    };
    const uploaded: string[] = [];
    const errors: Error[] = [];
    const engine = await fx.engine(A, {
      scanFs, rescanMs: 3_600_000, onError: (e) => errors.push(e),
      onOutcome: (o: ActionOutcome) => { if (!o.error && o.action.type === 'upload') uploaded.push(o.action.path); },
    });
    for (let d = 0; d < 10; d++) {
      await mkdir(join(A.folder, `d${d}/sub`), { recursive: true });
      for (let f = 0; f < 10; f++) await writeFile(join(A.folder, `d${d}/sub/f${f}.txt`), `${d}/${f}`);
    }
    await engine.runOnce();
    expect(uploaded).toHaveLength(100);

    calls.lstat = calls.readdir = 0;
    engine.start();
    await until(() => calls.lstat >= 120, 10_000, 'the first (full) scan after start');
    expect(calls.readdir).toBeGreaterThanOrEqual(21);

    // let the watcher settle (no cycle for a while), then write one file
    let last = -1;
    await until(() => { const settled = calls.lstat === last; last = calls.lstat; return settled; }, 10_000, 'a quiet engine');
    calls.lstat = calls.readdir = 0;
    await writeFile(join(A.folder, 'd3/sub/new.txt'), 'new');
    await until(() => uploaded.includes('/d3/sub/new.txt'), 10_000, 'the upload of new.txt');
    const seen = { ...calls };
    await engine.stop();
    expect(seen.lstat).toBeGreaterThan(0);
    expect(seen.lstat).toBeLessThan(10);
    expect(seen.readdir).toBeLessThan(3);
    expect(errors).toEqual([]);
    expect(Number((await A.client.fileByPath('/d3/sub/new.txt'))?.size)).toBe(3);
  });
});
