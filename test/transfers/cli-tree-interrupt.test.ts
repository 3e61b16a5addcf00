import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { freePort, killHard, requireBuild, runCli, startServerProcess, until, type ServerProcess } from './processes';

const MiB = 1024 * 1024;
const FILES = 30;

/** Ctrl-C of `tessera upload|download <folder>` as real processes: exit 130, then the same command finishes the rest. */
describe('SIGINT during a folder transfer', () => {
  let work: string;
  let server: ServerProcess;
  let client: TesseraClient;
  let cliEnv: Record<string, string>;
  const tree = () => path.join(work, 'tree');

  beforeAll(async () => {
    requireBuild();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tree-sigint-'));
    for (let i = 0; i < FILES; i++) {
      fs.mkdirSync(path.join(tree(), `d${i % 3}`), { recursive: true });
      fs.writeFileSync(path.join(tree(), `d${i % 3}`, `f${String(i).padStart(2, '0')}.bin`), crypto.randomBytes(MiB + i));
    }
    server = await startServerProcess({ DATA_DIR: path.join(work, 'data'), STORAGE: 'local' }, await freePort());
    client = new TesseraClient({ server: server.url });
    const { token } = await client.signUp(`tree-sigint-${Date.now()}@example.com`, 'correct horse battery');
    cliEnv = { TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: path.join(work, 'cli'), TESSERA_TOKEN: token };
  });
  afterAll(async () => {
    if (server) await killHard(server.child);
    fs.rmSync(work, { recursive: true, force: true });
  });

  const remoteCount = async () => {
    const folders = await client.listFolder('/tree').catch(() => []);
    return (await Promise.all(folders.map((f) => client.listFolder(f.path)))).flat().length;
  };
  const localCount = (root: string) => fs.existsSync(root)
    ? fs.readdirSync(root, { recursive: true }).filter((p) => String(p).endsWith('.bin')).length : 0;

  it('upload: stops on Ctrl-C with exit 130, and the same command uploads only what is missing', async () => {
    const first = runCli(['upload', '-j', '1', tree(), '/'], cliEnv);
    await until(async () => (await remoteCount()) >= 2, 30_000, 'two files uploaded');
    first.child.kill('SIGINT');
    const r = await first.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error: ABORTED: interrupted; run the same command again to resume\n$/);
    const done = await remoteCount();
    expect(done).toBeLessThan(FILES);

    const again = await runCli(['upload', '-j', '4', tree(), '/'], cliEnv).done;
    if (again.code !== 0) throw new Error(`the second upload exited ${again.code}: ${again.stderr}`);
    const m = /: (\d+) files? uploaded, (\d+) unchanged, 0 skipped, 0 failed/.exec(again.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThanOrEqual(done);
    expect(Number(m![1]) + Number(m![2])).toBe(FILES);
    expect(await remoteCount()).toBe(FILES);
  });

  it('download: stops on Ctrl-C with exit 130, and the same command skips what is already there', async () => {
    const out = path.join(work, 'out');
    const first = runCli(['download', '-j', '1', '/tree/', out], cliEnv);
    await until(() => localCount(out) >= 2, 30_000, 'two files downloaded');
    first.child.kill('SIGINT');
    const r = await first.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error: ABORTED: /);
    const done = localCount(out);
    expect(done).toBeLessThan(FILES);

    const again = await runCli(['download', '/tree/', out], cliEnv).done;
    expect(again.code).toBe(0);
    const m = /: (\d+) files? downloaded, (\d+) unchanged, 0 skipped, 0 failed/.exec(again.stderr);
    expect(Number(m![2])).toBeGreaterThanOrEqual(done);
    expect(Number(m![1]) + Number(m![2])).toBe(FILES);
    for (let i = 0; i < FILES; i++) {
      const rel = path.join(`d${i % 3}`, `f${String(i).padStart(2, '0')}.bin`);
      expect(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(path.join(tree(), rel)))).toBe(true);
    }
    expect(fs.readdirSync(out, { recursive: true }).filter((p) => String(p).includes('tessera-partial'))).toEqual([]);
  });
});
