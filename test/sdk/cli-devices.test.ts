import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/** `tessera devices`, `revoke-device` and `logout` (which signs the device out on the server). */
describe('tessera CLI device commands (real server)', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-devices-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A CLI "machine": its own config dir and device name. */
  const machine = (name: string) => () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, name), TESSERA_DEVICE_NAME: name }, dir);
  const tokenOf = async (name: string) => {
    const config = JSON.parse(await readFile(join(dir, name, 'config.json'), 'utf8'));
    return config.profiles[server.url].token as string;
  };

  it('lists devices, signs a lost one out, and logs out for real', async () => {
    const desk = machine('desk');
    const laptop = machine('laptop');
    const email = `devices-${Date.now()}@example.com`;
    expect(await main(['signup', '--email', email, '--password', 'correct horse battery'], desk())).toBe(0);
    expect(await main(['login', '--email', email, '--password', 'correct horse battery'], laptop())).toBe(0);

    let t = desk();
    expect(await main(['devices'], t)).toBe(0);
    const lines = t.out().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const deskLine = lines.find((l) => l.endsWith('desk'))!;
    const laptopLine = lines.find((l) => l.endsWith('laptop'))!;
    expect(deskLine).toMatch(/^\* \S+ +\d{4}-\d\d-\d\d +signed in +seen \d{4}-\d\d-\d\d \d\d:\d\d +desk$/);
    expect(laptopLine.startsWith('  ')).toBe(true);
    const laptopId = laptopLine.trim().split(/\s+/)[0];

    t = desk();
    expect(await main(['revoke-device', laptopId], t)).toBe(0);
    expect(t.out()).toBe(`signed out device ${laptopId}\n`);
    t = laptop();
    expect(await main(['whoami'], t)).toBe(1);
    expect(t.err()).toMatch(/UNAUTHENTICATED/);
    t = desk();
    expect(await main(['revoke-device', laptopId], t)).toBe(0);
    expect(t.out()).toBe(`device ${laptopId} was already signed out\n`);
    t = desk();
    expect(await main(['devices'], t)).toBe(0);
    expect(t.out()).toMatch(/signed out \d{4}-\d\d-\d\d +seen \d{4}-\d\d-\d\d \d\d:\d\d +laptop/);

    // logout revokes the desk's token on the server, not just locally
    const deskToken = await tokenOf('desk');
    expect(await main(['logout'], desk())).toBe(0);
    await expect(new TesseraClient({ server: server.url, token: deskToken }).me()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    t = desk();
    expect(await main(['whoami'], t)).toBe(1);
    expect(t.err()).toMatch(/UNAUTHENTICATED/);
  });

  it('still forgets the token when the server refuses to sign it out, and says so', async () => {
    const phone = machine('phone');
    expect(await main(['signup', '--email', `devices-off-${Date.now()}@example.com`, '--password', 'correct horse battery'], phone())).toBe(0);
    await new TesseraClient({ server: server.url, token: await tokenOf('phone') }).signOut(); // signed out elsewhere
    const t = phone();
    expect(await main(['logout'], t)).toBe(0);
    expect(t.err()).toMatch(/warning: could not sign this device out on the server .*UNAUTHENTICATED/);
    expect(JSON.parse(await readFile(join(dir, 'phone', 'config.json'), 'utf8')).profiles[server.url]).toBeUndefined();
  });
});
