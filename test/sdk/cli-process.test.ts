import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';
import { requireBuild, ROOT } from '../transfers/processes';

const CLI = join(ROOT, 'bin', 'tessera.js');

/** The built `tessera` as a real process in a shell pipeline: `tessera ls | head -2`; and `tessera --version`. */
describe('tessera CLI as a process', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    requireBuild();
    server = await startTestServer();
    const client = new TesseraClient({ server: server.url });
    const { token } = await client.signUp(`cli-pipe-${Date.now()}@example.com`, 'correct horse battery');
    env = { TESSERA_SERVER: server.url, TESSERA_TOKEN: token };
    // far more than a pipe buffer (64 KiB) of listing, so the CLI is still writing when `head` goes away
    const names = Array.from({ length: 600 }, (_, i) => `${String(i).padStart(4, '0')}-${'x'.repeat(200)}`);
    for (let i = 0; i < names.length; i += 20) await Promise.all(names.slice(i, i + 20).map((n) => client.createFolder(`/${n}`)));
  }, 120_000);
  afterAll(() => server?.stop());

  it('`tessera ls | head -2` ends quietly when head closes the pipe: no stack trace, exit 0', async () => {
    const child = spawn('bash', ['-c', `"${process.execPath}" "${CLI}" ls / | head -2; echo "exit=\${PIPESTATUS[0]}"`], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^d .* 0000-x+\/$/);
    expect(lines[2]).toBe('exit=0');
    expect(stderr).toBe('');
  }, 60_000);

  it('`tessera --version` prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const io = cliIo({}, ROOT);
    expect(await main(['--version'], io)).toBe(0);
    expect(io.out()).toBe(`${version}\n`);

    const child = spawn(process.execPath, [CLI, '--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    expect(stdout).toBe(`${version}\n`);
  });
});
