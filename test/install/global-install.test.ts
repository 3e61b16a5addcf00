import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitForPort } from '../helpers/ports';
import { freePort, requireBuild, ROOT } from '../transfers/processes';

/**
 * The install the README documents, for real: `npm install -g <checkout>` into a temporary prefix
 * gives a `tessera` command that works from any other folder: `--version`, `serve`, then `signup`
 * with --server, and `upload`, `whoami`, `link create` without it (the profile remembers the server).
 */
describe('npm install -g: the tessera command from any folder', () => {
  let prefix: string;
  let cwd: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    requireBuild();
    prefix = mkdtempSync(join(tmpdir(), 'tessera-prefix-'));
    cwd = mkdtempSync(join(tmpdir(), 'tessera-elsewhere-'));
    env = { ...process.env, PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, TESSERA_CONFIG_DIR: join(cwd, 'config'), LOG_LEVEL: 'warn' };
    for (const k of ['TESSERA_SERVER', 'TESSERA_TOKEN', 'DATABASE_URL', 'STORAGE', 'PORT', 'DATA_DIR', 'npm_config_prefix', 'npm_config_global', 'npm_config_local_prefix']) delete env[k];
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ROOT], { cwd, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm install -g failed (${r.status}): ${r.stderr}`);
    bin = join(prefix, 'bin', 'tessera');
  }, 120_000);
  afterAll(() => {
    rmSync(prefix, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  const tessera = (args: string[]) => {
    const r = spawnSync(bin, args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('`tessera --version` prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = tessera(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('serve, signup (--server), then upload, whoami and link create use the remembered server', async () => {
    const port = await freePort();
    const server = spawn(bin, ['serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', './data'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let serverErr = '';
    server.stderr.on('data', (d) => { serverErr += d; });
    const exited = new Promise<number | null>((r) => server.on('exit', (code) => r(code)));
    try {
      await waitForPort(port, 30_000);
      const url = `http://127.0.0.1:${port}`;
      const signup = tessera(['--server', url, 'signup', '--email', `install-${Date.now()}@example.com`, '--password', 'correct horse battery', '--device', 'ci']);
      expect(signup.stderr).toBe('');
      expect(signup.stdout).toContain(`logged in to ${url}`);

      writeFileSync(join(cwd, 'hello.txt'), 'hello from elsewhere');
      const up = tessera(['upload', 'hello.txt', '/hello.txt']);
      expect(up.stderr).not.toContain('not logged in');
      expect(up.code).toBe(0);
      expect(tessera(['ls', '/']).stdout).toContain('hello.txt');

      const who = tessera(['whoami']);
      expect(who.code).toBe(0);
      expect(who.stdout).toContain(`server   ${url}`);
      expect(who.stdout).toMatch(/device {3}ci \(/);
      expect(who.stdout).toMatch(/usage {4}20 B of /);

      const link = tessera(['link', 'create', '/hello.txt']);
      expect(link.code).toBe(0);
      expect(link.stdout.trim()).toMatch(new RegExp(`^${url}/s/[A-Za-z0-9_-]{43}$`));
      expect(await (await fetch(link.stdout.trim())).text()).toBe('hello from elsewhere');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(serverErr).toContain(`Tessera listening on http://127.0.0.1:${port}/graphql (storage local, data in ${join(cwd, 'data')})`);
  }, 90_000);
});
