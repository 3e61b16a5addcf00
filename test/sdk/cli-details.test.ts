import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { resolveServer } from '../../clients/cli/config';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/** Small CLI behaviours a QA walkthrough found wrong. */
describe('tessera CLI details', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-details-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server given without a scheme means http://', async () => {
    expect(resolveServer('localhost:4555', {})).toBe('http://localhost:4555');
    expect(resolveServer('https://files.example.com/', {})).toBe('https://files.example.com');
    const hostPort = server.url.replace(/^http:\/\//, '');
    const io = () => cliIo({ TESSERA_CONFIG_DIR: join(dir, 'cfg') }, dir);
    const email = `details-${Date.now()}@example.com`;
    expect(await main(['--server', hostPort, 'signup', '--email', email, '--password', 'correct horse battery'], io())).toBe(0);
    const who = io();
    expect(await main(['--server', hostPort, 'whoami'], who)).toBe(0);
    expect(who.out()).toContain(email);
  });

  it('downloading an empty file does not claim to resume', async () => {
    const io = () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cfg2') }, dir);
    expect(await main(['signup', '--email', `empty-${Date.now()}@example.com`, '--password', 'correct horse battery'], io())).toBe(0);
    await writeFile(join(dir, 'empty.txt'), '');
    expect(await main(['upload', join(dir, 'empty.txt'), '/empty.txt'], io())).toBe(0);
    const down = io();
    expect(await main(['download', '/empty.txt', join(dir, 'empty-back.txt')], down)).toBe(0);
    expect(down.err() + down.out()).not.toMatch(/resumed/);
    expect((await readFile(join(dir, 'empty-back.txt'))).length).toBe(0);
  });

  it('mkdir of an existing folder says so; a download into a missing local folder is NOT_FOUND; --device names the device', async () => {
    const io = () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cfg3') }, dir);
    expect(await main(['signup', '--email', `dev-${Date.now()}@example.com`, '--password', 'correct horse battery', '--device', 'studio-mac'], io())).toBe(0);
    const devices = io();
    expect(await main(['devices'], devices)).toBe(0);
    expect(devices.out()).toContain('studio-mac');
    const first = io();
    expect(await main(['mkdir', '/docs'], first)).toBe(0);
    expect(first.out()).toBe('created /docs\n');
    const again = io();
    expect(await main(['mkdir', '/docs'], again)).toBe(0);
    expect(again.out()).toBe('exists /docs\n');
    await writeFile(join(dir, 'x.txt'), 'x');
    expect(await main(['upload', join(dir, 'x.txt'), '/x.txt'], io())).toBe(0);
    const missing = io();
    expect(await main(['download', '/x.txt', join(dir, 'no-such-dir', 'x.txt')], missing)).not.toBe(0);
    expect(missing.err()).toMatch(/NOT_FOUND.*no such local folder/);
  });
});
