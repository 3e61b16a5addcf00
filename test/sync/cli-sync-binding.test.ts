import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { StateDb } from '../../clients/sync/state-db';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/** `tessera sync --remote`: a folder is bound only to a remote root that is a usable folder; without `--remote` it keeps its root. */
describe('tessera sync: binding a folder to its remote root (real server)', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-bind-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const io = () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cfg'), TESSERA_DEVICE_NAME: 'desk' }, dir);
  const run = async (...args: string[]) => {
    const t = io();
    const code = await main(args, t);
    return { code, out: t.out(), err: t.err() };
  };

  beforeAll(async () => {
    expect((await run('signup', '--email', `bind-${Date.now()}@example.com`, '--password', 'correct horse battery')).code).toBe(0);
    await writeFile(join(dir, 'x.txt'), 'a file');
    expect((await run('upload', join(dir, 'x.txt'), '/x')).code).toBe(0);
  });

  it('a file as the remote root is refused without binding the folder; the next root binds, and a plain `sync <folder>` reuses it', async () => {
    await mkdir(join(dir, 'work'));
    await writeFile(join(dir, 'work/a.txt'), 'alpha');

    expect(await run('sync', 'work', '--remote', '/x', '--once')).toEqual({ code: 1, out: '', err: 'error: BAD_USER_INPUT: /x is a file, not a folder\n' });
    expect(await run('sync', 'work', '--remote', '/b', '--once')).toEqual({ code: 0, out: '↑ /a.txt\n', err: '' });

    await writeFile(join(dir, 'work/c.txt'), 'gamma');
    expect(await run('sync', 'work', '--once')).toEqual({ code: 0, out: '↑ /c.txt\n', err: '' });
    expect((await run('ls', '/b')).out).toMatch(/a\.txt\n.*c\.txt\n$/);

    // bound for good now: another root is refused
    const other = await run('sync', 'work', '--remote', '/elsewhere', '--once');
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/^error: BAD_USER_INPUT: .*remoteRoot \/b, not \/elsewhere/);
  });

  it('a folder left bound to an unusable root by an earlier failed run (no remote tree listed yet) can be given another root', async () => {
    await mkdir(join(dir, 'old'));
    await writeFile(join(dir, 'old/o.txt'), 'old');
    const db = new StateDb(join(dir, 'old'));
    db.set('remoteRoot', '/x');
    db.close();

    expect(await run('sync', 'old', '--once')).toEqual({ code: 1, out: '', err: 'error: BAD_USER_INPUT: /x is a file, not a folder\n' });
    expect(await run('sync', 'old', '--remote', '/o', '--once')).toEqual({ code: 0, out: '↑ /o.txt\n', err: '' });
    expect(await run('sync', 'old', '--once')).toEqual({ code: 0, out: '', err: '' });
  });
});
