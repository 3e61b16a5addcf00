import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { SyncEngine } from '../../clients/sync/engine';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';
import { killHard, requireBuild, runCli, type CliRun } from '../transfers/processes';
import { SyncFixture } from './fixture';

/** One sync per folder: a second engine or `tessera sync` on a folder already being synced is refused (LOCKED), and death frees it. */
describe('sync folder lock (real server)', () => {
  let server: TestServer;
  let fx: SyncFixture;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    server = await startTestServer();
    fx = new SyncFixture(server.url);
    dir = await mkdtemp(join(tmpdir(), 'tessera-sync-lock-'));
  });
  afterAll(async () => {
    await fx?.cleanup();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a second engine on the same folder is refused with LOCKED while the first is open, and opens once it is closed', async () => {
    await fx.signUp();
    const A = await fx.device('laptop');
    const first = await fx.engine(A);
    await writeFile(join(A.folder, 'a.txt'), 'alpha');
    await first.runOnce();

    const refused = SyncEngine.open({ client: A.client, folder: A.folder });
    await expect(refused).rejects.toMatchObject({
      code: 'LOCKED',
      message: `another tessera sync is already running on ${A.folder} (pid ${process.pid})`,
    });
    // the refused one changed nothing: the first still works
    await writeFile(join(A.folder, 'b.txt'), 'beta');
    expect((await first.runOnce()).errors).toEqual([]);

    await first.close();
    const second = await fx.engine(A);
    expect((await second.runOnce()).errors).toEqual([]);
  });

  it('`tessera sync` refuses a folder a running `tessera sync` process holds; after kill -9 of that process a new one starts', async () => {
    const env = { TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cfg'), TESSERA_DEVICE_NAME: 'desk' };
    expect(await main(['signup', '--email', `lock-${Date.now()}@example.com`, '--password', 'correct horse battery'], cliIo(env, dir))).toBe(0);
    const folder = join(dir, 'synced');
    const start = (): CliRun => runCli(['sync', folder], env);
    let stderr = '';
    let running = start();
    running.child.stderr!.on('data', (d) => { stderr += d; });
    try {
      await until(() => stderr.includes('Ctrl-C to stop'), 20_000, 'the first sync to start');

      let io = cliIo(env, dir);
      expect(await main(['sync', folder, '--once'], io)).toBe(1);
      expect(io.err()).toBe(`error: LOCKED: another tessera sync is already running on ${folder} (pid ${running.child.pid})\n`);
      const second = await runCli(['sync', folder, '--once'], env).done;
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(`error: LOCKED: another tessera sync is already running on ${folder} (pid ${running.child.pid})\n`);

      await killHard(running.child);
      io = cliIo(env, dir);
      expect(await main(['sync', folder, '--once'], io)).toBe(0);
      expect(io.err()).toBe('');

      stderr = '';
      running = start();
      running.child.stderr!.on('data', (d) => { stderr += d; });
      await until(() => stderr.includes('Ctrl-C to stop'), 20_000, 'a new sync to start');
      running.child.kill('SIGTERM');
      expect((await running.done).code).toBe(0);
    } finally {
      await killHard(running.child);
    }
  }, 90_000);
});
