import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { waitForPort } from '../helpers/ports';
import { freePort, requireBuild, ROOT } from './processes';

const CLI = join(ROOT, 'bin', 'tessera.js');

/** `tessera serve` as a real process: serves on the embedded defaults, stops cleanly on SIGTERM, names bad settings. */
describe('tessera serve', () => {
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), 'tessera-serve-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the API with SQLite and the local store under --data-dir, then exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.STORAGE;
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitForPort(port, 20_000);
      const client = new TesseraClient({ server: `http://127.0.0.1:${port}` });
      await client.signUp(`serve-${Date.now()}@example.com`, 'correct horse battery');
      await writeFile(join(dir, 'a.txt'), 'served');
      await client.upload(join(dir, 'a.txt'), '/a.txt');
      await client.download('/a.txt', join(dir, 'b.txt'));
      expect(await readFile(join(dir, 'b.txt'), 'utf8')).toBe('served');
      expect(stderr).toContain(`Tessera listening on http://127.0.0.1:${port}/graphql (storage local, data in ${dataDir})`);
      await expect(readFile(join(dataDir, 'tessera.sqlite'))).resolves.toBeTruthy();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('shutting down');
  }, 60_000);

  it('names a bad setting and exits 1', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', join(dir, 'bad')], { env: { ...process.env, STORAGE: 'floppy' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    expect(await new Promise((r) => child.on('exit', r))).toBe(1);
    expect(stderr).toMatch(/STORAGE/);
    expect(stderr).toContain('error: CONFIG: bad configuration');
  });

  it('a port already in use: one line naming it, exit 1', async () => {
    const taken = net.createServer();
    const port = await new Promise<number>((r) => taken.listen(0, '127.0.0.1', () => r((taken.address() as net.AddressInfo).port)));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
      delete env.DATABASE_URL;
      delete env.STORAGE;
      const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', join(dir, 'busy')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      expect(await new Promise((r) => child.on('exit', r))).toBe(1);
      expect(out).toBe(`error: EADDRINUSE: port ${port} on 127.0.0.1 is in use\n`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 60_000);
});
