import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/** `tessera sync <folder> [--remote] --once` on a real server, two CLI "machines". */
describe('tessera sync --once (real server)', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-sync-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const machine = (name: string) => () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, name), TESSERA_DEVICE_NAME: name }, dir);

  it('uploads from one machine, downloads on the other, prints one line per action, keeps state in .tessera', async () => {
    const email = `cli-sync-${Date.now()}@example.com`;
    const desk = machine('desk');
    const laptop = machine('laptop');
    expect(await main(['signup', '--email', email, '--password', 'correct horse battery'], desk())).toBe(0);
    expect(await main(['login', '--email', email, '--password', 'correct horse battery'], laptop())).toBe(0);

    await mkdir(join(dir, 'deskdir/sub'), { recursive: true });
    await writeFile(join(dir, 'deskdir/a.txt'), 'alpha');
    await writeFile(join(dir, 'deskdir/sub/b.txt'), 'beta');
    let t = desk();
    expect(await main(['sync', 'deskdir', '--remote', '/work', '--once'], t)).toBe(0);
    expect(t.out().trimEnd().split('\n').sort()).toEqual(['↑ /a.txt', '↑ /sub/', '↑ /sub/b.txt']);
    expect(await readFile(join(dir, 'deskdir/.tessera/state.db')).then((b) => b.length > 0)).toBe(true);

    t = laptop();
    expect(await main(['sync', 'laptopdir', '--remote', '/work', '--once'], t)).toBe(0);
    expect(t.out().trimEnd().split('\n').sort()).toEqual(['↓ /a.txt', '↓ /sub/', '↓ /sub/b.txt']);
    expect(await readFile(join(dir, 'laptopdir/sub/b.txt'), 'utf8')).toBe('beta');

    t = laptop();
    expect(await main(['sync', 'laptopdir', '--remote', '/work', '--once'], t)).toBe(0);
    expect(t.out()).toBe('');

    // the remote root is where the files went; the folder stays bound to it
    const config = JSON.parse(await readFile(join(dir, 'desk', 'config.json'), 'utf8'));
    const client = new TesseraClient({ server: server.url, token: config.profiles[server.url].token });
    expect((await client.listFolder('/work')).map((f) => f.path).sort()).toEqual(['/work/a.txt', '/work/sub']);
    t = desk();
    expect(await main(['sync', 'deskdir', '--remote', '/elsewhere', '--once'], t)).toBe(1);
    expect(t.err()).toMatch(/^error: BAD_USER_INPUT: .*remoteRoot \/work/);
  });
});
